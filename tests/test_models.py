"""Models and migrations round-trip on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import NOW, sample_items, store_items
from sqlalchemy import select

from aggregator import db
from aggregator.models import Event, EventChange, EventSource, Feedback, Group, SentDigest, Source


def test_migrations_reach_head_and_are_idempotent(db_url: str) -> None:
    engine = db.open_database(db_url)
    assert db.current_revision(engine) == db.head_revision(), "first use must apply every migration"
    before, after = db.upgrade(engine)
    assert before == after == db.head_revision(), "a second upgrade must change nothing"
    engine.dispose()


def test_every_model_round_trips(db_url: str) -> None:
    engine = db.open_database(db_url)
    start = datetime(2027, 3, 1, 17, 30, tzinfo=UTC)
    with db.session_scope(engine) as s:
        s.add(Source(name="s1", type="ical", url="https://example.org/c.ics", ok=False,
                     last_error="HTTP 500 Internal Server Error", consecutive_failures=2,
                     last_attempt=NOW, items_last_run=0, etag='"abc"'))
        ev = Event(id="e1", title="Grünes Treffen — 🌱", start_utc=start, end_utc=start + timedelta(hours=2),
                   timezone="Europe/Berlin", all_day=False, kinds=["meetup"], goals=["support"],
                   industries=["energy"], tags=["climate"], urls=["https://example.org/e1"],
                   price=0.0, currency="EUR", cfp_deadline="2027-02-14", first_seen=NOW, last_seen=NOW)
        ev.links = [EventSource(source="s1", key="uid:e1", url="https://example.org/e1", uid="e1",
                                snapshot={"title": "x", "start_utc": start.isoformat()},
                                changed_at=NOW, first_seen=NOW, last_seen=NOW)]
        ev.changes = [EventChange(field="start_utc", old=(start - timedelta(days=1)).isoformat(),
                                  new=start.isoformat(), seen=NOW, source="s1")]
        s.add(ev)
        s.add(Group(id="g1", name="Climate Builders", first_seen=NOW, last_seen=NOW, industries=["energy"]))
        s.add(Feedback(profile="ana", event_id="e1", signal="like", created=NOW))
        s.add(SentDigest(profile="ana", week="2027-W09", sent_at=NOW, items={"e1": "hash"}))
    engine.dispose()
    engine = db.open_database(db_url)
    with db.session_scope(engine) as s:
        ev = s.get(Event, "e1")
        assert ev is not None
        assert ev.title == "Grünes Treffen — 🌱"
        assert ev.start_utc == start and ev.start_utc.tzinfo is not None, "instants come back aware, in UTC"
        assert ev.kinds == ["meetup"] and ev.urls == ["https://example.org/e1"]
        assert [c.field for c in ev.changes] == ["start_utc"]
        assert ev.links[0].snapshot["title"] == "x"
        src = s.get(Source, "s1")
        assert src is not None and src.consecutive_failures == 2 and src.etag == '"abc"'
        assert s.scalar(select(SentDigest.items)) == {"e1": "hash"}
        assert s.scalar(select(Feedback.signal)) == "like"
        assert s.get(Group, "g1").industries == ["energy"]  # type: ignore[union-attr]
    engine.dispose()


def test_store_writes_normalised_events(db_url: str) -> None:
    store_items(db_url, sample_items())
    engine = db.open_database(db_url)
    with db.session_scope(engine) as s:
        events = {e.title: e for e in s.scalars(select(Event))}
        assert set(events) == {"PyData Berlin Meetup: Data Engineering with Python", "Fintech Career Fair Berlin",
                               "Online: Security Webinar on Cloud IAM", "DataConf Europe 2027"}
        meetup = events["PyData Berlin Meetup: Data Engineering with Python"]
        assert meetup.start_utc == datetime(2027, 2, 3, 17, 30, tzinfo=UTC), "18:30 Berlin is 17:30 UTC in winter"
        assert meetup.url == "https://example.org/pydata/feb", "tracking parameters are removed"
        assert meetup.price == 0 and meetup.description == "Talks on data engineering and mentoring."
        conf = events["DataConf Europe 2027"]
        assert conf.all_day and conf.country == "DE"
        assert conf.start_utc == datetime(2027, 4, 11, 22, 0, tzinfo=UTC), "all-day starts at local midnight"
        assert conf.end_utc == datetime(2027, 4, 14, 22, 0, tzinfo=UTC), "and ends the midnight after its last day"
        assert "call-for-speakers" in conf.kinds and "visibility" in conf.goals
        fair = events["Fintech Career Fair Berlin"]
        assert fair.kinds == ["career-fair"] and "fintech" in fair.industries and "finance" in fair.industries
        assert (fair.price, fair.currency) == (15.0, "EUR")
    engine.dispose()


def test_second_store_of_the_same_items_changes_nothing(sqlite_url: str) -> None:
    store_items(sqlite_url, sample_items())
    store_items(sqlite_url, sample_items(), now=NOW + timedelta(days=1))
    engine = db.open_database(sqlite_url)
    with db.session_scope(engine) as s:
        assert s.scalar(select(EventChange.id)) is None, "re-reading identical items records no change"
        assert len(list(s.scalars(select(Event)))) == 4
        assert all(e.first_seen == NOW and e.last_seen == NOW + timedelta(days=1) for e in s.scalars(select(Event)))
    engine.dispose()


def test_unusable_database_path_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(db.DatabaseError, match="cannot create the database folder"):
        db.open_database(f"sqlite:///{blocker / 'sub' / 'x.db'}")


def test_an_unchanged_source_only_refreshes_last_seen(db_url: str) -> None:
    from aggregator.store import touch_source

    store_items(db_url, sample_items())
    later = NOW + timedelta(days=7)
    engine = db.open_database(db_url)
    with db.session_scope(engine) as s:
        touch_source(s, "berlin-py", later)
    with db.session_scope(engine) as s:
        events = list(s.scalars(select(Event)))
        assert events and all(e.last_seen == later and e.first_seen == NOW for e in events)
        assert all(lk.last_seen == later for lk in s.scalars(select(EventSource)))
        assert s.scalar(select(EventChange.id)) is None, "a 304 records no change"
    engine.dispose()
