"""collect / sources check on file:// sources (the bundled demo sources), through the real command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import run_cli

from aggregator.demo import materialize

NOW = datetime(2027, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def demo_cfg(tmp_path: Path) -> Path:
    return materialize(tmp_path / "demo", NOW)


def test_collect_one_source_then_check_all(demo_cfg: Path) -> None:
    base = ["--config", str(demo_cfg), "--now", NOW.isoformat()]
    one = run_cli(*base, "collect", "--source", "careers-api", "--format", "json")
    assert one.returncode == 0, one.stderr
    summary = json.loads(one.stdout)
    assert summary["sources_ok"] == 1 and summary["sources_failed"] == 0 and summary["events_new"] > 0
    listed = {s["name"]: s for s in json.loads(run_cli(*base, "sources", "list", "--format", "json").stdout)}
    assert listed["careers-api"]["ok"] is True and listed["careers-api"]["items_last_run"] > 0
    assert listed["pyladies-berlin"]["ok"] is None, "a source never collected has no health yet"

    check = run_cli(*base, "sources", "check")
    assert check.returncode == 0, check.stderr
    lines = check.stdout.splitlines()
    assert len([line for line in lines if ": ok (" in line]) == len(listed), check.stdout
    assert "\r" not in check.stderr and "[###" not in check.stderr, "no progress bar when not on a terminal"


def test_unknown_source_is_a_usage_error(demo_cfg: Path) -> None:
    res = run_cli("--config", str(demo_cfg), "collect", "--source", "nope")
    assert res.returncode == 2 and "unknown source nope" in res.stderr


def test_a_broken_file_source_fails_alone(demo_cfg: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ics"
    broken.write_bytes(b"\x00\x01garbage\xff" * 50)
    with (demo_cfg / "sources.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[[source]]\nname = "broken"\ntype = "ical"\nurl = "{broken.as_uri()}"\n'
                f'\n[[source]]\nname = "missing"\ntype = "feed"\nurl = "{(tmp_path / "none.xml").as_uri()}"\n')
    res = run_cli("--config", str(demo_cfg), "--now", NOW.isoformat(), "collect")
    assert res.returncode == 3, f"some sources failed: exit 3 expected, got {res.returncode}: {res.stderr}"
    assert "failed: broken: not an iCalendar file" in res.stderr
    assert "failed: missing: no such file" in res.stderr
    assert "Traceback" not in res.stderr
    assert "8 ok, 2 failed" in res.stdout
