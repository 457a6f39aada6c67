"""Writing one source's items: matching, merging, change history, vanished events, health.

Everything for one source happens in one transaction (see StorePipeline): a source is
stored whole or not at all.

Concurrent writers (several `collect --queue` workers on one PostgreSQL database): each
source's transaction first takes a transaction-scoped advisory lock on the source's name, and
a transaction that matches and writes events also takes one global advisory lock, so two
workers never match against each other's uncommitted rows (no duplicate events, no lost
updates). The health row and new event ids are written with INSERT ... ON CONFLICT. SQLite has
one writer at a time anyway (busy timeout, see aggregator.db).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload

from aggregator import constants as C
from aggregator.dedup import same_event
from aggregator.items import EventItem, GroupItem, SourceDone
from aggregator.models import Event, EventChange, EventSource, Group, Source
from aggregator.normalize import iso, slugify, stable_id

# fields whose change is an update worth telling people about
TRACKED = ("start_utc", "end_utc", "venue", "city", "online", "status")
# which source types know an event's details best (for titles and descriptions)
TYPE_RANK = {C.PAGE: 0, C.ICAL: 1, C.FEED: 2, C.JSON: 3, C.HTML: 4, C.CSV: 5}


@dataclass
class StoreResult:
    new: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    vanished: int = 0
    events: int = 0
    groups: int = 0
    new_ids: list[str] = field(default_factory=list)


# advisory lock keys (64-bit signed, as pg_advisory_xact_lock takes them)
_LOCK_NAMESPACE = "eventscout"
MATCHING_LOCK = int.from_bytes(hashlib.sha1(b"eventscout:matching").digest()[:8], "big", signed=True)


def lock_key(source_name: str) -> int:
    """The advisory lock key of one source: a stable 64-bit hash of its name."""
    digest = hashlib.sha1(f"{_LOCK_NAMESPACE}:source:{source_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_source(session: Session, source_name: str) -> None:
    """Serialise this transaction with every other one writing the same source (PostgreSQL;
    a no-op on SQLite, which has one writer at a time). Released at commit or rollback."""
    if is_postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(lock_key(source_name))))


def lock_matching(session: Session) -> None:
    """Serialise cross-source matching: two sources listing one event store one record."""
    if is_postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(MATCHING_LOCK)))


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def snapshot(item: EventItem, source_type: str) -> dict[str, Any]:
    """What one source says of one event, as JSON."""
    cfp = item.cfp_deadline
    return {
        "type": source_type,
        "title": item.title, "description": item.description, "url": item.url,
        "urls": item.urls, "start_utc": iso(item.start_utc), "end_utc": iso(item.end_utc),
        "timezone": item.timezone, "all_day": item.all_day, "venue": item.venue,
        "address": item.address, "city": item.city, "country": item.country,
        "latitude": item.latitude, "longitude": item.longitude, "online": item.online,
        "hybrid": item.hybrid, "kinds": item.kinds, "goals": item.goals,
        "industries": item.industries, "tags": item.tags, "status": item.status,
        "previous_start_utc": iso(item.previous_start) if isinstance(item.previous_start, datetime) else None,
        "price": item.price, "currency": item.currency, "organizer": item.organizer,
        "group": item.group, "cfp_deadline": iso(cfp), "cfp_url": item.cfp_url,
        "series": item.series, "recurrence_id": item.recurrence_id, "language": item.language,
        "uid": item.uid,
    }


def _cfp_utc(value: str | None, tz: str | None) -> datetime | None:
    if not value:
        return None
    from aggregator.normalize import to_utc, zone

    try:
        parsed: datetime | date = (datetime.fromisoformat(value) if "T" in value
                                   else date.fromisoformat(value))
    except ValueError:
        return None
    if not isinstance(parsed, datetime):
        # a deadline given as a date closes at the end of that day
        parsed = datetime.combine(parsed, datetime.max.time().replace(microsecond=0))
    return to_utc(parsed, zone(tz) or zone("UTC"))  # type: ignore[arg-type]


def merge(links: list[EventSource]) -> dict[str, Any]:
    """The record from every active source's snapshot: the richest value of each field."""
    active = [lk for lk in links if lk.active] or list(links)
    by_type = sorted(active, key=lambda lk: (TYPE_RANK.get(lk.snapshot.get("type") or "", 9), lk.first_seen,
                                             lk.id or 0))
    # times: a timed record beats a date-only one; the newest change beats older news
    by_time = sorted(active, key=lambda lk: (lk.snapshot.get("all_day", False),
                                             -lk.changed_at.timestamp(),
                                             TYPE_RANK.get(lk.snapshot.get("type") or "", 9)))
    snaps = [lk.snapshot for lk in by_type]
    timed = by_time[0].snapshot

    def first(name: str) -> Any:
        return next((s[name] for s in snaps if s.get(name) not in (None, "", [])), None)

    def union(name: str) -> list[Any]:
        out: list[Any] = []
        for s in snaps:
            for v in s.get(name) or []:
                if v not in out:
                    out.append(v)
        return out

    statuses = [(lk.changed_at, lk.snapshot.get("status")) for lk in active
                if lk.snapshot.get("status") not in (None, C.SCHEDULED)]
    status = max(statuses, key=lambda t: t[0])[1] if statuses else C.SCHEDULED
    prices = [(s["price"], s.get("currency")) for s in snaps if s.get("price") is not None]
    price, currency = min(prices, key=lambda p: p[0]) if prices else (None, first("currency"))
    descriptions = [s["description"] for s in snaps if s.get("description")]
    urls = union("urls")
    for s in snaps:
        if s.get("url") and s["url"] not in urls:
            urls.insert(0, s["url"])
    return {
        "title": snaps[0]["title"],
        "description": max(descriptions, key=len) if descriptions else None,
        "url": first("url"), "urls": urls,
        "start_utc": _dt(timed["start_utc"]), "end_utc": _dt(timed.get("end_utc")),
        "timezone": timed.get("timezone") or first("timezone") or "UTC",
        "all_day": bool(timed.get("all_day")),
        "venue": timed.get("venue") or first("venue"),
        "address": timed.get("address") or first("address"),
        "city": timed.get("city") or first("city"),
        "country": timed.get("country") or first("country"),
        "latitude": first("latitude"), "longitude": first("longitude"),
        "online": bool(timed.get("online")) if status != C.MOVED_ONLINE else True,
        "hybrid": bool(first("hybrid")),
        "kinds": union("kinds"), "goals": [g for g in C.GOALS if g in union("goals")],
        "industries": union("industries"), "tags": union("tags"),
        "status": status,
        "price": price, "currency": currency, "organizer": first("organizer"),
        "group_name": first("group"), "cfp_deadline": first("cfp_deadline"),
        "cfp_url": first("cfp_url"), "series": first("series"),
        "recurrence_id": first("recurrence_id"), "language": first("language"),
        "previous_start_utc": _dt(first("previous_start_utc")),
    }


def _hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def _fmt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# the light rows of the events starting in [lo, hi): one statement, compiled once
_CANDIDATES = (
    select(Event.id, Event.title, Event.start_utc, Event.end_utc, Event.all_day, Event.city,
           Event.country, Event.online)
    .where(Event.start_utc >= bindparam("lo", type_=Event.start_utc.type),
           Event.start_utc < bindparam("hi", type_=Event.start_utc.type))
    .order_by(Event.start_utc))


@dataclass
class _Candidate:
    """A stored event `_find` compares an item with: its id and the fields same_event reads."""

    id: str
    fields: dict[str, Any]
    event: Event | None = None     # set for events created in this batch


class SourceWriter:
    """Stores one source's batch inside the caller's transaction."""

    def __init__(self, session: Session, source_name: str, source_type: str, now: datetime):
        self.session = session
        self.source = source_name
        self.type = source_type
        self.now = now
        self.result = StoreResult()
        self.taken_ids: set[str] = set()
        self.listed_here: set[str] = set()   # events this source lists (never matched twice)

    # ------------------------------------------------------------ matching
    def _candidates(self, items: list[EventItem]) -> list[_Candidate]:
        """The stored events `_find` may compare the items with: those starting in the hour
        buckets it looks at (the item's hour +-1, +-40 for all-day items), in start order, as
        light rows (the full record is loaded only for a match). Loading only these, not every
        event between the batch's first and last start, keeps a source's cost independent of
        the database's size."""
        spans = []
        for i in items:
            if i.start_utc is not None:
                hour = int(i.start_utc.timestamp() // 3600)
                spans.append((hour - 40, hour + 41) if i.all_day else (hour - 1, hour + 2))
        if not spans:
            return []
        spans.sort()
        merged = [list(spans[0])]
        for lo, hi in spans[1:]:
            if lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        rows: list[_Candidate] = []
        for lo, hi in merged:
            for row in self.session.execute(_CANDIDATES, {"lo": _hour_start(lo), "hi": _hour_start(hi)}):
                rows.append(_Candidate(row.id, {
                    "title": row.title, "start_utc": row.start_utc, "end_utc": row.end_utc,
                    "all_day": row.all_day, "city": row.city, "country": row.country,
                    "online": row.online}))
        return rows

    def _find(self, item: EventItem, own: dict[str, EventSource],
              by_uid: dict[str, Event], by_url: dict[str, Event], buckets: dict[int, list[_Candidate]]
              ) -> tuple[Event | None, EventSource | None]:
        link = own.get(item.key or "")
        if link is not None:
            return link.event, link
        occ = item.recurrence_id or ""
        if item.uid and f"{item.uid}#{occ}" in by_uid:
            return by_uid[f"{item.uid}#{occ}"], None
        for url in item.urls:
            ev = by_url.get(f"{url}#{occ}")
            if ev is not None:
                return ev, None
        assert item.start_utc is not None
        probe = {"title": item.title, "start_utc": item.start_utc, "end_utc": item.end_utc,
                 "all_day": item.all_day, "city": item.city, "country": item.country,
                 "online": item.online}
        hour = int(item.start_utc.timestamp() // 3600)
        span = range(hour - 40, hour + 41) if item.all_day else range(hour - 1, hour + 2)
        for h in span:
            for cand in buckets.get(h, []):
                if cand.id in self.listed_here:
                    continue   # one source never lists one event twice
                if same_event(probe, cand.fields):
                    return cand.event or self.session.get(Event, cand.id), None
        return None, None

    # ------------------------------------------------------------ writing
    def store(self, items: list[EventItem], groups: list[GroupItem], done: SourceDone) -> StoreResult:
        s = self.session
        # the source's lock first, then the global one (always in this order: no deadlock)
        lock_source(s, self.source)
        lock_matching(s)
        pg = is_postgresql(s)
        own = {lk.key: lk for lk in s.scalars(select(EventSource).where(EventSource.source == self.source)
                                              .options(selectinload(EventSource.event)))}
        self.listed_here = {lk.event_id for lk in own.values() if lk.active}
        uids = [i.uid for i in items if i.uid]
        urls = [u for i in items for u in i.urls]
        by_uid: dict[str, Event] = {}
        by_url: dict[str, Event] = {}
        if uids or urls:
            for chunk in _chunks(list(set(uids)), 500):
                for lk in s.scalars(select(EventSource).where(EventSource.uid.in_(chunk))):
                    by_uid[f"{lk.uid}#{lk.snapshot.get('recurrence_id') or ''}"] = lk.event
            for chunk in _chunks(list(set(urls)), 500):
                for lk in s.scalars(select(EventSource).where(or_(EventSource.url.in_(chunk)))):
                    by_url[f"{lk.url}#{lk.snapshot.get('recurrence_id') or ''}"] = lk.event
        global_ids = [stable_id(i.key) for i in items if i.key and i.key.startswith(("uid:", "url:"))]
        for chunk in _chunks(list(set(global_ids)), 500):
            self.taken_ids.update(s.scalars(select(Event.id).where(Event.id.in_(chunk))))
        buckets: dict[int, list[_Candidate]] = {}
        for cand in self._candidates(items):
            start = cand.fields["start_utc"]
            if start is not None:
                buckets.setdefault(int(start.timestamp() // 3600), []).append(cand)

        seen_keys: set[str] = set()
        for item in items:
            assert item.key is not None and item.start_utc is not None
            seen_keys.add(item.key)
            event, link = self._find(item, own, by_uid, by_url, buckets)
            snap = snapshot(item, self.type)
            is_new = event is None
            if event is None:
                event, is_new = self._new_event(item) if pg else (self._add_event(item), True)
                if is_new:
                    buckets.setdefault(int(item.start_utc.timestamp() // 3600), []).append(
                        _Candidate(event.id, {"title": item.title, "start_utc": item.start_utc,
                                              "end_utc": item.end_utc, "all_day": item.all_day,
                                              "city": item.city, "country": item.country,
                                              "online": item.online}, event))
            record = False
            if link is None:
                link = EventSource(source=self.source, key=item.key, url=item.url, uid=item.uid,
                                   active=True, snapshot=snap, changed_at=self.now,
                                   first_seen=self.now, last_seen=self.now)
                event.links.append(link)
                own[item.key] = link
            else:
                old = link.snapshot
                if any(old.get(f) != snap.get(f) for f in TRACKED):
                    link.changed_at = self.now
                    record = True
                link.snapshot = snap
                link.url, link.uid, link.active, link.last_seen = item.url, item.uid, True, self.now
            self.listed_here.add(event.id)
            if item.uid:
                by_uid[f"{item.uid}#{item.recurrence_id or ''}"] = event
            for u in item.urls:
                by_url[f"{u}#{item.recurrence_id or ''}"] = event
            self._apply(event, is_new, item.source, record=record)
        self._vanish(own, seen_keys)
        for g in groups:
            self._store_group(g)
        self.result.events = len(items)
        self.result.groups = len(groups)
        return self.result

    def _event_id(self, item: EventItem) -> str:
        """An iCal UID or a canonical URL names the event wherever it is listed: its id does not
        depend on which source was stored first. A title key only means something in its source.
        An id already taken by another event (a URL two different events share) falls back to
        the source's own."""
        assert item.key is not None
        if item.key.startswith(("uid:", "url:")):
            eid = stable_id(item.key)
            if eid not in self.taken_ids:
                self.taken_ids.add(eid)
                return eid
        eid = stable_id(self.source, item.key)
        self.taken_ids.add(eid)
        return eid

    def _add_event(self, item: EventItem) -> Event:
        event = Event(id=self._event_id(item), title=item.title,
                      first_seen=self.now, last_seen=self.now, start_utc=item.start_utc)
        self.session.add(event)
        event.links = []
        event.changes = []
        return event

    def _new_event(self, item: EventItem) -> tuple[Event, bool]:
        """PostgreSQL: INSERT ... ON CONFLICT DO NOTHING on the event id; (event, inserted).
        A row another writer committed under the same id is used, not duplicated."""
        eid = self._event_id(item)
        inserted = self.session.execute(
            pg_insert(Event).values(id=eid, title=item.title, start_utc=item.start_utc,
                                    first_seen=self.now, last_seen=self.now, urls=[], kinds=[],
                                    goals=[], industries=[], tags=[])
            .on_conflict_do_nothing(index_elements=[Event.id]).returning(Event.id)).first()
        if inserted is None:
            existing = self.session.get(Event, eid)
            assert existing is not None
            return existing, False
        event = Event(id=eid, title=item.title, first_seen=self.now, last_seen=self.now,
                      start_utc=item.start_utc, status_reason=None, content_hash=None)
        event.links = []
        event.changes = []
        make_transient_to_detached(event)   # the row exists: later changes are UPDATEs
        self.session.add(event)
        return event, True

    def _apply(self, event: Event, is_new: bool, source: str, *, record: bool = True) -> None:
        """Re-merge the event from its sources; changes are recorded when `record` (a source
        that already listed it now says something else), not when a new source joins."""
        merged = merge(event.links)
        merged["cfp_deadline_utc"] = _cfp_utc(merged["cfp_deadline"], merged["timezone"])
        before = {f: getattr(event, f) for f in TRACKED} if not is_new else {}
        digest = _hash(merged)
        event.last_seen = self.now
        if not is_new and event.content_hash == digest:
            self.result.unchanged += 1
            return
        if event.status_reason == C.VANISHED and merged["status"] != C.CANCELLED:
            event.status_reason = None
        for name, value in merged.items():
            if name == "previous_start_utc" and value is None:
                continue
            setattr(event, name, value)
        event.content_hash = digest
        if is_new:
            self.result.new += 1
            self.result.new_ids.append(event.id)
            return
        if not record:
            self.result.unchanged += 1
            return
        changed = False
        for f in TRACKED:
            old, new = before[f], merged[f]
            if _fmt(old) != _fmt(new):
                changed = True
                event.changes.append(EventChange(field=f, old=_fmt(old), new=_fmt(new),
                                                 seen=self.now, source=source))
                if f == "start_utc" and old is not None:
                    event.previous_start_utc = old
                if f == "status" and new == C.CANCELLED:
                    self.result.cancelled += 1
        if changed:
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def _vanish(self, own: dict[str, EventSource], seen: set[str]) -> None:
        for key, link in own.items():
            if key in seen or not link.active:
                continue
            link.active = False
            event = link.event
            if any(lk.active for lk in event.links):
                self._apply(event, False, self.source)
                continue
            if event.start_utc is not None and event.start_utc > self.now and event.status != C.CANCELLED:
                event.changes.append(EventChange(field="status", old=event.status, new=C.CANCELLED,
                                                 seen=self.now, source=self.source))
                event.status = C.CANCELLED
                event.status_reason = C.VANISHED
                self.result.vanished += 1
                self.result.cancelled += 1

    def _store_group(self, g: GroupItem) -> None:
        gid = stable_id("group", g.url or slugify(g.name))
        row = self.session.get(Group, gid)
        if row is None:
            row = Group(id=gid, name=g.name, first_seen=self.now, last_seen=self.now, sources=[])
            self.session.add(row)
        row.name = g.name
        row.url = g.url or row.url
        row.description = g.description or row.description
        row.city = g.city or row.city
        row.country = g.country or row.country
        row.industries = list(dict.fromkeys([*(row.industries or []), *g.industries]))
        row.tags = list(dict.fromkeys([*(row.tags or []), *g.tags]))
        row.sources = list(dict.fromkeys([*(row.sources or []), g.source]))
        row.last_seen = self.now


def _hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def _chunks(seq: list[Any], n: int) -> list[list[Any]]:
    return [seq[i:i + n] for i in range(0, len(seq), n)]


def record_health(session: Session, name: str, type_: str, url: str, done: SourceDone, now: datetime) -> None:
    lock_source(session, name)
    if is_postgresql(session):
        # the row exists afterwards whoever created it; FOR UPDATE: no lost failure count
        session.execute(pg_insert(Source).values(name=name, type=type_, url=url, consecutive_failures=0)
                        .on_conflict_do_nothing(index_elements=[Source.name]))
        row = session.get(Source, name, with_for_update=True, populate_existing=True)
        assert row is not None
    else:
        row = session.get(Source, name)
        if row is None:
            row = Source(name=name, type=type_, url=url, consecutive_failures=0)
            session.add(row)
    row.type, row.url = type_, url
    row.last_attempt = now
    if done.ok:
        row.ok = True
        row.last_success = now
        row.last_error = None
        row.consecutive_failures = 0
        if not done.not_modified:
            row.items_last_run = done.items
        row.etag = done.etag or row.etag
        row.last_modified = done.last_modified or row.last_modified
        row.content_hash = done.content_hash or row.content_hash
    else:
        row.ok = False
        row.last_error = done.error
        row.consecutive_failures = (row.consecutive_failures or 0) + 1
        row.items_last_run = 0


def touch_source(session: Session, name: str, now: datetime) -> None:
    """An unchanged source (304 or same bytes): its events are still listed."""
    lock_source(session, name)
    listed = select(EventSource.event_id).where(EventSource.source == name, EventSource.active.is_(True))
    session.execute(update(Event).where(Event.id.in_(listed)).values(last_seen=now)
                    .execution_options(synchronize_session=False))
    session.execute(update(EventSource).where(EventSource.source == name, EventSource.active.is_(True))
                    .values(last_seen=now).execution_options(synchronize_session=False))
