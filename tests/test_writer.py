"""The writer process (aggregator.writer.WriterProcess): it stores what the crawl sends and reports
it once committed; when it dies, the sources it had not committed are reported as not stored
and the crawl does not hang."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from aggregator.config import default_industries
from aggregator.config_types import Config, Settings, SourceConfig
from aggregator.db import open_database
from aggregator.items import EventItem, SourceDone
from aggregator.models import Event
from aggregator.prepare import prepare_items
from aggregator.writer import Job, Stored, WriterProcess

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _config() -> Config:
    return Config(directory=None, settings=Settings(), profiles=[], industries=default_industries(),
                  sources=[SourceConfig(name=n, type="feed", url=f"https://example.org/{n}.xml") for n in "ab"])


def _job(source: str, day: int) -> Job:
    raw = [EventItem(source=source, title=f"{source} talk {i}", start=NOW + timedelta(days=day, hours=i),
                     city="Berlin", country="DE", url=f"https://example.org/{source}/{i}") for i in range(4)]
    events, _, _ = prepare_items(raw, [], None, default_industries())
    return Job(SourceDone(source=source), events, [])


def _send_all(writer: WriterProcess, jobs: list[Job], got: list[Stored]) -> None:
    async def go() -> None:
        for job in jobs:
            writer.send(job)
        await asyncio.sleep(0.1)
    writer.on_stored = got.append
    asyncio.run(go())


def test_the_writer_stores_and_reports_what_it_is_sent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'w.db'}"
    open_database(url).dispose()
    writer = WriterProcess(_config(), NOW, url)
    got: list[Stored] = []
    _send_all(writer, [_job("a", 2), _job("b", 3)], got)
    got.extend(writer.close())
    assert sorted((s.done.source, s.done.ok, s.result.new if s.result else None) for s in got) == [
        ("a", True, 4), ("b", True, 4)]
    assert not writer.process.is_alive()
    engine = open_database(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Event)) == 8
    engine.dispose()


def test_a_dead_writer_fails_the_sources_it_had_not_stored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'dead.db'}"
    open_database(url).dispose()
    writer = WriterProcess(_config(), NOW, url)
    os.kill(writer.process.pid, signal.SIGKILL)
    writer.process.join(timeout=10)
    got: list[Stored] = []
    _send_all(writer, [_job("a", 2)], got)
    got.extend(writer.close())
    assert [(s.done.source, s.done.ok, s.done.error) for s in got] == [
        ("a", False, "not stored: the writer process died")]


def test_a_source_listing_an_event_twice_stores_it_once() -> None:
    """Job.unpack keys events in their source: the same page and start twice is one event (counted
    as a duplicate); one page for two starts (a listing linking every item to its programme) is two."""
    import pickle

    job = _job("a", 2)
    first, second = job.events[0], job.events[1]
    again = dataclasses.replace(first)
    same_page = dataclasses.replace(second, url=first.url, urls=list(first.urls))
    job.packed = [pickle.dumps([again, same_page])]
    job.unpack()
    assert len(job.events) == 5 and job.duplicates == 1
    keys = [ev.key for ev in job.events]
    assert len(set(keys)) == 5 and all(keys)
    assert f"url:{first.url}@{second.start_utc:%Y-%m-%dT%H:%M}" in keys
    job.unpack()
    assert len(job.events) == 5 and job.duplicates == 1, "a second unpack changes nothing"
