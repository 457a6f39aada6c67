"""`eventscout stats`: counts by source, kind, industry and week, and the database size."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from aggregator.models import Event, EventSource, Group


def collect_stats(session: Session, db_url: str, now: datetime) -> dict[str, Any]:
    by_source = dict(session.execute(
        select(EventSource.source, func.count()).where(EventSource.active.is_(True))
        .group_by(EventSource.source).order_by(EventSource.source)).all())
    kinds: Counter[str] = Counter()
    industries: Counter[str] = Counter()
    weeks: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    upcoming = 0
    total = 0
    for ev_kinds, ev_inds, start, status in session.execute(
            select(Event.kinds, Event.industries, Event.start_utc, Event.status)):
        total += 1
        kinds.update(ev_kinds or [])
        industries.update(ev_inds or [])
        statuses[status] += 1
        if start is not None and start >= now:
            upcoming += 1
            iso = start.isocalendar()
            weeks[f"{iso.year}-W{iso.week:02d}"] += 1
    size = None
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and os.path.exists(url.database):
        size = sum(os.path.getsize(p) for p in (url.database, url.database + "-wal") if os.path.exists(p))
    elif url.get_backend_name() == "postgresql":
        size = session.execute(select(func.pg_database_size(func.current_database()))).scalar()
    return {
        "events": total, "upcoming": upcoming,
        "groups": session.scalar(select(func.count()).select_from(Group)) or 0,
        "by_source": by_source, "by_kind": dict(kinds.most_common()),
        "by_industry": dict(industries.most_common()), "by_status": dict(statuses.most_common()),
        "by_week": dict(sorted(weeks.items())[:12]), "database_bytes": size,
    }


def render_stats(data: dict[str, Any]) -> str:
    lines = [f"events: {data['events']} ({data['upcoming']} upcoming), groups: {data['groups']}"]
    if data["database_bytes"] is not None:
        lines.append(f"database: {data['database_bytes'] / 1024 / 1024:.1f} MB")
    for key, title in (("by_source", "by source"), ("by_kind", "by kind"),
                       ("by_industry", "by industry"), ("by_status", "by status"),
                       ("by_week", "upcoming by week")):
        if data[key]:
            lines.append(f"{title}:")
            width = max(len(k) for k in data[key])
            lines.extend(f"  {k.ljust(width)}  {v}" for k, v in data[key].items())
    return "\n".join(lines) + "\n"
