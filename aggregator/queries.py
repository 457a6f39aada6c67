"""Reading events and groups back: the SPEC.md objects and the listing filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from aggregator import constants as C
from aggregator.config_types import Config
from aggregator.models import Event, EventSource, Group
from aggregator.normalize import zone


class FilterError(ValueError):
    """A filter value that cannot be used; the message lists what can."""


@dataclass
class Filters:
    industries: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    near: str | None = None
    radius_km: float = 50.0
    online: bool | None = None          # True: online only; False: in person only
    start: datetime | None = None       # from (inclusive)
    end: datetime | None = None         # to (exclusive)
    query: str | None = None
    sources: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    limit: int | None = None
    by_deadline: bool = False           # rank/digest: a deadline inside the window also counts


def check_vocab(values: list[str], valid: tuple[str, ...] | list[str], what: str) -> None:
    bad = [v for v in values if v not in valid]
    if bad:
        raise FilterError(f"unknown {what} {', '.join(repr(b) for b in bad)}; "
                          f"valid: {', '.join(valid)}")


def validate(filters: Filters, config: Config) -> None:
    check_vocab(filters.industries, sorted(config.industries), "industry")
    check_vocab(filters.kinds, C.KINDS, "kind")
    check_vocab(filters.goals, C.GOALS, "goal")
    check_vocab(filters.statuses, C.STATUSES, "status")


def parse_when(text: str, tz: str = "UTC", *, end: bool = False) -> datetime:
    """A --from/--to value: ISO date or datetime; a date means its local midnight."""
    tzinfo = zone(tz) or ZoneInfo("UTC")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"not a date: {text!r} (use YYYY-MM-DD or an ISO 8601 date-time)") from None
    return value if value.tzinfo else value.replace(tzinfo=tzinfo)


def iso_week_bounds(week: str, tz: str = "UTC") -> tuple[datetime, datetime]:
    m = re.fullmatch(r"(\d{4})-W(\d{1,2})", week.strip())
    if not m:
        raise FilterError(f"not an ISO week: {week!r} (use e.g. 2026-W49)")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise FilterError(f"not an ISO week: {week!r} ({exc})") from None
    tzinfo = zone(tz) or ZoneInfo("UTC")
    start = datetime.combine(monday, time(0), tzinfo)
    return start, start + timedelta(days=7)


def _statement(filters: Filters, config: Config) -> Select[Any]:
    stmt = select(Event)
    conds = []
    if filters.start is not None or filters.end is not None:
        span: list[Any] = []
        if filters.start is not None:
            span.append(Event.start_utc >= filters.start)
        if filters.end is not None:
            span.append(Event.start_utc < filters.end)
        by_start = and_(*span)
        if filters.by_deadline:
            dl: list[Any] = [Event.cfp_deadline_utc.is_not(None)]
            if filters.start is not None:
                dl.append(Event.cfp_deadline_utc >= filters.start)
            if filters.end is not None:
                dl.append(Event.cfp_deadline_utc < filters.end)
            conds.append(or_(by_start, and_(*dl)))
        else:
            conds.append(by_start)
    if filters.countries:
        conds.append(Event.country.in_([c.upper() for c in filters.countries]))
    if filters.statuses:
        conds.append(Event.status.in_(filters.statuses))
    if filters.online is True:
        conds.append(Event.online.is_(True))
    elif filters.online is False:
        conds.append(Event.online.is_(False))
    if filters.sources:
        conds.append(Event.id.in_(select(EventSource.event_id).where(
            EventSource.source.in_(filters.sources), EventSource.active.is_(True))))
    if conds:
        stmt = stmt.where(*conds)
    return stmt.order_by(Event.start_utc, Event.id)


def _matches(ev: Event, filters: Filters, config: Config, near: tuple[float, float] | None) -> bool:
    if filters.industries:
        wanted: set[str] = set()
        for slug in filters.industries:
            wanted |= config.industry_with_children(slug)
        if not wanted & set(ev.industries or []):
            return False
    if filters.kinds and not set(filters.kinds) & set(ev.kinds or []):
        return False
    if filters.goals and not set(filters.goals) & set(ev.goals or []):
        return False
    if filters.cities:
        city = (ev.city or "").casefold()
        if not any(c.casefold() == city for c in filters.cities):
            return False
    if filters.query:
        hay = " ".join([ev.title or "", ev.description or "", " ".join(ev.tags or []),
                        ev.organizer or "", ev.venue or "", ev.city or ""]).casefold()
        if not all(word in hay for word in filters.query.casefold().split()):
            return False
    if near is not None:
        from aggregator import geo

        point = (ev.latitude, ev.longitude) if ev.latitude is not None else geo.locate(ev.city, ev.country)
        if point is None or point[0] is None:
            return False
        if geo.distance_km(near, point) > filters.radius_km:  # type: ignore[arg-type]
            return False
    return True


def find_events(session: Session, filters: Filters, config: Config) -> list[Event]:
    near = None
    if filters.near:
        from aggregator import geo

        near = geo.locate(filters.near)
        if near is None:
            raise FilterError(f"unknown place {filters.near!r} (try 'City, CC', e.g. 'Berlin, DE')")
    out = []
    for ev in session.scalars(_statement(filters, config)):
        if _matches(ev, filters, config, near):
            out.append(ev)
            if filters.limit is not None and len(out) >= filters.limit:
                break
    return out


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz) if value is not None else None


def event_dict(ev: Event) -> dict[str, Any]:
    """The SPEC.md event object with Python values (aware datetimes in the event's zone)."""
    tz = zone(ev.timezone) or ZoneInfo("UTC")
    start, end = _local(ev.start_utc, tz), _local(ev.end_utc, tz)
    cfp: date | datetime | None = None
    if ev.cfp_deadline:
        try:
            cfp = (datetime.fromisoformat(ev.cfp_deadline) if "T" in ev.cfp_deadline
                   else date.fromisoformat(ev.cfp_deadline))
        except ValueError:
            cfp = None
    active = [lk for lk in ev.links if lk.active] or list(ev.links)
    return {
        "id": ev.id, "title": ev.title, "description": ev.description, "url": ev.url,
        "start": start, "end": end, "timezone": ev.timezone, "all_day": ev.all_day,
        "venue": ev.venue, "address": ev.address, "city": ev.city, "country": ev.country,
        "online": ev.online, "kinds": list(ev.kinds or []), "goals": list(ev.goals or []),
        "industries": list(ev.industries or []), "tags": list(ev.tags or []),
        "status": ev.status, "price": ev.price, "currency": ev.currency,
        "organizer": ev.organizer, "group": ev.group_name, "cfp_deadline": cfp,
        "cfp_url": ev.cfp_url,
        "sources": sorted({lk.source for lk in active}),
        "urls": list(ev.urls or []),
        "first_seen": ev.first_seen, "last_seen": ev.last_seen,
        "changes": [{"field": c.field, "old": c.old, "new": c.new, "seen": c.seen} for c in ev.changes],
        "previous_start": _local(ev.previous_start_utc, tz),
        "status_reason": ev.status_reason,
        "latitude": ev.latitude, "longitude": ev.longitude, "language": ev.language,
        "series": ev.series, "recurrence_id": ev.recurrence_id,
    }


def to_json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def group_starts(session: Session, names: list[str] | None = None) -> dict[str, list[datetime]]:
    """The starts of the (not cancelled) events of each group, in one query."""
    stmt = select(Event.group_name, Event.start_utc).where(
        Event.group_name.is_not(None), Event.start_utc.is_not(None), Event.status != C.CANCELLED)
    if names is not None:
        stmt = stmt.where(Event.group_name.in_(names))
    out: dict[str, list[datetime]] = {}
    for name, start in session.execute(stmt):
        if name is not None and start is not None:   # the query excludes both; for the type checker
            out.setdefault(name, []).append(start)
    return out


def group_dict(group: Group, session: Session, now: datetime,
               starts_by_group: dict[str, list[datetime]] | None = None) -> dict[str, Any]:
    """The SPEC.md group object, with its activity figures."""
    ninety = timedelta(days=90)
    if starts_by_group is None:
        starts_by_group = group_starts(session, [group.name])
    starts = starts_by_group.get(group.name, [])
    past = [s for s in starts if now - ninety <= s <= now]
    future = [s for s in starts if now < s <= now + ninety]
    last = max((s for s in starts if s <= now), default=None)
    return {
        "id": group.id, "name": group.name, "url": group.url, "description": group.description,
        "city": group.city, "country": group.country, "industries": list(group.industries or []),
        "tags": list(group.tags or []), "sources": list(group.sources or []),
        "events_last_90d": len(past), "events_next_90d": len(future),
        "last_event": last, "next_event": min(future, default=None),
    }


def find_groups(session: Session, filters: Filters, config: Config, now: datetime) -> list[dict[str, Any]]:
    starts = group_starts(session)
    out = []
    for g in session.scalars(select(Group).order_by(Group.name)):
        if filters.industries:
            wanted: set[str] = set()
            for slug in filters.industries:
                wanted |= config.industry_with_children(slug)
            if not wanted & set(g.industries or []):
                continue
        if filters.cities and (g.city or "").casefold() not in {c.casefold() for c in filters.cities}:
            continue
        if filters.countries and (g.country or "") not in {c.upper() for c in filters.countries}:
            continue
        if filters.sources and not set(filters.sources) & set(g.sources or []):
            continue
        if filters.query and filters.query.casefold() not in f"{g.name} {g.description or ''}".casefold():
            continue
        out.append(group_dict(g, session, now, starts))
        if filters.limit is not None and len(out) >= filters.limit:
            break
    return out


def utcnow() -> datetime:
    return datetime.now(UTC)
