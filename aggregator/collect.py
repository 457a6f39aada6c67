"""Running one crawl of the configured sources (one crawl per process: Scrapy's reactor
cannot be restarted) and summarising it."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aggregator.items import SourceDone


@dataclass
class CollectSummary:
    sources_ok: int = 0
    sources_failed: int = 0
    not_modified: int = 0
    events_new: int = 0
    events_updated: int = 0
    events_cancelled: int = 0
    events_stored: int = 0
    documents_parsed: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    run: str | None = None          # --queue: the shared run this worker took part in
    note: str | None = None


    @property
    def line(self) -> str:
        if self.note:
            return self.note
        return (f"sources: {self.sources_ok} ok, {self.sources_failed} failed"
                f" ({self.not_modified} unchanged); events: {self.events_new} new,"
                f" {self.events_updated} updated, {self.events_cancelled} cancelled")


def crawl_settings(config_dir: str | None, db_url: str, now: datetime | None,
                   sources: list[str], queue: str | None = None, log_level: str = "ERROR",
                   run: Any = None) -> dict[str, Any]:
    """Scrapy settings for one crawl; with `queue` (a Redis URL) and `run`
    (aggregator.queue.RunInfo) the crawl takes part in that shared run."""
    from scrapy.utils.project import get_project_settings  # noqa: F401  (keeps scrapy.cfg working)

    import aggregator.settings as defaults

    values = {k: getattr(defaults, k) for k in dir(defaults) if k.isupper()}
    values.update({
        "EVENTSCOUT_CONFIG_DIR": str(config_dir) if config_dir else None,
        "EVENTSCOUT_NOW": now.isoformat() if now else None,
        "EVENTSCOUT_DB": db_url,
        "EVENTSCOUT_SOURCES": list(sources),
        "LOG_LEVEL": log_level,
        "LOG_ENABLED": log_level != "NONE",
        "LOG_INSTALL_ROOT_HANDLER": False,
        # Scrapy re-reads the callback's source for every response to warn about `return` in
        # generators (its cache misses on bound methods): 5-8 % of a big crawl's time
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        # the crawl is given its spider class: the default loader would import every module of
        # `spiders` (all the parsers, which only the parse workers need) to list spiders
        "SPIDER_LOADER_CLASS": "scrapy.spiderloader.DummySpiderLoader",
    })
    if queue:
        from aggregator.queue import Keys, join_run

        if run is None:
            run = join_run(queue, now, sources)
        keys = Keys(run.prefix, run.id)
        values.update({
            "SCHEDULER": "aggregator.queue.RunScheduler",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_QUEUE_KEY": keys.requests,
            "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
            "REDIS_URL": queue,
            "EVENTSCOUT_NOW": run.now.isoformat(),
            "EVENTSCOUT_RUN_ID": run.id,
            "EVENTSCOUT_QUEUE_PREFIX": run.prefix,
            "EVENTSCOUT_WORKER_ID": run.worker,
            "EVENTSCOUT_SEEDER": run.seeder,
            "EVENTSCOUT_QUEUE_LEASE": run.lease,
        })
    return values


def parse_workers(config_value: int | None = None) -> int:
    """How many parse worker processes a collect run starts: EVENTSCOUT_PARSE_WORKERS, else
    [crawl] parse_workers, else one per core (none on one core)."""
    import os

    from aggregator.prepare import default_workers

    env = os.environ.get("EVENTSCOUT_PARSE_WORKERS", "").strip()
    if env:
        try:
            return max(0, int(env))
        except ValueError:
            raise ValueError(f"EVENTSCOUT_PARSE_WORKERS={env!r}: not a whole number") from None
    return default_workers() if config_value is None else max(0, config_value)


@contextmanager
def crawl_gc() -> Iterator[None]:
    """Garbage collection tuned for a crawl: what is loaded by now (modules, configuration) is
    never garbage, and the crawl allocates fast, so the collector runs less often (~10% of the
    crawl process's CPU went to it). The caller's settings come back afterwards (`run` goes on
    to the digests). Nested, the inner one freezes what was loaded since."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _helpers(config_dir: str | None, db_url: str, now: datetime | None,
             sources: list[str]) -> tuple[Any, Any]:
    """The run's parse workers (aggregator.prepare) and writer process (aggregator.writer), or
    None for either: none with one source or on one core, where they would cost more than they
    save; no writer process but on SQLite. Both are forked now, before the crawl has threads and
    before Scrapy is imported: they import what they need on the other core meanwhile."""
    import threading

    from aggregator import context
    from aggregator.prepare import ParsePool

    run = context.for_run(config_dir, now, db_url)
    chosen = [s for s in run.config.sources if (s.name in sources if sources else s.enabled)]
    workers = parse_workers(run.config.settings.parse_workers)
    if workers < 1 or len(chosen) < 2 or threading.active_count() > 1:
        return None, None
    writer = None
    if run.engine.dialect.name == "sqlite":
        from aggregator.writer import WriterProcess

        writer = WriterProcess(run.config, run.now, run.db_url)
    pool = ParsePool(min(workers, len(chosen)), run.config.industries)
    pool.start()
    return pool, writer


def run_collect(config_dir: str | None, db_url: str, now: datetime | None, sources: list[str],
                *, queue: str | None = None, on_source: Callable[[SourceDone], None] | None = None,
                log_level: str = "ERROR") -> CollectSummary:
    from contextlib import nullcontext

    run = None
    beat: Any = nullcontext()
    if queue:
        from aggregator.queue import Heartbeat, join_run

        run = join_run(queue, now, sources)
        if run.complete:
            return CollectSummary(run=run.id, note=f"run {run.id} is already complete: nothing to do")
        beat = Heartbeat(run)
    pool, writer = (None, None) if queue else _helpers(config_dir, db_url, now, sources)
    try:
        from scrapy.crawler import CrawlerProcess
        from scrapy.settings import Settings

        from spiders.sources import SourceSpider

        settings = Settings()
        settings.setdict(crawl_settings(config_dir, db_url, now, sources, queue, log_level, run=run),
                         priority="project")
        with beat:
            process = CrawlerProcess(settings)
            # Scrapy has just set its logger to DEBUG: every response would make log records
            # for the handlers to throw away
            logging.getLogger("scrapy").setLevel(logging.CRITICAL if log_level == "NONE" else log_level)
            crawler = process.create_crawler(SourceSpider)
            crawler.eventscout_progress = on_source  # type: ignore[attr-defined]
            crawler.eventscout_pool = pool  # type: ignore[attr-defined]
            crawler.eventscout_writer = writer  # type: ignore[attr-defined]
            process.crawl(crawler)
            with crawl_gc():
                process.start()
    finally:
        if pool is not None:
            pool.close()
        if writer is not None and writer.process.is_alive():    # the crawl failed before closing it
            writer.close()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return CollectSummary(
        run=run.id if run else None,
        sources_ok=stats.get("eventscout/sources_ok", 0),
        sources_failed=stats.get("eventscout/sources_failed", 0),
        not_modified=stats.get("eventscout/sources_not_modified", 0),
        events_new=stats.get("eventscout/events_new", 0),
        events_updated=stats.get("eventscout/events_updated", 0),
        events_cancelled=stats.get("eventscout/events_cancelled", 0),
        events_stored=stats.get("eventscout/events_stored", 0),
        documents_parsed=stats.get("eventscout/documents_parsed", 0),
        failed=dict(stats.get("eventscout/failed") or {}),
        stats={k: v for k, v in stats.items() if isinstance(v, int | float | str)},
    )
