"""Distributed collection for real: a generated loopback site of 2,000 event pages (20 `page`
sources, each a listing with 100 links), three `eventscout collect --queue` worker processes,
the real Redis and PostgreSQL servers. Every event is stored once and every page is fetched
once; with one worker killed half-way (SIGKILL) the others finish the run with the same result,
only the requests the dead worker had in flight being fetched a second time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from bigsite import NOW, build_site, write_config
from helpers import ROOT
from sitesrv import SiteServer
from sqlalchemy import create_engine, func, select

from aggregator.models import Event, EventSource, Source

pytestmark = [pytest.mark.slow, pytest.mark.services]

SOURCES, PER_SOURCE, WORKERS, CONCURRENCY = 20, 100, 3, 16
EVENTS = SOURCES * PER_SOURCE
LEASE_S = 3   # a killed worker's requests are taken back after this


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("bigsite") / "site"
    return root, build_site(root, SOURCES, PER_SOURCE)


def start_workers(cfg: Path, db: str, queue: tuple[str, str]) -> list[subprocess.Popen[str]]:
    url, prefix = queue
    env = {**os.environ, "EVENTSCOUT_QUEUE_PREFIX": prefix, "EVENTSCOUT_QUEUE_LEASE": str(LEASE_S)}
    return [subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(cfg), "--db", db,
                              "--now", NOW.isoformat(), "collect", "--queue", url, "--format", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            for _ in range(WORKERS)]


def finish(worker: subprocess.Popen[str]) -> dict:  # type: ignore[type-arg]
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, f"a worker exited with {worker.returncode}:\n{err[-3000:]}"
    return json.loads(out)


def page_fetches(server: SiteServer) -> Counter[str]:
    return Counter(line.split()[1] for line in server.requests()
                   if line.startswith("GET ") and not line.split()[1].startswith("/robots.txt"))


def check_database(db: str) -> None:
    engine = create_engine(db)
    with engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(Event))
        titles = conn.scalar(select(func.count(func.distinct(Event.title))))
        links = conn.scalar(select(func.count()).select_from(EventSource))
        health = conn.execute(select(Source.name, Source.ok, Source.items_last_run,
                                     Source.consecutive_failures)).all()
    engine.dispose()
    assert events == EVENTS, f"the site has {EVENTS} events but the database holds {events} records"
    assert titles == EVENTS, f"{EVENTS} events were stored but only {titles} distinct titles: some twice"
    assert links == EVENTS, f"expected one source link per event ({EVENTS}), found {links}"
    assert len(health) == SOURCES, f"expected the health of {SOURCES} sources, found {len(health)}"
    bad = [h for h in health if not h.ok or h.items_last_run != PER_SOURCE or h.consecutive_failures]
    assert not bad, f"sources not recorded as read whole ({PER_SOURCE} items, ok): {bad[:5]}"


def test_three_workers_share_one_crawl(site: tuple[Path, list[str]], scale_pg: str,
                                       redis_queue: tuple[str, str], tmp_path: Path) -> None:
    root, pages = site
    server = SiteServer(root, log=tmp_path / "access.log").start()
    try:
        cfg = write_config(tmp_path / "config", server.origin, SOURCES, CONCURRENCY)
        summaries = [finish(w) for w in start_workers(cfg, scale_pg, redis_queue)]
    finally:
        server.stop()
    fetched = page_fetches(server)
    missing = sorted(set(pages) - set(fetched))
    twice = sorted(p for p, n in fetched.items() if n > 1)
    assert not missing, f"{len(missing)} pages were never fetched, e.g. {missing[:3]}"
    assert not twice, f"{len(twice)} pages were fetched more than once, e.g. {twice[:3]}"
    assert len(fetched) == len(pages), f"unexpected pages fetched: {sorted(set(fetched) - set(pages))[:3]}"
    check_database(scale_pg)
    # each source stored (and its health recorded) by exactly one worker
    assert sum(s["sources_ok"] for s in summaries) == SOURCES, (
        f"the workers together stored {[s['sources_ok'] for s in summaries]} sources, not {SOURCES} once each")
    assert sum(s["events_new"] for s in summaries) == EVENTS
    assert len({s["run"] for s in summaries}) == 1, f"the workers took part in different runs: {summaries}"
    busy = [s for s in summaries if s["documents_parsed"]]
    assert len(busy) >= 2, (f"only {len(busy)} of {WORKERS} workers parsed pages "
                            f"({[s['documents_parsed'] for s in summaries]}): the queue was not shared")


def test_a_worker_killed_half_way_loses_nothing(site: tuple[Path, list[str]], scale_pg: str,
                                                 redis_queue: tuple[str, str], tmp_path: Path) -> None:
    import redis

    root, pages = site
    server = SiteServer(root, log=tmp_path / "access.log").start()
    try:
        cfg = write_config(tmp_path / "config", server.origin, SOURCES, CONCURRENCY)
        workers = start_workers(cfg, scale_pg, redis_queue)
        deadline = time.monotonic() + 90
        while sum(page_fetches(server).values()) < len(pages) // 2:
            assert time.monotonic() < deadline, "the workers did not fetch half the site in 90 s"
            assert all(w.poll() is None for w in workers), "a worker ended before half the site was fetched"
            time.sleep(0.1)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        fetched_at_kill = sum(page_fetches(server).values())
        summaries = [finish(w) for w in workers[1:]]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        server.stop()
    fetched = page_fetches(server)
    missing = sorted(set(pages) - set(fetched))
    twice = sorted(p for p, n in fetched.items() if n > 1)
    assert not missing, f"{len(missing)} pages were never fetched after the kill, e.g. {missing[:3]}"
    # only what the dead worker had in flight (downloading, or parsed but not yet finished) again
    assert len(twice) <= 2 * CONCURRENCY, (
        f"{len(twice)} pages were fetched twice; a killed worker holds at most about {CONCURRENCY} "
        f"requests (killed after {fetched_at_kill} fetches), e.g. {twice[:3]}")
    check_database(scale_pg)
    assert len({s["run"] for s in summaries}) == 1
    url, prefix = redis_queue
    server_r = redis.Redis.from_url(url)
    run = summaries[0]["run"]
    assert server_r.exists(f"{prefix}:{run}:complete"), "the run was not marked complete in Redis"
    left = [k.decode() for k in server_r.scan_iter(match=f"{prefix}:{run}:*") if not k.endswith(b":complete")
            and not k.endswith(b":meta") and not k.endswith(b":seed")]
    server_r.close()
    assert not left, f"the run left bookkeeping behind in Redis: {left[:5]}"
