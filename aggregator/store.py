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

import bisect
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Table, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from aggregator import constants as C
from aggregator.dedup import WINDOW, Place, place_of, same_event, same_places
from aggregator.items import EventItem, GroupItem, SourceDone
from aggregator.models import Event, EventChange, EventSource, Group, Source, UTCDateTime
from aggregator.normalize import iso, slugify, stable_id

_WINDOW_S = WINDOW.total_seconds()
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
    duplicates: int = 0          # events a source listed twice (left out)
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


@dataclass
class Precomputed:
    """What storing an item as a new event takes that depends on the item alone: its snapshot
    (also as JSON), the record merged from that one snapshot, and the record's hash. A parse
    worker computes it (aggregator.prepare), so the crawl process, which stores one source at a
    time, does not."""

    type: str
    snapshot: dict[str, Any]
    snapshot_json: str
    merged: dict[str, Any]
    digest: str


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def precompute(item: EventItem, source_type: str) -> Precomputed:
    snap = snapshot(item, source_type)
    merged = merge([_Link(event_id="", source="", key="", url=None, uid=None, active=True, snapshot=snap,
                          changed_at=_EPOCH, first_seen=_EPOCH, last_seen=_EPOCH)])
    merged["cfp_deadline_utc"] = _cfp_utc(merged["cfp_deadline"], merged["timezone"])
    return Precomputed(source_type, snap, json.dumps(snap), merged, _hash(merged))


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


def merge(links: list[_Link]) -> dict[str, Any]:
    """The record from every active source's snapshot: the richest value of each field."""
    active = [lk for lk in links if lk.active] or list(links)
    by_type = sorted(active, key=lambda lk: (TYPE_RANK.get(lk.snapshot.get("type") or "", 9), lk.first_seen,
                                             lk.order))
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


_EVENTS: Table = Event.__table__  # type: ignore[assignment]
_LINKS: Table = EventSource.__table__  # type: ignore[assignment]
_CHANGES: Table = EventChange.__table__  # type: ignore[assignment]
_GROUPS: Table = Group.__table__  # type: ignore[assignment]
# the light rows of the events starting in [lo, hi): one statement, compiled once
_CANDIDATES = (
    select(_EVENTS.c.id, _EVENTS.c.title, _EVENTS.c.start_utc, _EVENTS.c.end_utc, _EVENTS.c.all_day,
           _EVENTS.c.city, _EVENTS.c.country, _EVENTS.c.online)
    .where(_EVENTS.c.start_utc >= bindparam("lo", type_=_EVENTS.c.start_utc.type),
           _EVENTS.c.start_utc < bindparam("hi", type_=_EVENTS.c.start_utc.type))
    .order_by(_EVENTS.c.start_utc))
_EVENT_COLUMNS = [c.name for c in _EVENTS.columns]
_LINK_COLUMNS = ("id", "event_id", "source", "key", "url", "uid", "active", "snapshot", "changed_at",
                 "first_seen", "last_seen")
# what a new event row holds before its first merge (the columns' Python-side defaults)
_EVENT_DEFAULTS: dict[str, Any] = {name: None for name in _EVENT_COLUMNS} | {
    "urls": [], "kinds": [], "goals": [], "industries": [], "tags": [], "timezone": "UTC",
    "all_day": False, "online": False, "hybrid": False, "status": C.SCHEDULED}
_UPDATE_EVENT = (update(_EVENTS).where(_EVENTS.c.id == bindparam("_id"))
                 .values({name: bindparam(name) for name in _EVENT_COLUMNS if name != "id"}))
_UPDATE_LINK = (update(_LINKS).where(_LINKS.c.id == bindparam("_id"))
                .values({name: bindparam(name) for name in ("url", "uid", "active", "snapshot", "changed_at",
                                                             "last_seen")}))


@dataclass(eq=False)
class _Link:
    """One source's listing of one event (an event_sources row) while a batch is stored."""

    event_id: str
    source: str
    key: str
    url: str | None
    uid: str | None
    active: bool
    snapshot: dict[str, Any]
    changed_at: datetime
    first_seen: datetime
    last_seen: datetime
    id: int | None = None          # None until inserted
    order: int = 0                 # the row's id, or after every stored row for a new one
    dirty: bool = False
    pre: Precomputed | None = None   # its item's, while the snapshot is that item's


@dataclass(eq=False)
class _Event:
    """An event row (column name -> value) with its links, while a batch is stored."""

    id: str
    row: dict[str, Any]
    links: list[_Link]
    is_new: bool = False           # created by this batch (inserted, not updated)
    merged_once: bool = False      # a new event's first merge has happened
    dirty: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Candidate:
    """A stored event `_find` compares an item with: its id and the fields same_event reads."""

    id: str
    fields: dict[str, Any]
    ts: float = 0.0       # fields["start_utc"] as a POSIX timestamp
    place: Place = (False, "", None)

    def __post_init__(self) -> None:
        start = self.fields["start_utc"]
        self.ts = start.timestamp() if start is not None else 0.0
        self.place = place_of(self.fields)


@dataclass
class _Plan:
    item: EventItem
    event_id: str
    link: _Link | None


class MatchIndex:
    """The light rows of stored events by start hour, kept from one source to the next in a run.

    Reading them again for every source costs more than all the rest of storing it once the
    database holds thousands of events at nearby hours. A run may keep them while it is the
    only writer: on SQLite, `PRAGMA data_version` changes on a connection when another
    connection commits, so the index is dropped whenever it changed (or another connection is
    used). A writer that fails must call `reset`; one that commits calls `publish` with the
    rows it wrote. On PostgreSQL (several `collect --queue` workers) nothing is kept.
    """

    def __init__(self) -> None:
        self.buckets: dict[int, list[_Candidate]] = {}
        self.where: dict[str, int] = {}        # event id -> its hour bucket
        self.loaded: set[int] = set()          # hours read from the database
        self.stamp: tuple[int, int] | None = None

    def reset(self) -> None:
        self.buckets.clear()
        self.where.clear()
        self.loaded.clear()
        self.stamp = None

    def usable(self, session: Session) -> bool:
        """Whether the index may stand in for the database in this transaction (dropping
        what it holds when another connection wrote since)."""
        if is_postgresql(session):
            return False
        dbapi = session.connection().connection.dbapi_connection
        version = session.execute(text("PRAGMA data_version")).scalar_one()
        stamp = (id(dbapi), int(version))
        if stamp != self.stamp:
            self.reset()
            self.stamp = stamp
        return True

    def put(self, cand: _Candidate) -> None:
        old = self.where.pop(cand.id, None)
        if old is not None:
            self.buckets[old] = [c for c in self.buckets.get(old, ()) if c.id != cand.id]
        start = cand.fields["start_utc"]
        if start is not None:
            hour = int(start.timestamp() // 3600)
            bisect.insort(self.buckets.setdefault(hour, []), cand, key=_start_of)   # in start order
            self.where[cand.id] = hour

    def publish(self, rows: list[_Candidate]) -> None:
        """The light rows of the events a committed batch wrote."""
        for cand in rows:
            self.put(cand)


class SourceWriter:
    """Stores one source's batch inside the caller's transaction.

    Reads and writes go through SQLAlchemy Core: a handful of set-wise SELECTs before the batch
    (the source's own listings, events sharing a UID or URL, the light rows of events at nearby
    hours, then the full rows and listings of the events the batch touches) and one executemany
    per table after it. No ORM object is made per item: a 40-event source costs about ten
    statements, not a flush of eighty objects.
    """

    def __init__(self, session: Session, source_name: str, source_type: str, now: datetime,
                 index: MatchIndex | None = None):
        self.session = session
        self.index = index
        self.published: list[_Candidate] = []   # for index.publish once the batch is committed
        self.source = source_name
        self.type = source_type
        self.now = now
        self.result = StoreResult()
        self.taken_ids: set[str] = set()
        self.listed_here: set[str] = set()   # events this source lists (never matched twice)
        self._next_order = 1 << 62

    # ------------------------------------------------------------ reading
    @property
    def conn(self) -> Connection:
        """The transaction's connection: Core statements skip the ORM session's per-statement work."""
        return self.session.connection()

    def _link(self, row: Any) -> _Link:
        return _Link(event_id=row.event_id, source=row.source, key=row.key, url=row.url, uid=row.uid,
                     active=bool(row.active), snapshot=row.snapshot or {}, changed_at=row.changed_at,
                     first_seen=row.first_seen, last_seen=row.last_seen, id=row.id, order=row.id)

    def _own_links(self) -> dict[str, _Link]:
        rows = self.conn.execute(select(*(_LINKS.c[n] for n in _LINK_COLUMNS))
                                    .where(_LINKS.c.source == self.source))
        return {row.key: self._link(row) for row in rows}

    def _listed_by(self, column: Any, values: list[str]) -> dict[str, str]:
        """'value#occurrence' -> event id, for the listings whose `column` is one of `values`."""
        out: dict[str, str] = {}
        for chunk in _chunks(sorted(set(values)), 500):
            rows = self.conn.execute(select(column, _LINKS.c.event_id, _LINKS.c.snapshot)
                                        .where(column.in_(chunk)).order_by(_LINKS.c.id))
            for value, event_id, snap in rows:
                out[f"{value}#{(snap or {}).get('recurrence_id') or ''}"] = event_id
        return out

    def _existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(ids)), 500):
            found.update(self.conn.scalars(select(_EVENTS.c.id).where(_EVENTS.c.id.in_(chunk))))
        return found

    def _load(self, ids: set[str], own: dict[str, _Link]) -> dict[str, _Event]:
        """Full rows and every listing of the stored events `ids`; this source's listings are
        the very objects of `own`."""
        events: dict[str, _Event] = {}
        own_by_id = {lk.id: lk for lk in own.values()}
        for chunk in _chunks(sorted(ids), 500):
            for row in self.conn.execute(select(_EVENTS).where(_EVENTS.c.id.in_(chunk))):
                events[row.id] = _Event(id=row.id, row=dict(row._mapping), links=[])
            rows = self.conn.execute(select(*(_LINKS.c[n] for n in _LINK_COLUMNS))
                                        .where(_LINKS.c.event_id.in_(chunk)).order_by(_LINKS.c.id))
            for row in rows:
                if row.event_id in events:
                    events[row.event_id].links.append(own_by_id.get(row.id) or self._link(row))
        return events

    def _candidates(self, items: list[EventItem]) -> dict[int, list[_Candidate]]:
        """The stored events `_find` may compare the items with, by start hour: those starting
        in the hour buckets it looks at (the item's hour +-1, +-40 for all-day items), as light
        rows (the full record is loaded only for a match). Loading only these, not every event
        between the batch's first and last start, keeps a source's cost independent of the
        database's size; the run's MatchIndex, when it may be used, saves reading them again."""
        hours: set[int] = set()
        for i in items:
            if i.start_utc is not None:
                hour = int(i.start_utc.timestamp() // 3600)
                hours.update(range(hour - 40, hour + 41) if i.all_day else range(hour - 1, hour + 2))
        index = self.index if self.index is not None and self.index.usable(self.session) else None
        missing = sorted(hours - index.loaded) if index is not None else sorted(hours)
        spans: list[list[int]] = []
        for h in missing:
            if spans and h == spans[-1][1]:
                spans[-1][1] = h + 1
            else:
                spans.append([h, h + 1])
        rows: list[_Candidate] = []
        for lo, hi in spans:
            for row in self.conn.execute(_CANDIDATES, {"lo": _hour_start(lo), "hi": _hour_start(hi)}):
                rows.append(_Candidate(row.id, {
                    "title": row.title, "start_utc": row.start_utc, "end_utc": row.end_utc,
                    "all_day": row.all_day, "city": row.city, "country": row.country,
                    "online": row.online}))
        if index is None:
            buckets: dict[int, list[_Candidate]] = {}
            for cand in rows:
                buckets.setdefault(int(cand.fields["start_utc"].timestamp() // 3600), []).append(cand)
            return buckets
        for cand in rows:
            if cand.id not in index.where:
                index.put(cand)
        index.loaded.update(missing)
        # a copy: the events this batch creates join it, the index only once they are committed
        return {h: list(index.buckets[h]) for h in hours if index.buckets.get(h)}

    # ------------------------------------------------------------ matching
    def _find(self, item: EventItem, own: dict[str, _Link], by_uid: dict[str, str], by_url: dict[str, str],
              buckets: dict[int, list[_Candidate]]) -> tuple[str | None, _Link | None]:
        link = own.get(item.key or "")
        if link is not None:
            return link.event_id, link
        occ = item.recurrence_id or ""
        if item.uid and f"{item.uid}#{occ}" in by_uid:
            return by_uid[f"{item.uid}#{occ}"], None
        for url in item.urls:
            eid = by_url.get(f"{url}#{occ}")
            if eid is not None:
                return eid, None
        assert item.start_utc is not None
        probe = _light(item)
        where = place_of(probe)
        ts = item.start_utc.timestamp()
        hour = int(ts // 3600)
        span = range(hour - 40, hour + 41) if item.all_day else range(hour - 1, hour + 2)
        listed = self.listed_here
        for h in span:
            for cand in buckets.get(h, ()):
                if cand.id in listed:
                    continue   # one source never lists one event twice
                # what same_event checks first, without its call: most candidates at the same
                # hour are at another time or in another place
                if not item.all_day and not cand.fields["all_day"] and abs(cand.ts - ts) > _WINDOW_S:
                    continue
                if not same_places(where, cand.place):
                    continue
                if same_event(probe, cand.fields):
                    return cand.id, None
        return None, None

    # ------------------------------------------------------------ writing
    def store(self, items: list[EventItem], groups: list[GroupItem], done: SourceDone) -> StoreResult:
        s = self.session
        # the source's lock first, then the global one (always in this order: no deadlock)
        lock_source(s, self.source)
        lock_matching(s)
        own = self._own_links()
        self.listed_here = {lk.event_id for lk in own.values() if lk.active}
        uids = [i.uid for i in items if i.uid]
        urls = [u for i in items for u in i.urls]
        by_uid = self._listed_by(_LINKS.c.uid, uids) if uids else {}
        by_url = self._listed_by(_LINKS.c.url, urls) if urls else {}
        global_ids = [stable_id(i.key) for i in items if i.key and i.key.startswith(("uid:", "url:"))]
        self.taken_ids.update(self._existing_ids(global_ids))
        checked = set(global_ids)
        buckets = self._candidates(items)

        # 1. which event each item is (ids only; events new in this batch join the candidates)
        plans: list[_Plan] = []
        created: dict[str, EventItem] = {}
        seen_keys: set[str] = set()
        for item in items:
            assert item.key is not None and item.start_utc is not None
            seen_keys.add(item.key)
            eid, link = self._find(item, own, by_uid, by_url, buckets)
            if eid is None:
                eid = self._event_id(item)
                created[eid] = item
                buckets.setdefault(int(item.start_utc.timestamp() // 3600), []).append(
                    _Candidate(eid, _light(item)))
            plans.append(_Plan(item, eid, link))
            self.listed_here.add(eid)
            if item.uid:
                by_uid[f"{item.uid}#{item.recurrence_id or ''}"] = eid
            for u in item.urls:
                by_url[f"{u}#{item.recurrence_id or ''}"] = eid

        # 2. the full rows of the stored events it touches (an id made here that another
        # writer already stored is that event, as INSERT ... ON CONFLICT would have it)
        vanishing = [lk for key, lk in own.items() if key not in seen_keys and lk.active]
        # (ids made from a UID or URL were looked up above: only the others need it)
        existing = self._existing_ids([eid for eid in created if eid not in checked])
        touched = {p.event_id for p in plans if p.event_id not in created or p.event_id in existing}
        events = self._load(touched | {lk.event_id for lk in vanishing}, own)
        for eid, item in created.items():
            if eid not in events:
                events[eid] = _Event(eid, dict(_EVENT_DEFAULTS, id=eid, title=item.title,
                                               start_utc=item.start_utc, first_seen=self.now,
                                               last_seen=self.now), [], is_new=True)

        # 3. the listings, then the merged records
        for plan in plans:
            item, event = plan.item, events[plan.event_id]
            pre = item.precomputed if isinstance(item.precomputed, Precomputed) and \
                item.precomputed.type == self.type else None
            snap = pre.snapshot if pre is not None else snapshot(item, self.type)
            record = False
            link = plan.link
            if link is None:
                link = _Link(event_id=event.id, source=self.source, key=item.key or "", url=item.url,
                             uid=item.uid, active=True, snapshot=snap, changed_at=self.now,
                             first_seen=self.now, last_seen=self.now, order=self._order(), dirty=True,
                             pre=pre)
                event.links.append(link)
                own[link.key] = link
            else:
                old = link.snapshot
                if any(old.get(f) != snap.get(f) for f in TRACKED):
                    link.changed_at = self.now
                    record = True
                link.snapshot = snap
                link.url, link.uid, link.active, link.last_seen = item.url, item.uid, True, self.now
                link.dirty = True
                link.pre = pre
            is_new = event.is_new and not event.merged_once
            event.merged_once = True
            self._apply(event, is_new, item.source, record=record)
        self._vanish(vanishing, events)
        self._write(events, own)
        self.published = [_Candidate(ev.id, {f: ev.row.get(f) for f in _LIGHT}) for ev in events.values()]
        for g in groups:
            self._store_group(g)
        self.result.events = len(items)
        self.result.groups = len(groups)
        return self.result

    def _order(self) -> int:
        self._next_order += 1
        return self._next_order

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

    def _apply(self, event: _Event, is_new: bool, source: str, *, record: bool = True) -> None:
        """Re-merge the event from its sources; changes are recorded when `record` (a source
        that already listed it now says something else), not when a new source joins."""
        row = event.row
        only = event.links[0] if len(event.links) == 1 else None
        if only is not None and only.pre is not None and only.snapshot is only.pre.snapshot:
            merged, digest = dict(only.pre.merged), only.pre.digest
        else:
            merged = merge(event.links)
            merged["cfp_deadline_utc"] = _cfp_utc(merged["cfp_deadline"], merged["timezone"])
            digest = _hash(merged)
        before = {f: row.get(f) for f in TRACKED} if not is_new else {}
        row["last_seen"] = self.now
        event.dirty = True
        if not is_new and row.get("content_hash") == digest:
            self.result.unchanged += 1
            return
        if row.get("status_reason") == C.VANISHED and merged["status"] != C.CANCELLED:
            row["status_reason"] = None
        for name, value in merged.items():
            if name == "previous_start_utc" and value is None:
                continue
            row[name] = value
        row["content_hash"] = digest
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
                event.changes.append({"event_id": event.id, "field": f, "old": _fmt(old), "new": _fmt(new),
                                      "seen": self.now, "source": source})
                if f == "start_utc" and old is not None:
                    row["previous_start_utc"] = old
                if f == "status" and new == C.CANCELLED:
                    self.result.cancelled += 1
        if changed:
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def _vanish(self, vanishing: list[_Link], events: dict[str, _Event]) -> None:
        for link in vanishing:
            link.active = False
            link.dirty = True
            event = events[link.event_id]
            if any(lk.active for lk in event.links):
                self._apply(event, False, self.source)
                continue
            row = event.row
            start = row.get("start_utc")
            if start is not None and start > self.now and row.get("status") != C.CANCELLED:
                event.changes.append({"event_id": event.id, "field": "status", "old": row.get("status"),
                                      "new": C.CANCELLED, "seen": self.now, "source": self.source})
                row["status"] = C.CANCELLED
                row["status_reason"] = C.VANISHED
                event.dirty = True
                self.result.vanished += 1
                self.result.cancelled += 1

    def _write(self, events: dict[str, _Event], own: dict[str, _Link]) -> None:
        """Everything the batch changed, one executemany per table and kind of statement."""
        s = self.conn
        new_rows = [ev.row for ev in events.values() if ev.is_new]
        changed_rows = [{**{k: v for k, v in ev.row.items() if k != "id"}, "_id": ev.id}
                        for ev in events.values() if ev.dirty and not ev.is_new]
        pg = is_postgresql(self.session)
        if new_rows:
            if pg:
                s.execute(pg_insert(_EVENTS).on_conflict_do_nothing(index_elements=[_EVENTS.c.id]), new_rows)
            else:
                _sqlite_insert(s, _EVENTS, new_rows)
        if changed_rows:
            s.execute(_UPDATE_EVENT, changed_rows)
        new_links = [{n: getattr(lk, n) for n in _LINK_COLUMNS if n != "id"}
                     for lk in own.values() if lk.id is None]
        changed_links = [{"_id": lk.id, "url": lk.url, "uid": lk.uid, "active": lk.active, "snapshot": lk.snapshot,
                          "changed_at": lk.changed_at, "last_seen": lk.last_seen}
                         for lk in own.values() if lk.id is not None and lk.dirty]
        if new_links and pg:
            s.execute(_LINKS.insert(), new_links)
        elif new_links:
            json_of = {id(lk.snapshot): lk.pre.snapshot_json for lk in own.values()
                       if lk.id is None and lk.pre is not None and lk.snapshot is lk.pre.snapshot}
            _sqlite_insert(s, _LINKS, new_links, json_of)
        if changed_links:
            s.execute(_UPDATE_LINK, changed_links)
        changes = [c for ev in events.values() for c in ev.changes]
        if changes:
            s.execute(_CHANGES.insert(), changes)

    def _store_group(self, g: GroupItem) -> None:
        gid = stable_id("group", g.url or slugify(g.name))
        found = self.conn.execute(select(_GROUPS).where(_GROUPS.c.id == gid)).first()
        row: dict[str, Any] = dict(found._mapping) if found else {
            "id": gid, "url": None, "description": None, "city": None, "country": None,
            "industries": [], "tags": [], "sources": [], "first_seen": self.now}
        row.update(
            name=g.name, url=g.url or row["url"], description=g.description or row["description"],
            city=g.city or row["city"], country=g.country or row["country"],
            industries=list(dict.fromkeys([*(row["industries"] or []), *g.industries])),
            tags=list(dict.fromkeys([*(row["tags"] or []), *g.tags])),
            sources=list(dict.fromkeys([*(row["sources"] or []), g.source])), last_seen=self.now)
        if found is None:
            self.conn.execute(_GROUPS.insert(), [row])
        else:
            self.conn.execute(update(_GROUPS).where(_GROUPS.c.id == gid)
                                 .values({k: v for k, v in row.items() if k != "id"}))


def _start_of(cand: _Candidate) -> datetime:
    return cand.fields["start_utc"]  # type: ignore[no-any-return]


def _stamp(v: datetime) -> str:
    # keyed by the UTC instant: two local times that differ only by `fold` are equal keys
    return _utc_stamp(v.astimezone(UTC))


@lru_cache(maxsize=4096)   # most stamps of a run are its `now` (first/last seen, changed at)
def _utc_stamp(v: datetime) -> str:
    return v.replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_value(column: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy's SQLite dialect stores a (not None) value of this column: JSON as text,
    datetimes as naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff', booleans as 0/1; None: as it is."""
    kind = column.type
    if isinstance(kind, JSON):
        return json.dumps
    if isinstance(kind, UTCDateTime):
        return _stamp
    if isinstance(kind, Boolean):
        return int
    return None


def _sqlite_insert(conn: Connection, table: Table, rows: list[dict[str, Any]],
                   json_of: dict[int, str] | None = None) -> None:
    """INSERT many rows on SQLite straight through the driver: SQLAlchemy's per-row parameter
    processing cost more than the insert itself (~50 us a row). `json_of`: JSON texts already
    made, by id() of the value. tests/test_store_index.py checks that rows read back the same."""
    names = list(rows[0])
    convert = [(i, f) for i, f in enumerate(_sqlite_value(table.c[n]) for n in names) if f is not None]
    json_of = json_of or {}
    values = []
    for row in rows:
        vals = [row[n] for n in names]
        for i, f in convert:
            v = vals[i]
            if v is not None:
                vals[i] = json_of.get(id(v)) or f(v)
        values.append(tuple(vals))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    conn.exec_driver_sql(sql, values)


_LIGHT = ("title", "start_utc", "end_utc", "all_day", "city", "country", "online")


def _light(item: EventItem) -> dict[str, Any]:
    """The fields same_event compares, of an item."""
    return {"title": item.title, "start_utc": item.start_utc, "end_utc": item.end_utc,
            "all_day": item.all_day, "city": item.city, "country": item.country, "online": item.online}


def _hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def _chunks(seq: list[Any], n: int) -> list[list[Any]]:
    return [seq[i:i + n] for i in range(0, len(seq), n)]


_SOURCES: Table = Source.__table__  # type: ignore[assignment]
_SOURCE_ROW = select(_SOURCES).where(_SOURCES.c.name == bindparam("name"))
_SOURCE_ROW_LOCKED = _SOURCE_ROW.with_for_update()
# every column but the name (a statement built once: building one per source cost ~0.5 ms)
_SOURCE_UPDATE = (update(_SOURCES).where(_SOURCES.c.name == bindparam("where_name"))
                  .values({c.name: bindparam(c.name, type_=c.type) for c in _SOURCES.c if c.name != "name"}))
# an unchanged source (304 or the same bytes): the events it lists are still listed
_TOUCH_EVENTS = (update(_EVENTS).values(last_seen=bindparam("now", type_=_EVENTS.c.last_seen.type))
                 .where(_EVENTS.c.id.in_(select(_LINKS.c.event_id).where(_LINKS.c.source == bindparam("name"),
                                                                          _LINKS.c.active.is_(True)))))
_TOUCH_LINKS = (update(_LINKS).values(last_seen=bindparam("now", type_=_LINKS.c.last_seen.type))
                .where(_LINKS.c.source == bindparam("name"), _LINKS.c.active.is_(True)))


def record_health(session: Session, name: str, type_: str, url: str, done: SourceDone, now: datetime) -> None:
    lock_source(session, name)
    conn = session.connection()
    if is_postgresql(session):
        # the row exists afterwards whoever created it; FOR UPDATE: no lost failure count
        conn.execute(pg_insert(_SOURCES).values(name=name, type=type_, url=url, consecutive_failures=0)
                     .on_conflict_do_nothing(index_elements=[_SOURCES.c.name]))
        found = conn.execute(_SOURCE_ROW_LOCKED, {"name": name}).first()
        assert found is not None
    else:
        found = conn.execute(_SOURCE_ROW, {"name": name}).first()
    row: dict[str, Any] = dict(found._mapping) if found is not None else {
        "name": name, "consecutive_failures": 0, "etag": None, "last_modified": None, "content_hash": None,
        "last_success": None, "items_last_run": None}
    row.update(type=type_, url=url, last_attempt=now)
    if done.ok:
        row.update(ok=True, last_success=now, last_error=None, consecutive_failures=0,
                   etag=done.etag or row["etag"], last_modified=done.last_modified or row["last_modified"],
                   content_hash=done.content_hash or row["content_hash"])
        if not done.not_modified:
            row["items_last_run"] = done.items
    else:
        row.update(ok=False, last_error=done.error, consecutive_failures=(row["consecutive_failures"] or 0) + 1,
                   items_last_run=0)
    if found is None:
        conn.execute(_SOURCES.insert(), [row])
    else:
        conn.execute(_SOURCE_UPDATE, {**{k: v for k, v in row.items() if k != "name"}, "where_name": name})


def touch_source(session: Session, name: str, now: datetime) -> None:
    """An unchanged source (304 or same bytes): its events are still listed."""
    lock_source(session, name)
    conn = session.connection()
    conn.execute(_TOUCH_EVENTS, {"name": name, "now": now})
    conn.execute(_TOUCH_LINKS, {"name": name, "now": now})
