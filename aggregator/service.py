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
from aggregator.queries import Filters, event_dict, find_events, group_dict, group_starts

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

    starts = group_starts(session)
    groups = [group_dict(g, session, now, starts) for g in session.scalars(select(Group))]
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


# a digest shows the best this many events of its period (the sections split them)
DIGEST_PICKS = 40


@dataclass
class Period:
    week_arg: Any                      # (year, week) or (first day, last day)
    start: datetime
    end: datetime
    tz: str

    @property
    def key(self) -> str:
        return sent_key(self.week_arg)


def period_for(profile: Profile, config: Config, now: datetime, request: DigestRequest) -> Period:
    from aggregator.digest import default_week, parse_week, week_bounds
    from aggregator.digest.model import range_bounds

    tz = profile_timezone(profile, config)
    if request.start is not None and request.end is not None:
        week_arg: Any = (request.start.date(), (request.end - timedelta(microseconds=1)).date())
        start, end = range_bounds(week_arg[0], week_arg[1], tz)
    else:
        week_arg = parse_week(request.week) if request.week else default_week(now, tz)
        start, end = week_bounds(week_arg[0], week_arg[1], tz)
    return Period(week_arg, start, end, tz)


class DigestBatch:
    """What every digest of one run shares, read and indexed once: the candidate events of the
    periods (starting in them, or closing a call within 14 days of their start), the groups."""

    def __init__(self, session: Session, config: Config, now: datetime, periods: list[Period]) -> None:
        from aggregator.ranking import build_index, index_groups

        self.config, self.now = config, now
        lo = min((p.start for p in periods), default=now)
        hi = max((max(p.end, p.start + timedelta(days=DEADLINE_DAYS)) for p in periods), default=now)
        events = candidate_events(session, config, Filters(start=lo, end=hi, by_deadline=True))
        self.index = build_index(events, config.industries)
        starts = group_starts(session)
        self.groups = [group_dict(g, session, now, starts) for g in session.scalars(select(Group))]
        names = {g["name"] for g in self.groups}
        # what group ranking reads of their events: titles, industries, place, start
        cols = (Event.id, Event.title, Event.group_name, Event.industries, Event.online, Event.start_utc,
                Event.city, Event.country)
        self.group_events = [
            {"id": r.id, "title": r.title, "group": r.group_name, "industries": r.industries or [],
             "online": r.online, "start": r.start_utc, "city": r.city, "country": r.country}
            for r in session.execute(select(*cols).where(
                Event.group_name.in_(names), Event.start_utc >= now - timedelta(days=90)))]
        self.group_index = index_groups(self.groups, self.group_events, config.industries)

    def digest(self, session: Session, profile: Profile, period: Period, *, force: bool = False):  # type: ignore[no-untyped-def]
        from aggregator.digest import build_digest
        from aggregator.ranking import rank, rank_groups

        sent = sent_items(session, profile.name, exclude_week=period.key if force else None)
        feedback = feedback_for(session, profile.name)
        window = (period.start, max(period.end, period.start + timedelta(days=DEADLINE_DAYS)))
        ranked = rank(self.index, profile, self.now, window=window, feedback=feedback,
                      sent_ids=set(sent), limit=DIGEST_PICKS)
        keep = [r for r in ranked
                if (r.event["start"] is not None and period.start <= r.event["start"] < period.end)
                or r.event.get("cfp_deadline") is not None]
        groups = rank_groups(self.groups, self.group_events, profile, self.now,
                             taxonomy=self.config.industries, feedback=feedback, limit=5,
                             prepared=self.group_index)
        ranked_ids = {r.event["id"] for r in keep}
        sent_events = [event_dict(e) for e in session.scalars(
            select(Event).where(Event.id.in_([i for i in sent if i not in ranked_ids])))]
        return build_digest(profile, period.week_arg, keep, groups, sent, self.now, period.tz,
                            sent_events=sent_events)


# what `write_digests` workers inherit from the process that forks them
_WRITE: dict[str, Any] = {}


def _write_some(names: list[str]) -> int:
    """A digest-writing worker: the .eml files of these profiles (see write_digests)."""
    from aggregator.db import open_database, session_scope
    from aggregator.digest import render

    job = _WRITE
    engine = open_database(job["db_url"])
    written = 0
    for name in names:
        profile = job["config"].profile(name)
        with session_scope(engine) as session:
            built = job["batch"].digest(session, profile, job["periods"][name])
        data = render(built, "eml", from_addr=job["config"].settings.smtp.from_addr)
        path = job["out"] / f"{profile.name}-{built.label}.eml"
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        written += 1
    engine.dispose()
    return written


def write_digests(db_url: str, config: Config, batch: DigestBatch, periods: dict[str, Period],
                  profiles: list[Profile], out: Any, workers: int) -> int:
    """Write each profile's digest as an .eml file in `out`; with `workers` > 1, in that many
    forked processes (they share the batch's index, read once). Forking needs a process with no
    other thread (a run that collected first has the crawl's): else one process writes them all."""
    import threading

    names = [p.name for p in profiles]
    _WRITE.update(db_url=db_url, config=config, batch=batch, periods=periods, out=out)
    try:
        if workers <= 1 or len(names) < 2 * workers or threading.active_count() > 1:
            return _write_some(names)
        import multiprocessing

        chunks = [names[i:i + 25] for i in range(0, len(names), 25)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return sum(pool.imap_unordered(_write_some, chunks))
    finally:
        _WRITE.clear()


def build_profile_digest(session: Session, config: Config, profile: Profile, now: datetime,
                         request: DigestRequest, *, force: bool = False):  # type: ignore[no-untyped-def]
    period = period_for(profile, config, now, request)
    return DigestBatch(session, config, now, [period]).digest(session, profile, period, force=force)


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
                *, force: bool = False, batch: DigestBatch | None = None) -> tuple[str, Any]:
    """Build and send one digest; ("sent" | "skipped" | "empty", digest or None). Raises SendError.

    The send is recorded only after the SMTP server took the message: a failed send is retried by
    the next run."""
    from aggregator.db import session_scope
    from aggregator.digest import build_message, send_message

    if not profile.email:
        raise ServiceError(f"profile {profile.name!r} has no email address")
    period = period_for(profile, config, now, request)
    with session_scope(engine) as session:
        if not force and already_sent(session, profile.name, period.key) is not None:
            return "skipped", _Label(period)
        batch = batch or DigestBatch(session, config, now, [period])
        digest = batch.digest(session, profile, period, force=force)
    if digest.is_empty and not force:
        return "empty", digest   # nobody wants a mail that says nothing
    # the first send of a period has the period's own Message-ID: if this process dies after the
    # server took the mail but before the send is recorded, the retry is the same message
    msg = build_message(digest, config.settings.smtp.from_addr, profile.email, now=now,
                        per_period_id=not force)
    send_message(msg, config.settings.smtp, smtp_password(config))
    with session_scope(engine) as session:
        row = already_sent(session, profile.name, period.key)
        items = digest.sent_fingerprints()
        if row is None:
            session.add(SentDigest(profile=profile.name, week=period.key,
                                   sent_at=now, message_id=str(msg["Message-ID"]), recipient=profile.email,
                                   items=items))
        else:
            row.sent_at, row.message_id, row.items = now, str(msg["Message-ID"]), {**row.items, **items}
    return "sent", digest


@dataclass
class _Label:
    """What a skipped send reports: the period's label."""

    period: Period

    @property
    def label(self) -> str:
        from aggregator.digest import week_label

        first, last = self.period.week_arg
        if isinstance(first, int):
            return week_label(first, last)
        return f"{first.isoformat()} to {last.isoformat()}"


def add_feedback(session: Session, profile: str, event_id: str, signal: str, now: datetime) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise ServiceError(f"no event with id {event_id!r} (see `eventscout events` or `rank`)")
    if signal not in C.FEEDBACK_SIGNALS:
        raise ServiceError(f"unknown signal {signal!r}; valid: {', '.join(C.FEEDBACK_SIGNALS)}")
    session.add(Feedback(profile=profile, event_id=event_id, signal=signal, created=now))
    return event
