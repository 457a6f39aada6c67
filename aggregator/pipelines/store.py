from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aggregator import context
from aggregator.db import session_scope
from aggregator.items import Batch, EventItem, GroupItem, SourceDone
from aggregator.store import MatchIndex, SourceWriter, StoreResult, record_health, touch_source

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    done: SourceDone
    events: list[EventItem]
    groups: list[GroupItem]


@dataclass
class _Stored:
    """A source written (in a savepoint) and waiting for its group's commit."""

    done: SourceDone
    result: StoreResult | None
    not_modified: bool


class StorePipeline:
    """Buffers each source's items and writes them whole when the source is done.

    A crawl killed half-way leaves whole sources only. On SQLite, sources stored within half a
    second of each other (up to GROUP of them) share one commit: a commit writes every page the
    transaction touched to the WAL, and consecutive sources touch the same index pages, so
    committing them one by one cost more than storing them. Their stats, log lines and progress
    are reported once committed. A database error while storing one of them spoils the group's
    transaction: it is rolled back and each of its sources is stored again in a transaction of
    its own, so the error fails that one source only. On PostgreSQL and under `collect --queue` every source
    is committed on its own, and the worker that stores a source then marks it complete in the
    shared run (aggregator.queue).
    """

    GROUP = 25
    GROUP_SECONDS = 0.5

    def __init__(self, run: context.RunContext, crawler) -> None:  # type: ignore[no-untyped-def]
        self.run = run
        self.stats = crawler.stats
        self.crawler = crawler
        self.events: dict[str, list[EventItem]] = {}
        self.groups: dict[str, list[GroupItem]] = {}
        self.index = MatchIndex()
        self.session: Session | None = None        # the open group transaction
        self.pending: list[tuple[_Job, _Stored | None]] = []
        self.opened = 0.0
        self.timer: Any = None

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

    @property
    def grouped(self) -> bool:
        return self.run.engine.dialect.name == "sqlite" and getattr(self.crawler, "eventscout_queue", None) is None

    def flush(self, done: SourceDone) -> None:
        events = self.events.pop(done.source, [])
        groups = self.groups.pop(done.source, [])
        if done.ok and not done.not_modified and not events and not groups:
            done.ok = False
            done.error = done.error or "no events found"
        job = _Job(done, events, groups)
        if not self.grouped:
            self._report(self._alone(job))
            return
        if self.session is None:
            self.session = Session(self.run.engine, expire_on_commit=False)
            self.session.begin()
            self.opened = time.monotonic()
        try:
            stored = self._store(self.session, job)
        except SQLAlchemyError:
            # the group's transaction is spoilt: every source in it is stored again on its own
            self.pending.append((job, None))
            self._replay()
            return
        self.pending.append((job, stored))
        if len(self.pending) >= self.GROUP or time.monotonic() - self.opened >= self.GROUP_SECONDS:
            self.commit()
        elif self.timer is None:
            from twisted.internet import reactor

            self.timer = reactor.callLater(self.GROUP_SECONDS, self.commit)  # type: ignore[attr-defined,arg-type]

    def _store(self, session: Session, job: _Job) -> _Stored:
        """Write one source in `session`'s transaction (SQLAlchemyError propagates)."""
        done = job.done
        cfg = self.run.config.source(done.source)
        now = self.run.now
        result = None
        if done.ok and done.not_modified:
            touch_source(session, done.source, now)
        elif done.ok:
            done.items = len(job.events)
            writer = SourceWriter(session, done.source, cfg.type if cfg else "?", now, self.index)
            result = writer.store(job.events, job.groups, done)
        record_health(session, done.source, cfg.type if cfg else "?", cfg.url if cfg else "", done, now)
        if result is not None:
            # the next sources of the group match against these events: they are in its transaction
            self.index.publish(writer.published)
        return _Stored(done, result, done.ok and done.not_modified)

    def _alone(self, job: _Job) -> _Stored:
        """One source in its own transaction; a database error fails it (and is recorded)."""
        try:
            with session_scope(self.run.engine) as session:
                return self._store(session, job)
        except SQLAlchemyError as exc:
            self.index.reset()
            done = job.done
            done.ok = False
            done.error = f"database error while storing: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
            logger.error("%s: %s", done.source, done.error)
            cfg = self.run.config.source(done.source)
            try:
                with session_scope(self.run.engine) as session:
                    record_health(session, done.source, cfg.type if cfg else "?", cfg.url if cfg else "", done,
                                  self.run.now)
            except SQLAlchemyError:
                pass
            return _Stored(done, None, False)

    def _replay(self) -> None:
        """Roll the group back and store each of its sources on its own, then report them."""
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        session, pending = self.session, self.pending
        self.session, self.pending = None, []
        if session is not None:
            session.rollback()
            session.close()
        self.index.reset()
        for job, _ in pending:
            self._report(self._alone(job))

    def commit(self) -> None:
        """Commit the open group and report its sources."""
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        session = self.session
        if session is None:
            return
        try:
            session.commit()
        except SQLAlchemyError as exc:
            logger.error("a group of %d sources could not be committed (%s); storing them one by one",
                         len(self.pending), str(getattr(exc, "orig", exc)).splitlines()[0])
            self._replay()
            return
        pending = self.pending
        self.session, self.pending = None, []
        session.close()
        for _, stored in pending:
            assert stored is not None
            self._report(stored)

    def _report(self, stored: _Stored) -> None:
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
        for name in list(set(self.events) | set(self.groups)):
            self.flush(SourceDone(source=name, ok=False, error="the crawl ended before the source was done"))
        self.commit()
