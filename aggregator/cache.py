"""Derived data kept in the user cache dir between runs: what is costly to build and depends
only on inputs that a key can name (the gazetteer's tables, a validated configuration).

A cache file is named ``<name>-<key>.pickle``; a change of any input gives another key, so an
entry is never stale, only unused. Every failure to read or write costs time, never a result: a
damaged file is rebuilt, a read-only dir is skipped.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import platformdirs

T = TypeVar("T")
_READ_ERRORS = (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError,
                IndexError, ImportError)


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("eventscout"))


def file_key(paths: Iterable[Path], extra: Iterable[str] = ()) -> str:
    """A key for what ``paths`` contain (read in full: source files are small) and ``extra``."""
    digest = hashlib.sha1()
    for text in extra:
        digest.update(text.encode())
        digest.update(b"\0")
    for path in paths:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def stamp(path: str | Path | None) -> str:
    """What a key needs of a file that is too big (or too many) to read: its path, size and
    modification time; "-" when there is none."""
    try:
        stat = os.stat(path)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return "-"
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def load(name: str, key: str, valid: Callable[[object], bool]) -> object | None:
    """The value stored as ``name`` under ``key``, or None (absent, damaged or not ``valid``)."""
    path = cache_dir() / f"{name}-{key}.pickle"
    try:
        with path.open("rb") as f:
            value = pickle.load(f)
    except _READ_ERRORS:
        return None
    if not valid(value):
        return None
    try:
        os.utime(path)          # used now: pruning keeps the entries used last
    except OSError:
        pass
    return value


def store(name: str, key: str, value: object, keep: int | None = None) -> None:
    """Store ``value`` as ``name`` under ``key`` (written aside, then renamed into place); with
    ``keep``, only that many ``name`` entries stay, the most recently used."""
    folder = cache_dir()
    path = folder / f"{name}-{key}.pickle"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if keep is not None:
            _prune(folder, name, keep)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass   # a read-only cache dir (or a value that cannot be kept) only costs time


def cached(name: str, key: str, build: Callable[[], T], valid: Callable[[object], bool],
           keep: int | None = None) -> T:
    """The value stored as ``name`` under ``key``, else ``build()`` (stored for the next run)."""
    value = load(name, key, valid)
    if value is not None:
        return value  # type: ignore[return-value]
    built = build()
    store(name, key, built, keep)
    return built


def _prune(folder: Path, name: str, keep: int) -> None:
    entries = []
    for path in folder.glob(f"{name}-*.pickle"):
        try:
            entries.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    for _mtime, path in sorted(entries, reverse=True)[keep:]:
        try:
            path.unlink()
        except OSError:
            pass
