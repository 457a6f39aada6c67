from __future__ import annotations

import logging
from typing import Any

from aggregator import context
from aggregator.items import Batch, EventItem, GroupItem, SourceDone
from aggregator.writer import Job, SourceStore, Stored

logger = logging.getLogger(__name__)


class StorePipeline:
    """Buffers each source's items and stores them whole when the source is done
    (aggregator.writer: in this process, or in the run's writer process when it has one).
    Each source is reported (stats, log line, progress) once it is committed; under
    `collect --queue` the worker that stored a source then marks it complete in the shared run
    (aggregator.queue)."""

    def __init__(self, run: context.RunContext, crawler) -> None:  # type: ignore[no-untyped-def]
        self.run = run
        self.stats = crawler.stats
        self.crawler = crawler
        self.events: dict[str, list[EventItem]] = {}
        self.groups: dict[str, list[GroupItem]] = {}
        self.packed: dict[str, list[bytes]] = {}
        self.writer = getattr(crawler, "eventscout_writer", None)
        if self.writer is not None:
            self.writer.on_stored = self._report
        grouped = run.engine.dialect.name == "sqlite" and getattr(crawler, "eventscout_queue", None) is None
        self.store = SourceStore(run.config, run.now, run.engine, grouped)
        self.timer: Any = None

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(context.from_settings(crawler.settings), crawler)

    def process_item(self, item):  # type: ignore[no-untyped-def]
        if isinstance(item, Batch):
            self.events.setdefault(item.source, []).extend(item.events)
            self.groups.setdefault(item.source, []).extend(item.groups)
            if item.packed is not None:
                self.packed.setdefault(item.source, []).append(item.packed)
        elif isinstance(item, EventItem):
            self.events.setdefault(item.source, []).append(item)
        elif isinstance(item, GroupItem):
            self.groups.setdefault(item.source, []).append(item)
        elif isinstance(item, SourceDone):
            self.flush(item)
        return item

    def flush(self, done: SourceDone) -> None:
        job = Job(done, self.events.pop(done.source, []), self.groups.pop(done.source, []),
                  self.packed.pop(done.source, []))
        if self.writer is not None:
            self.writer.send(job)
            return
        for stored in self.store.store(job):
            self._report(stored)
        wait = self.store.due()
        if wait is not None and self.timer is None:
            from twisted.internet import reactor

            self.timer = reactor.callLater(wait, self.commit)  # type: ignore[attr-defined,arg-type]

    def commit(self) -> None:
        """Commit the open group (its half second is up) and report its sources."""
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        for stored in self.store.commit():
            self._report(stored)

    def _report(self, stored: Stored) -> None:
        done, result, stats = stored.done, stored.result, self.stats
        if done.ok and stored.not_modified:
            stats.inc_value("eventscout/sources_not_modified")
        if result is not None:
            stats.inc_value("eventscout/events_new", result.new)
            stats.inc_value("eventscout/events_updated", result.updated)
            stats.inc_value("eventscout/events_cancelled", result.cancelled)
            stats.inc_value("eventscout/events_vanished", result.vanished)
            stats.inc_value("eventscout/events_stored", result.events)
            stats.inc_value("eventscout/groups_stored", result.groups)
            if result.duplicates:
                stats.inc_value("eventscout/duplicates_in_source", result.duplicates)
        if done.ok:
            stats.inc_value("eventscout/sources_ok")
            logger.info("source %s: ok, %d events", done.source, result.events if result else 0)
        else:
            stats.inc_value("eventscout/sources_failed")
            failed = stats.get_value("eventscout/failed") or {}
            failed[done.source] = done.error
            stats.set_value("eventscout/failed", failed)
            logger.info("source %s: failed: %s", done.source, done.error)
        shared = getattr(self.crawler, "eventscout_queue", None)
        if shared is not None and shared.complete(done.source):
            logger.info("the shared run is complete")
        progress = getattr(self.crawler, "eventscout_progress", None)
        if progress is not None:
            progress(done)

    def close_spider(self) -> None:
        for name in list(set(self.events) | set(self.groups) | set(self.packed)):
            self.flush(SourceDone(source=name, ok=False, error="the crawl ended before the source was done"))
        if self.writer is not None:
            for stored in self.writer.close():
                self._report(stored)
        self.commit()
