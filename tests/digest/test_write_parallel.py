"""`run --dry-run` writes the digests in forked worker processes: the same files, byte for byte,
as one process writes."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from pathlib import Path

from helpers import run_cli

from aggregator.config import load_config
from aggregator.db import open_database, session_scope
from aggregator.service import DigestBatch, DigestRequest, period_for, write_digests

NOW = "2027-02-07T18:00:00+00:00"


def test_forked_writers_write_what_one_process_writes(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    demo = run_cli("--now", NOW, "-q", "demo", "--keep", str(kept))
    assert demo.returncode == 0, demo.stderr
    cfg_dir = next(p.parent for p in kept.rglob("profiles.toml"))
    config = load_config(cfg_dir)
    base = config.profiles[0]
    # twelve readers with different interests, so the digests differ
    words = ["python", "data", "design", "fintech", "cloud", "careers"]
    profiles = [dataclasses.replace(base, name=f"reader-{i:02d}", email=f"r{i}@example.org",
                                    interests=[words[i % len(words)]]) for i in range(12)]
    config = dataclasses.replace(config, profiles=profiles)
    db_url = config.settings.database_url or f"sqlite:///{next(kept.rglob('*.db'))}"
    now = datetime.fromisoformat(NOW)
    periods = {p.name: period_for(p, config, now, DigestRequest()) for p in profiles}
    engine = open_database(db_url)
    with session_scope(engine) as session:
        batch = DigestBatch(session, config, now, list(periods.values()))
    assert threading.active_count() == 1, "write_digests forks only from a process without threads"
    written = {}
    for workers in (1, 2):
        out = tmp_path / f"out-{workers}"
        out.mkdir()
        assert write_digests(db_url, config, batch, periods, profiles, out, workers) == 12
        written[workers] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert len(written[1]) == 12
    assert written[2] == written[1]
    assert len(set(written[1].values())) > 1, "the readers' digests differ, so the comparison means something"
    engine.dispose()
