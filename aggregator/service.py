"""What rank, digest, feedback and run do, as library functions over a session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator import constants as C
from aggregator.config_types import Config, Profile
from aggregator.models import Event, Feedback, Group, SentDigest
from aggregator.queries import Filters, event_dict, find_events, group_dict

DEADLINE_DAYS = 14


class ServiceError(Exception):
    """Stops a command: the message is one line for the user."""


def profile_timezone(profile: Profile, config: Config) -> str:
    return profile.timezone or config.settings.digest_timezone or "UTC"


def require_profile(config: Config, name: str) -> Profile:
    profile = config.profile(name)
    if profile is None:
        known = ", ".join(p.name for p in config.profiles) or "(none: add one to profiles.toml)"
        raise ServiceError(f"unknown profile {name!r}; configured: {known}")
    return profile


def feedback_for(session: Session, profile: str) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(Feedback).where(Feedback.profile == profile).order_by(Feedback.id)))
    events = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_({r.event_id for r in rows})))}
    return [{"event_id": r.event_id, "signal": r.signal,
             **({"event": event_dict(events[r.event_id])} if r.event_id in events else {})} for r in rows]


def sent_items(session: Session, profile: str, *, exclude_week: str | None = None) -> dict[str, str]:
    sent: dict[str, str] = {}
    for row in session.scalars(select(SentDigest).where(SentDigest.profile == profile).order_by(SentDigest.sent_at)):
        if row.week != exclude_week:
            sent.update(row.items or {})
    return sent


def candidate_events(session: Session, config: Config, filters: Filters) -> list[dict[str, Any]]:
    return [event_dict(e) for e in find_events(session, filters, config)]


def rank_events(session: Session, config: Config, profile: Profile, now: datetime, filters: Filters,
                *, explain: bool = False, sent_ids: set[str] | None = None) -> list[Any]:
    """Events ranked for the profile; `filters.start/end` is the window (start or deadline in it)."""
    from aggregator.ranking import build_index, rank

    limit, filters.limit = filters.limit, None
    filters.by_deadline = True
    events = candidate_events(session, config, filters)
    index = build_index(events, config.industries)
    window = (filters.start or now, filters.end or (now + timedelta(days=3650)))
    return rank(index, profile, now, window=window, feedback=feedback_for(session, profile.name),
                sent_ids=sent_ids or set(), limit=limit, explain=explain)


def rank_groups_for(session: Session, config: Config, profile: Profile, now: datetime, filters: Filters,
                    *, explain: bool = False) -> list[Any]:
    from aggregator.ranking import rank_groups

    groups = [group_dict(g, session, now) for g in session.scalars(select(Group))]
    if filters.industries:
        wanted: set[str] = set()
        for slug in filters.industries:
            wanted |= config.industry_with_children(slug)
        groups = [g for g in groups if wanted & set(g["industries"])]
    names = {g["name"] for g in groups}
    events = [event_dict(e) for e in session.scalars(
        select(Event).where(Event.group_name.in_(names), Event.start_utc >= now - timedelta(days=90)))]
    return rank_groups(groups, events, profile, now, taxonomy=config.industries,
                       feedback=feedback_for(session, profile.name), limit=filters.limit, explain=explain)


@dataclass
class DigestRequest:
    week: str | None = None
    start: datetime | None = None      # --from/--to instead of a week
    end: datetime | None = None


def build_profile_digest(session: Session, config: Config, profile: Profile, now: datetime,
                         request: DigestRequest, *, force: bool = False):  # type: ignore[no-untyped-def]
    from aggregator.digest import build_digest, default_week, parse_week, week_bounds
    from aggregator.digest.model import range_bounds

    tz = profile_timezone(profile, config)
    if request.start is not None and request.end is not None:
        week_arg: Any = (request.start.date(), (request.end - timedelta(microseconds=1)).date())
        start, end = range_bounds(*week_arg, tz)
    else:
        year, week = parse_week(request.week) if request.week else default_week(now, tz)
        week_arg = (year, week)
        start, end = week_bounds(year, week, tz)
    sent = sent_items(session, profile.name, exclude_week=sent_key(week_arg) if force else None)
    deadline_end = start + timedelta(days=DEADLINE_DAYS)
    filters = Filters(start=start, end=max(end, deadline_end))
    ranked = rank_events(session, config, profile, now, filters, sent_ids=set(sent))
    keep = []
    for r in ranked:
        ev = r.event
        starts_in = ev["start"] is not None and start <= ev["start"] < end
        if starts_in or ev.get("cfp_deadline") is not None:
            keep.append(r)
    groups = rank_groups_for(session, config, profile, now, Filters(limit=5))
    ranked_ids = {r.event["id"] for r in keep}
    sent_events = [event_dict(e) for e in session.scalars(
        select(Event).where(Event.id.in_([i for i in sent if i not in ranked_ids])))]
    digest = build_digest(profile, week_arg, keep, groups, sent, now, tz, sent_events=sent_events)
    return digest


def sent_key(week_arg: Any) -> str:
    """How a sent digest is recorded: "2026-W49", or a --from/--to period by its first day
    (a Monday-to-Sunday period is that ISO week, as ``Digest.week`` says)."""
    from aggregator.digest import week_label

    first, last = week_arg
    if isinstance(first, int):
        return week_label(first, last)
    if first.weekday() == 0 and (last - first).days == 6:
        iso = first.isocalendar()
        return week_label(iso.year, iso.week)
    return first.isoformat()


def already_sent(session: Session, profile: str, week: str | None) -> SentDigest | None:
    if week is None:
        return None
    return session.scalar(select(SentDigest).where(SentDigest.profile == profile, SentDigest.week == week))


def smtp_password(config: Config) -> str | None:
    name = config.settings.smtp.password_env
    return os.environ.get(name) if name else None


def send_digest(engine, config: Config, profile: Profile, now: datetime, request: DigestRequest,  # type: ignore[no-untyped-def]
                *, force: bool = False) -> tuple[str, Any]:
    """Build and send one digest; ("sent" | "skipped" | "empty", digest). Raises SendError."""
    from aggregator.db import session_scope
    from aggregator.digest import build_message, send_message

    if not profile.email:
        raise ServiceError(f"profile {profile.name!r} has no email address")
    with session_scope(engine) as session:
        digest = build_profile_digest(session, config, profile, now, request, force=force)
        # a week is recorded as "2026-W49"; a --from/--to period by its first day
        key = digest.week or digest.from_date.isoformat()
        if not force and already_sent(session, profile.name, key) is not None:
            return "skipped", digest
    if digest.is_empty and not force:
        return "empty", digest   # nobody wants a mail that says nothing
    msg = build_message(digest, config.settings.smtp.from_addr, profile.email, now=now)
    send_message(msg, config.settings.smtp, smtp_password(config))
    with session_scope(engine) as session:
        row = already_sent(session, profile.name, key)
        items = digest.sent_fingerprints()
        if row is None:
            session.add(SentDigest(profile=profile.name, week=key,
                                   sent_at=now, message_id=str(msg["Message-ID"]), recipient=profile.email,
                                   items=items))
        else:
            row.sent_at, row.message_id, row.items = now, str(msg["Message-ID"]), {**row.items, **items}
    return "sent", digest


def add_feedback(session: Session, profile: str, event_id: str, signal: str, now: datetime) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise ServiceError(f"no event with id {event_id!r} (see `eventscout events` or `rank`)")
    if signal not in C.FEEDBACK_SIGNALS:
        raise ServiceError(f"unknown signal {signal!r}; valid: {', '.join(C.FEEDBACK_SIGNALS)}")
    session.add(Feedback(profile=profile, event_id=event_id, signal=signal, created=now))
    return event
