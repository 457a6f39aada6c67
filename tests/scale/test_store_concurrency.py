"""Concurrent writers on the real PostgreSQL server (several `collect --queue` workers store at
once): aggregator.store.SourceWriter and record_health from many threads at the same time."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from aggregator.classify import goals_for, kinds_for
from aggregator.db import open_database, session_scope
from aggregator.dedup import source_key
from aggregator.items import EventItem, SourceDone
from aggregator.models import Event, EventSource, Source
from aggregator.pipelines.normalize import normalize_event
from aggregator.store import SourceWriter, record_health

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
THREADS = 6


def make_items(n: int, source: str) -> list[EventItem]:
    out = []
    for i in range(n):
        start = NOW + timedelta(days=2, hours=5 * i)
        item = normalize_event(EventItem(
            source=source, title=f"Concurrency Clinic Session {i:03d}", start=start,
            end=start + timedelta(hours=2), url=f"https://events.example.org/clinic/{i}",
            city="Berlin", country="DE"), None)
        assert item is not None
        item.kinds = kinds_for(item.title, item.description, item.kind_text, item.kinds, has_cfp=False)
        item.goals = goals_for(item.kinds)
        item.key = source_key(item)
        out.append(item)
    return out


def run_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    """Start every job at the same instant in its own thread; the errors they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # noqa: BLE001  (collected and reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def store_job(engine, source: str, items: list[EventItem]) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    def job() -> None:
        batch = copy.deepcopy(items)
        done = SourceDone(source=source, ok=True, items=len(batch))
        with session_scope(engine) as session:
            SourceWriter(session, source, "page", NOW).store(batch, [], done)
            record_health(session, source, "page", "https://events.example.org/", done, NOW)
    return job


def counts(engine) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(Event))
        links = conn.scalar(select(func.count()).select_from(EventSource))
        sources = conn.scalar(select(func.count()).select_from(Source))
    return events, links, sources


def test_one_source_stored_by_several_workers_at_once_gives_one_record_per_event(scale_pg: str) -> None:
    engine = open_database(scale_pg)
    items = make_items(60, "clinic")
    # overlapping batches: worker k stores items 5k .. 5k+34 (the same page fetched twice, retries)
    batches = [items[5 * k:5 * k + 35] for k in range(THREADS)]
    errors = run_together([store_job(engine, "clinic", b) for b in batches])
    assert not errors, f"concurrent stores of one source failed: {errors[:3]}"
    distinct = {i.key for b in batches for i in b}
    events, links, sources = counts(engine)
    assert events == len(distinct), (f"{len(distinct)} distinct events were stored by {THREADS} workers "
                                     f"at once but the database holds {events} records")
    assert links == len(distinct), f"expected one source link per event, found {links} for {len(distinct)}"
    assert sources == 1, f"the source's health row exists {sources} times"
    engine.dispose()


def test_one_event_listed_by_several_sources_stored_at_once_is_merged(scale_pg: str) -> None:
    engine = open_database(scale_pg)
    names = [f"listing-{k}" for k in range(THREADS)]
    jobs = [store_job(engine, name, make_items(40, name)) for name in names]
    errors = run_together(jobs)
    assert not errors, f"concurrent stores of different sources failed: {errors[:3]}"
    events, links, sources = counts(engine)
    assert events == 40, (f"{THREADS} sources listing the same 40 events, stored at the same time, "
                          f"gave {events} event records instead of 40 (cross-source matching raced)")
    assert links == 40 * THREADS, f"expected {40 * THREADS} source links, found {links}"
    assert sources == THREADS
    with engine.connect() as conn:
        per_event = set(conn.scalars(select(func.count()).select_from(EventSource).group_by(EventSource.event_id)))
    assert per_event == {THREADS}, f"every event should be listed by all {THREADS} sources, got {per_event}"
    engine.dispose()


def test_failures_recorded_at_once_are_all_counted(scale_pg: str) -> None:
    engine = open_database(scale_pg)
    attempts = 8

    def fail() -> None:
        done = SourceDone(source="flaky", ok=False, error="timeout")
        with session_scope(engine) as session:
            record_health(session, "flaky", "feed", "https://flaky.example.org/feed", done, NOW)

    errors = run_together([fail] * attempts)
    assert not errors, f"concurrent health updates failed: {errors[:3]}"
    with session_scope(engine) as session:
        rows = list(session.scalars(select(Source)))
    assert len(rows) == 1, f"the health row of one source exists {len(rows)} times"
    assert rows[0].consecutive_failures == attempts, (
        f"{attempts} failures recorded at the same time, but consecutive_failures is "
        f"{rows[0].consecutive_failures}: updates were lost")
    engine.dispose()
