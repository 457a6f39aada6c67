"""Helpers for the reliability tests: the real command with its peak memory, database probes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs the command given as arguments in a grandchild and prints, on the last line of stderr,
# the peak resident memory of that grandchild (ru_maxrss of RUSAGE_CHILDREN, in KiB on Linux).
_MEASURE = r'''
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
sys.stderr.write("\nPEAK_RSS_KIB=%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
'''


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float


def run_measured(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Measured:
    """`python -m aggregator ARGS` in a child process, with its peak RSS and wall time."""
    started = time.monotonic()
    res = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "aggregator", *args],
                         capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                         env={**os.environ, **(env or {})})
    seconds = time.monotonic() - started
    err, _, tail = res.stderr.rpartition("\nPEAK_RSS_KIB=")
    assert tail.strip().isdigit(), f"the measuring wrapper printed no peak memory: {res.stderr[-500:]}"
    return Measured(res.returncode, res.stdout, err, int(tail.strip()) / 1024, seconds)


def sources_health(config: Path, db: str) -> dict[str, dict]:
    res = subprocess.run([sys.executable, "-m", "aggregator", "--config", str(config), "--db", db,
                          "sources", "list", "--format", "json"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 0, f"`sources list` failed after the collect: {res.stderr}"
    return {s["name"]: s for s in json.loads(res.stdout)}


def integrity(path: Path) -> str:
    """PRAGMA integrity_check of a SQLite file (its WAL is replayed on open)."""
    conn = sqlite3.connect(path)
    try:
        return ", ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def link_counts(path: Path) -> dict[str, int]:
    """How many event-source links each source has stored (none when the schema is not there)."""
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        if "event_sources" not in tables:
            return {}
        return dict(conn.execute("select source, count(*) from event_sources group by source"))
    finally:
        conn.close()


def all_text(path: Path) -> str:
    """Every value stored in a SQLite database, as one string (to look for leaked data)."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()
