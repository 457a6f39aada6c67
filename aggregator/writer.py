"""Writing finished sources to the database: in the crawl process, or in a writer process.

`SourceStore` holds the logic. On SQLite (one writer at a time anyway) sources stored within half
a second of each other, up to GROUP of them, share one commit: a commit writes every page the
transaction touched to the WAL, and consecutive sources touch the same index pages, so
committing them one by one cost more than storing them. A database error while storing one of
them spoils the group's transaction: it is rolled back and each of its sources is stored again
in a transaction of its own, so the error fails that source only. A crawl killed half-way leaves
whole sources only. On PostgreSQL and under `collect --queue` each source is committed alone.

`WriterProcess` runs a SourceStore in a process of its own, forked with the crawl, so that storing
one source (matching, merging, SQL) overlaps with the crawl process fetching and dispatching the
next documents instead of taking turns with it on one core. The crawl process sends each finished
source (its SourceDone, events and groups) down a pipe and gets back, once they are committed,
what it reports: the SourceDone as stored and the counts.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import pickle
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aggregator.config_types import Config
from aggregator.db import session_scope
from aggregator.dedup import DUPLICATE, REPEAT, key_in_source
from aggregator.items import EventItem, GroupItem, SourceDone
from aggregator.store import MatchIndex, SourceWriter, StoreResult, record_health, touch_source

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """A finished source to store."""

    done: SourceDone
    events: list[EventItem]
    groups: list[GroupItem]
    packed: list[bytes] = field(default_factory=list)   # more events, as parse workers pickled them
    duplicates: int = 0                                  # events listed twice (see unpack)

    def unpack(self) -> None:
        """Unpack the packed events and give every event its key in the source
        (aggregator.dedup.key_in_source), in the order they arrived, leaving repeats out and
        counting duplicates. Keyed events are kept as they are: a second call changes nothing."""
        kept = [ev for ev in self.events if ev.key]
        seen: dict[str, object] = {ev.key: ev.start_utc for ev in kept if ev.key}
        arrived = [ev for ev in self.events if not ev.key]
        for blob in self.packed:
            arrived.extend(pickle.loads(blob))
        for ev in arrived:
            key = key_in_source(ev, seen)
            if key == DUPLICATE:
                self.duplicates += 1
            if key not in (DUPLICATE, REPEAT):
                ev.key = key
                kept.append(ev)
        self.events, self.packed = kept, []


@dataclass
class Stored:
    """A source stored (and committed): what the crawl reports of it."""

    done: SourceDone
    result: StoreResult | None
    not_modified: bool


class SourceStore:
    GROUP = 25
    GROUP_SECONDS = 0.5

    def __init__(self, config: Config, now: Any, engine: Engine, grouped: bool) -> None:
        self.config, self.now, self.engine, self.grouped = config, now, engine, grouped
        self.index = MatchIndex()
        self.session: Session | None = None          # the open group's transaction
        self.pending: list[tuple[Job, Stored | None]] = []
        self.opened = 0.0

    def due(self) -> float | None:
        """Seconds until the open group must be committed; None when there is none."""
        if self.session is None:
            return None
        return max(0.0, self.opened + self.GROUP_SECONDS - time.monotonic())

    def store(self, job: Job) -> list[Stored]:
        """Store one finished source; what is committed by now (to report)."""
        done = job.done
        job.unpack()
        if done.ok and not done.not_modified and not job.events and not job.groups:
            done.ok = False
            done.error = done.error or "no events found"
        if not self.grouped:
            return [self.alone(job)]
        if self.session is None:
            self.session = Session(self.engine, expire_on_commit=False)
            self.session.begin()
            self.opened = time.monotonic()
        try:
            stored = self._store(self.session, job)
        except Exception:  # noqa: BLE001  (a database error or a bug: either fails one source)
            # the group's transaction is spoilt: every source in it is stored again on its own
            self.pending.append((job, None))
            return self._replay()
        self.pending.append((job, stored))
        if len(self.pending) >= self.GROUP or self.due() == 0:
            return self.commit()
        return []

    def _store(self, session: Session, job: Job) -> Stored:
        """Write one source in `session`'s transaction (an error propagates)."""
        done = job.done
        cfg = self.config.source(done.source)
        type_, url = (cfg.type, cfg.url) if cfg else ("?", "")
        result = None
        if done.ok and done.not_modified:
            touch_source(session, done.source, self.now)
        elif done.ok:
            done.items = len(job.events)
            writer = SourceWriter(session, done.source, type_, self.now, self.index)
            result = writer.store(job.events, job.groups, done)
            result.duplicates = job.duplicates
        record_health(session, done.source, type_, url, done, self.now)
        if result is not None:
            # the next sources of the group match against these events: they are in its transaction
            self.index.publish(writer.published)
        return Stored(done, result, done.ok and done.not_modified)

    def alone(self, job: Job) -> Stored:
        """One source in its own transaction; a database error fails it (and is recorded)."""
        try:
            with session_scope(self.engine) as session:
                return self._store(session, job)
        except Exception as exc:  # noqa: BLE001  (a bug in storing one source must not stop the others)
            self.index.reset()
            done = job.done
            done.ok = False
            if isinstance(exc, SQLAlchemyError):
                done.error = f"database error while storing: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
                logger.error("%s: %s", done.source, done.error)
            else:
                first = str(exc).splitlines()[0] if str(exc) else ""
                done.error = f"could not be stored: {type(exc).__name__}: {first}"
                logger.exception("%s: %s", done.source, done.error)
            cfg = self.config.source(done.source)
            try:
                with session_scope(self.engine) as session:
                    record_health(session, done.source, cfg.type if cfg else "?", cfg.url if cfg else "", done,
                                  self.now)
            except SQLAlchemyError:
                pass
            return Stored(done, None, False)

    def _replay(self) -> list[Stored]:
        """Roll the group back and store each of its sources on its own."""
        session, pending = self.session, self.pending
        self.session, self.pending = None, []
        if session is not None:
            session.rollback()
            session.close()
        self.index.reset()
        return [self.alone(job) for job, _ in pending]

    def commit(self) -> list[Stored]:
        """Commit the open group; its sources, to report."""
        session = self.session
        if session is None:
            return []
        try:
            session.commit()
        except SQLAlchemyError as exc:
            logger.error("a group of %d sources could not be committed (%s); storing them one by one",
                         len(self.pending), str(getattr(exc, "orig", exc)).splitlines()[0])
            return self._replay()
        pending = self.pending
        self.session, self.pending = None, []
        session.close()
        return [stored for _, stored in pending if stored is not None]


# ------------------------------------------------------------------ the writer process
def _writer_main(conn: Any, config: Config, now: Any, db_url: str) -> None:
    """The writer process: store the sources it receives until it is told to close."""
    import signal

    from aggregator.db import open_database

    # what the fork copied is never garbage (and its pages stay shared); this process allocates
    # fast, so the collector runs less often (see aggregator.collect.crawl_gc)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C stops the crawl, which closes us
    engine = open_database(db_url)    # its own: a connection must not cross a fork
    store = SourceStore(config, now, engine, grouped=True)
    while True:
        wait = store.due()
        if wait is not None and not conn.poll(wait):
            conn.send(("stored", store.commit()))
            continue
        try:
            message = conn.recv()
        except (EOFError, OSError):    # the crawl process died: what is not committed is lost
            return
        if message[0] == "store":
            stored = store.store(message[1])
            if stored:
                conn.send(("stored", stored))
        else:    # "close"
            conn.send(("closed", store.commit()))
            engine.dispose()
            return


class WriterProcess:
    """A SourceStore in a child process (see the module docstring)."""

    def __init__(self, config: Config, now: Any, db_url: str) -> None:
        ctx: Any = multiprocessing.get_context("fork")
        assert threading.active_count() == 1, "the writer is forked before the crawl starts its threads"
        self.conn, child = ctx.Pipe()
        from aggregator.prepare import _PARENT_ENDS

        _PARENT_ENDS.append(self.conn)     # parse workers forked later close their copy
        self.process = ctx.Process(target=_writer_main, args=(child, config, now, db_url), daemon=True,
                                   name="eventscout-writer")
        self.process.start()
        child.close()
        self.on_stored: Any = None
        self._reading = False
        self.unreported: dict[str, SourceDone] = {}

    def send(self, job: Job) -> None:
        self.unreported[job.done.source] = job.done
        try:
            self.conn.send(("store", job))
        except (OSError, ValueError):
            return      # the writer died: close() reports the source as not stored
        if not self._reading:
            import asyncio

            loop = asyncio.get_running_loop()
            loop.add_reader(self.conn.fileno(), self._read)
            self._reading = True

    def _read(self) -> None:
        try:
            kind, stored = self.conn.recv()
        except (EOFError, OSError):
            self._stop_reading()
            return
        for one in stored:
            self.unreported.pop(one.done.source, None)
            self.on_stored(one)

    def _stop_reading(self) -> None:
        if self._reading:
            import asyncio

            try:
                asyncio.get_running_loop().remove_reader(self.conn.fileno())
            except (RuntimeError, ValueError, OSError):
                pass
            self._reading = False

    def close(self) -> list[Stored]:
        """Commit what is pending and stop; the sources stored since the last report."""
        self._stop_reading()
        out: list[Stored] = []
        try:
            self.conn.send(("close",))
            while True:
                kind, stored = self.conn.recv()
                out.extend(stored)
                if kind == "closed":
                    break
        except (EOFError, OSError, ValueError):
            logger.error("the writer process died: the sources it had not committed were not stored")
        self.process.join(timeout=30)
        self.conn.close()
        for one in out:
            self.unreported.pop(one.done.source, None)
        for done in self.unreported.values():
            done.ok, done.error = False, "not stored: the writer process died"
            out.append(Stored(done, None, False))
        self.unreported.clear()
        return out
