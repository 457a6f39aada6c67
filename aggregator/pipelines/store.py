from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from aggregator import context
from aggregator.db import session_scope
from aggregator.items import Batch, EventItem, GroupItem, SourceDone
from aggregator.store import MatchIndex, SourceWriter, record_health, touch_source

logger = logging.getLogger(__name__)


class StorePipeline:
    """Buffers each source's items and writes them in one transaction when the source is done.

    A source that failed, or a crawl killed half-way, leaves nothing half-written: what was
    committed is whole sources only. Under `collect --queue` the worker that stores a source
    then marks it complete in the shared run (aggregator.queue).
    """

    def __init__(self, run: context.RunContext, crawler) -> None:  # type: ignore[no-untyped-def]
        self.run = run
        self.stats = crawler.stats
        self.crawler = crawler
        self.events: dict[str, list[EventItem]] = {}
        self.groups: dict[str, list[GroupItem]] = {}
        self.index = MatchIndex()

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(context.from_settings(crawler.settings), crawler)

    def process_item(self, item):  # type: ignore[no-untyped-def]
        if isinstance(item, Batch):
            self.events.setdefault(item.source, []).extend(item.events)
            self.groups.setdefault(item.source, []).extend(item.groups)
        elif isinstance(item, EventItem):
            self.events.setdefault(item.source, []).append(item)
        elif isinstance(item, GroupItem):
            self.groups.setdefault(item.source, []).append(item)
        elif isinstance(item, SourceDone):
            self.flush(item)
        return item

    def flush(self, done: SourceDone) -> None:
        events = self.events.pop(done.source, [])
        groups = self.groups.pop(done.source, [])
        cfg = self.run.config.source(done.source)
        type_ = cfg.type if cfg else "?"
        url = cfg.url if cfg else ""
        now = self.run.now
        if done.ok and not done.not_modified and not events and not groups:
            done.ok = False
            done.error = done.error or "no events found"
        stats = self.stats
        writer = None
        try:
            with session_scope(self.run.engine) as session:
                if done.ok and done.not_modified:
                    touch_source(session, done.source, now)
                    stats.inc_value("eventscout/sources_not_modified")
                elif done.ok:
                    done.items = len(events)
                    writer = SourceWriter(session, done.source, type_, now, self.index)
                    result = writer.store(events, groups, done)
                    stats.inc_value("eventscout/events_new", result.new)
                    stats.inc_value("eventscout/events_updated", result.updated)
                    stats.inc_value("eventscout/events_cancelled", result.cancelled)
                    stats.inc_value("eventscout/events_vanished", result.vanished)
                    stats.inc_value("eventscout/events_stored", result.events)
                    stats.inc_value("eventscout/groups_stored", result.groups)
                record_health(session, done.source, type_, url, done, now)
            if writer is not None:
                self.index.publish(writer.published)
        except SQLAlchemyError as exc:
            self.index.reset()
            done.ok = False
            done.error = f"database error while storing: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
            logger.error("%s: %s", done.source, done.error)
            with session_scope(self.run.engine) as session:
                record_health(session, done.source, type_, url, done, now)
        if done.ok:
            stats.inc_value("eventscout/sources_ok")
            logger.info("source %s: ok, %d events", done.source, len(events))
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
        for name in list(set(self.events) | set(self.groups)):
            self.flush(SourceDone(source=name, ok=False, error="the crawl ended before the source was done"))
