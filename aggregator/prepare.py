"""Turning one fetched document into stored-ready items, in the crawl process or in parse workers.

`prepare_document` runs a source type's parser, then normalises and classifies what it found:
pure work on bytes, with no database and no network, so it can run in another process. A
collect run starts a `ParsePool` of worker processes (one per core by default) and the spider
sends each document there: on a two-core machine the parsing of one document overlaps with
the crawl process fetching the next and storing the last.

The workers are forked before the crawl starts any thread (before Scrapy is imported, even), with
the run's industry taxonomy; each imports the parsers when its first document comes, so that a
run whose sources all answer 304 imports none. A worker that dies (a parser crash, the kernel's OOM
killer) is replaced (from a fork server then: the crawl has threads by that time) and its
document is tried once more; a document that kills two workers fails its source.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aggregator import textdates
from aggregator.classify import goals_for, industries_for, kinds_for
from aggregator.config_types import Industry, SourceConfig
from aggregator.items import EventItem, GroupItem
from aggregator.pipelines.normalize import normalize_event, normalize_group
from aggregator.store import precompute

logger = logging.getLogger(__name__)

# modules a parse worker needs: imported by each worker, or once by the fork server
PRELOAD = ["aggregator.prepare", "spiders.feed", "spiders.ical", "spiders.page", "spiders.html",
           "spiders.jsondata", "spiders.csvdata"]


def classify_event(item: EventItem, taxonomy: Mapping[str, Industry]) -> EventItem:
    """Kinds, goals and industries from the event's words and its source's hints."""
    item.kinds = kinds_for(item.title, item.description, item.kind_text, item.kinds,
                           has_cfp=item.cfp_deadline is not None, online=bool(item.online),
                           hybrid=item.hybrid, group=item.group)
    item.goals = goals_for(item.kinds)
    item.industries = industries_for(item.title, item.description, item.tags, taxonomy, item.industries)
    return item


def classify_group(item: GroupItem, taxonomy: Mapping[str, Industry]) -> GroupItem:
    item.industries = industries_for(item.name, item.description, item.tags, taxonomy, item.industries)
    return item


@dataclass
class Prepared:
    """What one document gave: normalised and classified items, links to follow, warnings;
    `error` when the document could not be read at all."""

    events: list[EventItem] = field(default_factory=list)
    groups: list[GroupItem] = field(default_factory=list)
    follow: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    unusable: int = 0                 # events without a title or a readable start
    parsed: int = 0                   # events the parser yielded
    packed: bytes | None = None       # the events, pickled (then `events` is empty)
    kept: int = 0                     # how many events there are, packed or not

    def unpack(self) -> list[EventItem]:
        """The events, unpacked if need be."""
        if self.packed is not None:
            self.events, self.packed = pickle.loads(self.packed), None
        return self.events


def prepare_items(events: list[EventItem], groups: list[GroupItem], source: SourceConfig | None,
                  taxonomy: Mapping[str, Industry]) -> tuple[list[EventItem], list[GroupItem], int]:
    """Normalised, classified events and groups; the number of unusable events left out."""
    good: list[EventItem] = []
    for ev in events:
        out = normalize_event(ev, source)
        if out is not None:
            good.append(classify_event(out, taxonomy))
    kept_groups = [classify_group(g, taxonomy) for g in (normalize_group(g, source) for g in groups)
                   if g is not None]
    return good, kept_groups, len(events) - len(good)


def prepare_document(body: bytes, url: str, source: SourceConfig, ctx: Any,
                     taxonomy: Mapping[str, Industry] | None = None, max_events: int | None = None,
                     pack: bool = False) -> Prepared:
    """Parse `body` with its source type's parser, keep at most `max_events` events, then
    normalise and classify them (`taxonomy`: the run's industries; None in a parse worker,
    which was given them when it started). `pack`: pickle the events (see Prepared.packed)."""
    from spiders.base import SourceError, parser_for

    try:
        result = parser_for(source.type)(body, url, source, ctx)
    except SourceError as exc:
        return Prepared(error=str(exc) or "unreadable")
    events = result.events
    warnings = list(result.warnings)
    if max_events is not None and len(events) > max_events:
        events = events[:max(max_events, 0)]
        warnings.append(f"more than {ctx.max_items} events: the rest were left out")
    for ev in events:
        ev.source = source.name
    for g in result.groups:
        g.source = source.name
    events, groups, unusable = prepare_items(events, result.groups, source,
                                             taxonomy if taxonomy is not None else _TAXONOMY)
    for ev in events:
        ev.precomputed = precompute(ev, source.type)
    prepared = Prepared(events=events, groups=groups, follow=list(result.follow), warnings=warnings,
                        unusable=unusable, parsed=len(events) + unusable, kept=len(events))
    if pack and events:
        # one bytes object crosses to the crawl process, which hands it to the writer unread
        prepared.packed, prepared.events = pickle.dumps(events, pickle.HIGHEST_PROTOCOL), []
    return prepared


# ------------------------------------------------------------------ worker processes
_TAXONOMY: Mapping[str, Industry] = {}
_PARENT_ENDS: list[Any] = []        # the crawl process's ends of every worker's pipe
CRASHED = "the parser crashed on this document (its worker process died)"


def _worker_main(conn: Any, taxonomy: Mapping[str, Industry]) -> None:
    """A parse worker: prepare each document it receives, until its pipe closes."""
    global _TAXONOMY
    _TAXONOMY = taxonomy
    for end in _PARENT_ENDS:    # forked copies: the pipe must close when the crawl process ends
        end.close()
    # what the fork copied is never garbage (and its pages stay shared); this process allocates
    # fast, so the collector runs less often (see aggregator.collect.crawl_gc)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C stops the crawl, which stops us
    loaded = False
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        if not loaded:     # the parsers, on the first document: a run of 304s needs none
            _preload()
            gc.freeze()
            loaded = True
        try:
            result = prepare_document(*args)
        except Exception as exc:  # noqa: BLE001  (a parser bug fails its document, not the run)
            logger.exception("parser error")
            result = Prepared(error=f"the parser failed: {type(exc).__name__}: {exc}")
        try:
            conn.send(result)
        except (EOFError, OSError):
            return


def _preload() -> None:
    """Import the parsers ahead of use. One that cannot be imported is left to fail the
    documents of its own source type (prepare_document reports it), not the worker."""
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            logger.warning("parser module %s cannot be imported: %s", module, exc)
    textdates.warm_up()


def default_workers() -> int:
    """One parse worker per core the process may use; none on a single core (the crawl process
    would only share its one core with them)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:        # not on Linux
        cores = os.cpu_count() or 1
    return cores if cores > 1 else 0


@dataclass(eq=False)
class _Task:
    args: tuple[Any, ...]
    future: asyncio.Future[Prepared]
    attempts: int = 0


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Any
    task: _Task | None = None


class ParsePool:
    """Parse worker processes for one collect run (see the module docstring).

    Each worker has its own pipe, read by the crawl's event loop (no helper thread in the
    crawl process, so no thread takes the interpreter lock from it to move results around);
    a document goes to an idle worker, or waits for one.
    """

    def __init__(self, workers: int, taxonomy: Mapping[str, Industry]) -> None:
        self.taxonomy = taxonomy
        self.crashes = 0
        self.wanted = workers
        self._waiting: deque[_Task] = deque()
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []

    def start(self) -> None:
        """Start the workers (the crawl does it before it has threads; else the first document
        does, from a fork server)."""
        if self._workers:
            return
        self._workers = [self._spawn() for _ in range(self.wanted)]
        self._idle = list(self._workers)

    @property
    def size(self) -> int:
        return len(self._workers)

    def _spawn(self) -> _Worker:
        # fork while the crawl process has no other thread (as a crawl's first document finds
        # it); else a fork server (a copy of a threaded process may inherit a held lock)
        method = "fork" if threading.active_count() == 1 else "forkserver"
        ctx: Any = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(PRELOAD)
        logger.debug("starting a parse worker (%s)", method)
        parent, child = ctx.Pipe()
        _PARENT_ENDS.append(parent)    # closed in the worker: only the crawl process holds it
        process = ctx.Process(target=_worker_main, args=(child, self.taxonomy), daemon=True,
                              name="eventscout-parse")
        process.start()
        child.close()
        return _Worker(process, parent)

    async def prepare(self, body: bytes, url: str, source: SourceConfig, ctx: Any,
                      max_events: int | None, pack: bool = False) -> Prepared:
        """The document prepared by a worker (prepare_document)."""
        self.start()
        loop = asyncio.get_running_loop()
        task = _Task((body, url, source, ctx, None, max_events, pack), loop.create_future())
        self._waiting.append(task)
        self._dispatch(loop)
        return await task.future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._idle and self._waiting:
            worker, task = self._idle.pop(), self._waiting.popleft()
            worker.task = task
            try:
                worker.conn.send(task.args)
            except (OSError, ValueError):
                self._died(worker, loop)
                continue
            loop.add_reader(worker.conn.fileno(), self._on_result, worker, loop)

    def _on_result(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_reader(worker.conn.fileno())
        task, worker.task = worker.task, None
        try:
            result = worker.conn.recv()
        except (EOFError, OSError):
            worker.task = task
            self._died(worker, loop)
            return
        self._idle.append(worker)
        if task is not None and not task.future.done():
            task.future.set_result(result)
        self._dispatch(loop)

    def _died(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        """A worker died (a parser crash, the OOM killer): its document is tried once more by a
        new worker; a document that kills two fails its source."""
        self.crashes += 1
        worker.process.join(timeout=5)
        worker.conn.close()
        if worker.conn in _PARENT_ENDS:
            _PARENT_ENDS.remove(worker.conn)
        index = self._workers.index(worker)
        self._workers[index] = replacement = self._spawn()
        self._idle.append(replacement)
        task = worker.task
        if task is not None and not task.future.done():
            task.attempts += 1
            if task.attempts >= 2:
                task.future.set_result(Prepared(error=CRASHED))
            else:
                self._waiting.appendleft(task)
        logger.warning("a parse worker died (exit code %s); a new one took its place", worker.process.exitcode)
        self._dispatch(loop)

    def close(self) -> None:
        for worker in self._workers:
            worker.conn.close()
            if worker.conn in _PARENT_ENDS:
                _PARENT_ENDS.remove(worker.conn)
        for worker in self._workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=5)


__all__ = ["CRASHED", "ParsePool", "Prepared", "classify_event", "classify_group", "default_workers",
           "prepare_document", "prepare_items"]
