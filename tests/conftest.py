"""Shared fixtures: corpus/eval locations, databases (SQLite and the real PostgreSQL), a seeded store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from helpers import PG_URL, require_corpus, require_eval, sample_items, service_unavailable, store_items  # noqa: E402


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return require_corpus()


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    return require_eval()


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def pg_url() -> str:
    """A database of this test worker's own on the real server, emptied for the test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"eventscout_test_{worker}"
    try:
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.execute(text("select 1 from pg_database where datname = :n"), {"n": name}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except (OperationalError, ImportError) as exc:
        service_unavailable("PostgreSQL at " + PG_URL, str(exc).splitlines()[0])
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    _reset_pg(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def seeded(sqlite_url: str) -> str:
    store_items(sqlite_url, sample_items())
    return sqlite_url
