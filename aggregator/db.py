"""Engine and sessions; migrations run automatically on first use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
def busy_timeout_s() -> float:
    """How long a writer waits for another process's lock on SQLite before giving up
    (EVENTSCOUT_BUSY_TIMEOUT seconds, default 30)."""
    try:
        return max(0.0, float(os.environ.get("EVENTSCOUT_BUSY_TIMEOUT", "30")))
    except ValueError:
        return 30.0


BUSY_TIMEOUT_S = busy_timeout_s()


class DatabaseError(Exception):
    """The database cannot be used; the message says what to do."""


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (another process held a write lock past the busy timeout)."""
    return "database is locked" in str(getattr(exc, "orig", None) or exc)


def default_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("eventscout"))
    return f"sqlite:///{data_dir / 'eventscout.db'}"


def resolve_url(explicit: str | None, configured: str | None) -> str:
    """`--db` beats EVENTSCOUT_DB beats database.url beats the default."""
    return explicit or os.environ.get("EVENTSCOUT_DB") or configured or default_url()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            path = Path(db).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the database folder {path.parent}: {exc.strerror}"
                ) from None
            if path.exists() and not os.access(path, os.W_OK):
                raise DatabaseError(f"the database {path} is not writable")
            if not os.access(path.parent, os.W_OK):
                raise DatabaseError(f"the database folder {path.parent} is not writable")
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
    elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(f"cannot use database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# The newest migration in aggregator/migrations/versions. Every command compares the database with
# it, and reading it from the scripts would import alembic (a fifth of a second) only to find
# nothing to do; tests/test_startup_caches.py checks that it is alembic's head.
HEAD_REVISION = "0002"
VERSION_TABLE = "alembic_version"


def head_revision() -> str:
    return HEAD_REVISION


def current_revision(engine: Engine) -> str | None:
    """The database's revision, read as alembic reads it (None before the first migration), with
    plain SQL: alembic itself is imported only for what is unusual (several heads)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        if len(versions) <= 1:
            return versions[0] if versions else None
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every pending migration; returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), "head")
    return before, head_revision()


def open_database(url: str, *, migrate: bool = True) -> Engine:
    """An engine for URL, migrated to the newest schema; DatabaseError when unusable."""
    engine = make_engine(url)
    try:
        if migrate and current_revision(engine) != head_revision():
            try:
                upgrade(engine)
            except SQLAlchemyError:
                # another process (a second `collect --queue` worker) is migrating it
                _wait_for_head(engine)
        else:
            inspect(engine)  # touches the connection
    except OperationalError as exc:
        raise DatabaseError(f"cannot open the database {_safe(url)}: {_first_line(exc)}") from None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database error on {_safe(url)}: {_first_line(exc)}") from None
    return engine


def _wait_for_head(engine: Engine, timeout_s: float = 60) -> None:
    """After a failed migration: fine when another process brings the schema to head meanwhile;
    re-raises the failure otherwise."""
    import sys
    import time

    error = sys.exc_info()[1]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if current_revision(engine) == head_revision():
                return
        except SQLAlchemyError:
            pass
        time.sleep(0.2)
    assert error is not None
    raise error


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
