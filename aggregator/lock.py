"""One `eventscout run` at a time per database: an flock on a lock file.

The kernel releases the lock when its holder dies, so a lock left by a killed run is taken over
by the next one."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import platformdirs


class LockHeld(Exception):
    """Another run holds the lock."""


class RunLock:
    def __init__(self, key: str, directory: Path | None = None) -> None:
        folder = directory or Path(platformdirs.user_runtime_dir("eventscout", ensure_exists=False))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = Path(platformdirs.user_cache_dir("eventscout"))
            folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
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
