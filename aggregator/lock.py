"""One `eventscout run` at a time per database: an flock on a lock file.

The kernel releases the lock when its holder dies, so a lock left by a killed run is taken over
by the next one. The key is the database URL, normalised (driver dropped, SQLite path made
absolute) so that two spellings of the same database share one lock."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class LockHeld(Exception):
    """Another run holds the lock."""


def lock_key(url: str) -> str:
    """The database a URL names: "sqlite:///x.db" and "sqlite+pysqlite:////abs/x.db" agree."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:"):
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.set(drivername=backend).render_as_string(hide_password=True)


def _default_folder() -> Path:
    # cron and systemd services often have no XDG_RUNTIME_DIR: platformdirs would warn on every run
    if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
        return Path(platformdirs.user_cache_dir("eventscout"))
    return Path(platformdirs.user_runtime_dir("eventscout", ensure_exists=False))


class RunLock:
    def __init__(self, key: str, directory: Path | None = None) -> None:
        folder = directory or _default_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = Path(platformdirs.user_cache_dir("eventscout"))
            folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(lock_key(key).encode()).hexdigest()[:12]
        self.path = folder / f"run-{digest}.lock"
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            os.close(fd)
            raise LockHeld(f"another eventscout run holds {self.path} (pid {holder or '?'})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
