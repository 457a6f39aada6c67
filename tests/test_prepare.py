"""Parse workers (aggregator.prepare.ParsePool): the same results as parsing in the crawl process,
a crashing document fails alone, and no worker outlives its pool or its crawl process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator import prepare
from aggregator.config import default_industries
from aggregator.config_types import SourceConfig
from aggregator.prepare import CRASHED, ParsePool, prepare_document
from spiders.base import ParseContext

NOW = datetime(2027, 1, 31, 9, tzinfo=UTC)
FEED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel><title>t</title>
<item><title>Fintech Breakfast</title><link>https://example.org/e/1</link>
<ev:startdate>2027-02-10T08:00:00+01:00</ev:startdate><description>Payments &amp; banking</description></item>
<item><title>Data Night</title><link>https://example.org/e/2</link>
<ev:startdate>2027-02-11T19:00:00+01:00</ev:startdate></item>
</channel></rss>"""


def _source(name: str = "berlin-feed") -> SourceConfig:
    return SourceConfig(name=name, type="feed", url="https://example.org/feed", city="Berlin", country="DE")


def _ctx() -> ParseContext:
    return ParseContext(now=NOW, horizon_days=120)


def _run(pool: ParsePool, bodies: list[bytes]) -> list[prepare.Prepared]:
    async def go() -> list[prepare.Prepared]:
        return list(await asyncio.gather(*(pool.prepare(b, "https://example.org/feed", _source(), _ctx(), 5000)
                                           for b in bodies)))
    return asyncio.run(go())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited: only its parent has not read its status yet
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_workers_prepare_what_the_crawl_process_would() -> None:
    taxonomy = default_industries()
    inline = prepare_document(FEED, "https://example.org/feed", _source(), _ctx(), taxonomy, 5000)
    pool = ParsePool(2, taxonomy)
    try:
        results = _run(pool, [FEED] * 6)
    finally:
        pool.close()
    assert len(inline.events) == 2 and inline.error is None
    for got in results:
        assert got.error is None
        assert [(e.title, e.start_utc, e.kinds, e.goals, e.industries, e.city) for e in got.events] == [
            (e.title, e.start_utc, e.kinds, e.goals, e.industries, e.city) for e in inline.events]
    assert "fintech" in results[0].events[0].industries, "the workers classify with the run's taxonomy"


def test_an_unreadable_document_is_an_error_not_a_crash() -> None:
    body = b"\x00\x01binary"
    inline = prepare_document(body, "https://example.org/feed", _source(), _ctx(), default_industries(), 5000)
    pool = ParsePool(1, default_industries())
    try:
        bad, good = _run(pool, [body, FEED])
    finally:
        pool.close()
    assert inline.error, "the parser refuses binary data"
    assert bad.error == inline.error and not bad.events, "the worker reports the parser's one-line reason"
    assert len(good.events) == 2


def _crashing(body, *args, **kwargs):  # type: ignore[no-untyped-def]
    if body.startswith(b"CRASH"):
        os._exit(70)     # what a segfault in a parser's C code looks like from outside
    return _real_prepare(body, *args, **kwargs)


_real_prepare = prepare_document


def test_a_document_that_kills_its_worker_fails_alone_and_the_pool_goes_on(monkeypatch) -> None:
    # the workers are forked: they run the patched function
    monkeypatch.setattr(prepare, "prepare_document", _crashing)
    pool = ParsePool(2, default_industries())
    pool.start()
    pids = [w.process.pid for w in pool._workers]
    try:
        results = _run(pool, [FEED, b"CRASH me", FEED, FEED])
        after = _run(pool, [FEED, FEED])
    finally:
        pool.close()
    assert results[1].error == CRASHED, "a document that killed two workers fails with a clear reason"
    assert all(len(r.events) == 2 for i, r in enumerate(results) if i != 1), "the other documents were parsed"
    assert pool.crashes == 2, f"the document is tried once more, then given up: {pool.crashes} crashes"
    assert all(len(r.events) == 2 for r in after), "the replacement workers parse the next documents"
    assert not any(_alive(p) for p in pids if p is not None)


def test_a_parser_that_cannot_be_imported_fails_its_documents_not_the_workers(monkeypatch) -> None:
    # the workers import the parsers on their first document; one missing library must not
    # kill them (each would be replaced and die again)
    monkeypatch.setattr(prepare, "PRELOAD", [*prepare.PRELOAD, "spiders.no_such_parser"])
    pool = ParsePool(1, default_industries())
    try:
        results = _run(pool, [FEED, FEED])
    finally:
        pool.close()
    assert pool.crashes == 0
    assert all(r.error is None and len(r.events) == 2 for r in results)


def test_no_worker_starts_before_the_first_document() -> None:
    pool = ParsePool(2, default_industries())
    assert pool.size == 0, "the pool forks its workers when started or when the first document comes"
    _run(pool, [FEED])
    assert pool.size == 2
    pool.close()


def test_closing_the_pool_ends_every_worker_promptly() -> None:
    pool = ParsePool(2, default_industries())
    pool.start()
    pids = [w.process.pid for w in pool._workers]
    _run(pool, [FEED])
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 5, "workers see their pipe close and exit (no join timeout)"
    assert not any(_alive(p) for p in pids if p is not None)


CHILD = r"""
import sys, time
from aggregator.config import default_industries
from aggregator.prepare import ParsePool
pool = ParsePool(2, default_industries())
pool.start()
print(" ".join(str(w.process.pid) for w in pool._workers), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_workers_exit_when_the_crawl_process_is_killed() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "a parse worker outlived its killed crawl process"


def test_a_crawl_gives_the_garbage_collector_back_as_it_found_it() -> None:
    """`run` goes on to the digests in the process that crawled."""
    import gc

    from aggregator.collect import crawl_gc

    before = gc.get_threshold()
    with crawl_gc():
        assert gc.get_threshold() != before and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
