"""The store's MatchIndex: what a run keeps between sources instead of reading it again must never
hide an event another writer stored in the meantime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from aggregator.config import default_industries
from aggregator.db import open_database, session_scope
from aggregator.dedup import source_key
from aggregator.items import EventItem, SourceDone
from aggregator.models import Event, EventSource
from aggregator.prepare import prepare_items
from aggregator.store import MatchIndex, SourceWriter

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
AT = NOW + timedelta(days=5, hours=9)


def _items(source: str, *titles: str) -> list[EventItem]:
    raw = [EventItem(source=source, title=t, start=AT, end=AT + timedelta(hours=2), city="Berlin", country="DE")
           for t in titles]
    events, _, _ = prepare_items(raw, [], None, default_industries())
    for ev in events:
        ev.key = source_key(ev)
    return events


def _store(engine, source: str, items: list[EventItem], index: MatchIndex | None) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        writer = SourceWriter(session, source, "html", NOW, index)
        writer.store(items, [], SourceDone(source=source, items=len(items)))
    if index is not None:
        index.publish(writer.published)


def test_an_event_another_writer_stored_is_matched_not_duplicated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'index.db'}"
    ours, theirs = open_database(url), open_database(url)
    assert ours is not theirs
    index = MatchIndex()
    _store(ours, "cloud-meetups", _items("cloud-meetups", "Cloud Native Berlin"), index)
    assert index.loaded, "the first source read the hours around its event into the index"
    # another process stores an event at the same hour the index has already read
    _store(theirs, "payments-guild", _items("payments-guild", "Payments Summit Berlin"), None)
    _store(ours, "fintech-calendar", _items("fintech-calendar", "Payments Summit Berlin"), index)
    with ours.connect() as conn:
        titles = sorted(conn.scalars(select(Event.title)))
        per_event = sorted(conn.scalars(select(func.count()).select_from(EventSource).group_by(EventSource.event_id)))
    assert titles == ["Cloud Native Berlin", "Payments Summit Berlin"], titles
    assert per_event == [1, 2], "the second listing of the summit joined the other writer's record"
    ours.dispose()
    theirs.dispose()


def test_the_index_holds_what_the_database_holds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(f"sqlite:///{tmp_path / 'same.db'}")
    index = MatchIndex()
    _store(engine, "a", _items("a", "Cloud Native Berlin", "Data Engineering Night"), index)
    _store(engine, "b", _items("b", "Cloud Native Berlin 2027", "Product Leaders Breakfast"), index)
    with engine.connect() as conn:
        stored = {r.id: (r.title, r.start_utc, r.city) for r in conn.execute(select(Event.id, Event.title,
                                                                                       Event.start_utc, Event.city))}
    kept = {c.id: (c.fields["title"], c.fields["start_utc"], c.fields["city"])
            for bucket in index.buckets.values() for c in bucket}
    assert kept == stored
    assert len(stored) == 3, "the 2027 listing matched the first one"
    engine.dispose()


def test_rows_inserted_through_the_driver_read_back_as_sqlalchemy_writes_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """aggregator.store._sqlite_insert stores values the way SQLAlchemy's SQLite dialect does."""
    from aggregator.store import _EVENTS, _LINKS, _sqlite_insert

    rows = [{c.name: None for c in _EVENTS.columns} | {
        "id": f"e{i}", "title": "Ünïcode & <b>", "urls": ["https://example.org/a", "b"], "kinds": [],
        "goals": ["visibility"], "industries": [], "tags": ["x"], "timezone": "Europe/Berlin", "all_day": i == 1,
        "online": True, "hybrid": False, "status": "scheduled", "price": 12.5, "latitude": 52.52,
        "start_utc": datetime(2027, 3, 6, 18, 30, 0, 123456 * i, tzinfo=UTC),
        "end_utc": datetime(2027, 3, 6, 21, tzinfo=UTC).astimezone(default_zone()),
        "first_seen": NOW, "last_seen": NOW} for i in range(2)]
    link = {"event_id": "e0", "source": "s", "key": "k", "url": None, "uid": "u", "active": False,
            "snapshot": {"title": "t", "n": [1, None]}, "changed_at": NOW, "first_seen": NOW, "last_seen": NOW}
    read = {}
    for how in ("core", "driver"):
        engine = open_database(f"sqlite:///{tmp_path / how}.db")
        with engine.begin() as conn:
            if how == "core":
                conn.execute(_EVENTS.insert(), rows)
                conn.execute(_LINKS.insert(), [link])
            else:
                _sqlite_insert(conn, _EVENTS, rows)
                _sqlite_insert(conn, _LINKS, [link], {id(link["snapshot"]): '{"title": "t", "n": [1, null]}'})
        with engine.connect() as conn:
            read[how] = ([dict(r._mapping) for r in conn.execute(select(_EVENTS).order_by(_EVENTS.c.id))],
                         [dict(r._mapping) for r in conn.execute(select(_LINKS))],
                         list(conn.exec_driver_sql("select start_utc, all_day, urls from events order by id")))
        engine.dispose()
    assert read["driver"] == read["core"]


def default_zone():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")


def test_sqlite_stamps_follow_the_instant_not_the_wall_clock() -> None:
    from zoneinfo import ZoneInfo

    from aggregator.store import _stamp

    new_york = ZoneInfo("America/New_York")
    first = datetime(2024, 11, 3, 1, 30, tzinfo=new_york)        # equal as keys, an hour apart
    second = datetime(2024, 11, 3, 1, 30, tzinfo=new_york, fold=1)
    assert _stamp(first) == "2024-11-03 05:30:00.000000"
    assert _stamp(second) == "2024-11-03 06:30:00.000000"
    assert _stamp(datetime(2024, 11, 3, 5, 30, tzinfo=UTC)) == _stamp(first)
