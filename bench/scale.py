"""Throughput of distributed collection: 1, 2 and 3 `eventscout collect --queue` workers on this
machine, against a generated loopback site (tests/scale/bigsite.py), the real Redis and
PostgreSQL servers; and, for comparison, one plain `collect` (no queue) into PostgreSQL.

    python bench/scale.py [--sources 20] [--per-source 100] [--workers 1,2,3]
                          [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
                          [--redis redis://127.0.0.1:6379/0]

Each configuration gets an empty database (eventscout_bench_scale on the server of --pg) and its
own Redis key prefix. The wall time runs from starting the workers to the last one exiting, so
it includes each process's start-up (about 2-4 s of imports and migrations).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "scale"))

from bigsite import NOW, build_site, write_config  # noqa: E402
from sitesrv import SiteServer  # noqa: E402


def fresh_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = "eventscout_bench_scale"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def count_events(db: str) -> int:
    from sqlalchemy import create_engine, func, select

    from aggregator.models import Event

    engine = create_engine(db)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Event))
    engine.dispose()
    return int(n or 0)


def run(workers: int, cfg: Path, db: str, redis_url: str | None) -> tuple[float, list[dict]]:  # type: ignore[type-arg]
    prefix = f"eventscout-bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "EVENTSCOUT_QUEUE_PREFIX": prefix}
    queue = ["--queue", redis_url] if redis_url else []
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(cfg), "--db", db,
                               "--now", NOW.isoformat(), "collect", *queue, "--format", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
             for _ in range(workers)]
    summaries = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"a worker failed ({p.returncode}):\n{err[-2000:]}")
        summaries.append(json.loads(out))
    elapsed = time.monotonic() - started
    if redis_url:
        import redis

        server = redis.Redis.from_url(redis_url)
        keys = list(server.scan_iter(match=f"{prefix}:*"))
        if keys:
            server.delete(*keys)
        server.close()
    return elapsed, summaries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=20)
    ap.add_argument("--per-source", type=int, default=100)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--concurrency", type=int, default=16, help="[crawl] concurrency of each worker")
    ap.add_argument("--pg", default=os.environ.get("EVENTSCOUT_TEST_PG",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis", default=os.environ.get("EVENTSCOUT_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pages = build_site(tmp / "site", args.sources, args.per_source)
        events = args.sources * args.per_source
        print(f"site: {len(pages)} pages, {events} events; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"{'setup':<22} {'wall s':>7} {'pages/s':>8} {'events/s':>9}  per-worker pages parsed")
        runs = [("collect (no queue)", 1, None)] + [
            (f"collect --queue x{n}", n, args.redis) for n in map(int, args.workers.split(","))]
        for label, n, redis_url in runs:
            db = fresh_database(args.pg)
            server = SiteServer(tmp / "site", log=tmp / f"access-{uuid.uuid4().hex[:6]}.log").start()
            try:
                cfg = write_config(tmp / "config", server.origin, args.sources, args.concurrency)
                elapsed, summaries = run(n, cfg, db, redis_url)
            finally:
                server.stop()
            fetched = Counter(line.split()[1] for line in server.requests()
                              if " /robots.txt" not in line)
            stored = count_events(db)
            twice = sum(1 for c in fetched.values() if c > 1)
            note = "" if stored == events and not twice else f"  (stored {stored}, {twice} pages fetched twice)"
            print(f"{label:<22} {elapsed:7.1f} {len(pages) / elapsed:8.1f} {stored / elapsed:9.1f}  "
                  f"{[s['documents_parsed'] for s in summaries]}{note}", flush=True)


if __name__ == "__main__":
    main()
