"""StorePipeline's group commits (SQLite): sources share a commit, a database error fails only
its own source, and nothing is visible before its group is committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from aggregator import store as store_module
from aggregator.config import default_industries
from aggregator.context import RunContext
from aggregator.dedup import source_key
from aggregator.items import Batch, EventItem, SourceDone
from aggregator.models import Event, Source
from aggregator.pipelines.store import StorePipeline
from aggregator.prepare import prepare_items

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


class _Crawler:
    def __init__(self) -> None:
        self.settings = Settings()
        self.stats = MemoryStatsCollector(self)   # type: ignore[arg-type]
        self.reported: list[str] = []
        self.eventscout_progress = lambda done: self.reported.append(done.source)


def _batch(source: str, n: int, day: int) -> Batch:
    raw = [EventItem(source=source, title=f"{source} session {i}", start=NOW + timedelta(days=day, hours=i),
                     city="Berlin", country="DE", url=f"https://example.org/{source}/{i}") for i in range(n)]
    events, _, _ = prepare_items(raw, [], None, default_industries())
    for ev in events:
        ev.key = source_key(ev)
    return Batch(source, events, [])


def _pipeline(tmp_path, config):  # type: ignore[no-untyped-def]
    run = RunContext(config=config, now=NOW, db_url=f"sqlite:///{tmp_path / 'group.db'}")
    crawler = _Crawler()
    return StorePipeline(run, crawler), crawler, run.engine


def _config():  # type: ignore[no-untyped-def]
    from aggregator.config_types import Config, SourceConfig
    from aggregator.config_types import Settings as EventscoutSettings

    return Config(directory=None, settings=EventscoutSettings(), profiles=[], industries=default_industries(),
                  sources=[SourceConfig(name=n, type="feed", url=f"https://example.org/{n}.xml")
                           for n in ("alpha", "bad", "gamma")])


def _count(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(Event))
        sources = conn.scalar(select(func.count()).select_from(Source))
    return events, sources


def test_sources_share_a_commit_and_are_reported_once_it_is_done(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pipe, crawler, engine = _pipeline(tmp_path, _config())
    for day, name in enumerate(("alpha", "gamma")):
        pipe.process_item(_batch(name, 3, day + 2))
        pipe.process_item(SourceDone(source=name))
    assert _count(engine) == (0, 0), "nothing is visible before the group is committed"
    assert crawler.reported == [], "progress is reported for committed sources only"
    pipe.close_spider()
    assert _count(engine) == (6, 2)
    assert crawler.reported == ["alpha", "gamma"]
    assert crawler.stats.get_value("eventscout/events_new") == 6


def test_a_database_error_fails_only_its_own_source(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = store_module.SourceWriter.store

    def store(self, items, groups, done):  # type: ignore[no-untyped-def]
        if self.source == "bad":
            real(self, items, groups, done)          # half of it written, then the database fails
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(self, items, groups, done)

    monkeypatch.setattr(store_module.SourceWriter, "store", store)
    pipe, crawler, engine = _pipeline(tmp_path, _config())
    for day, name in enumerate(("alpha", "bad", "gamma")):
        pipe.process_item(_batch(name, 3, day + 2))
        pipe.process_item(SourceDone(source=name))
    pipe.close_spider()
    with engine.connect() as conn:
        titles = sorted(conn.scalars(select(Event.title)))
        health = {r.name: (r.ok, r.last_error) for r in conn.execute(select(Source.name, Source.ok, Source.last_error))}
    assert titles == sorted([f"{n} session {i}" for n in ("alpha", "gamma") for i in range(3)]), \
        "the sources stored with the failing one in its group are kept, and none of its events"
    assert health["alpha"] == (True, None) and health["gamma"] == (True, None)
    assert health["bad"][0] is False and "disk I/O error" in health["bad"][1]
    assert crawler.stats.get_value("eventscout/failed") == {"bad": health["bad"][1]}
    assert sorted(crawler.reported) == ["alpha", "bad", "gamma"]
