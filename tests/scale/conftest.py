"""Fixtures for the scale tests: a Redis database and key prefix of the test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from helpers import REDIS_URL, service_unavailable


@pytest.fixture
def redis_queue() -> Iterator[tuple[str, str]]:
    """(Redis URL, key prefix) for one test; every key under the prefix is deleted afterwards."""
    try:
        import redis
    except ImportError as exc:
        service_unavailable("Redis at " + REDIS_URL, f"the redis package is missing: {exc}")
    base = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        base.ping()
    except redis.RedisError as exc:
        service_unavailable("Redis at " + REDIS_URL, str(exc).splitlines()[0])
    base.close()
    # a database number of this pytest worker's own (1..15; 0 is left to people), and a prefix
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = 10 + (int(worker[2:]) if worker[2:].isdigit() else 0) % 6
    url = REDIS_URL.rsplit("/", 1)[0] + f"/{number}"
    prefix = f"eventscout-test-{uuid.uuid4().hex[:8]}"
    yield url, prefix
    server = redis.Redis.from_url(url)
    keys = list(server.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        server.delete(*keys)
    server.close()


@pytest.fixture
def scale_pg(pg_url: str) -> Iterator[str]:
    """A database of this test's own on the pg_url server, dropped afterwards: the per-worker
    database of pg_url can be reset by a concurrent test session while a long crawl runs."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"eventscout_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
