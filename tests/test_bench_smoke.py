"""bench/run.py keeps working: the whole suite at a tiny size (6 sources x 5 events x 3
profiles), real child processes, a real loopback server, real rss2email. No timing is asserted;
only that every figure is there and that the warm re-collect parsed nothing."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow   # ~10 s on an idle machine: a dozen child processes and rss2email


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results.json"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--sources", "6",
                          "--events-per-source", "5", "--profiles", "3", "--out", str(out),
                          "--keep", str(tmp / "work"), "--quiet"],
                         capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert res.returncode == 0, f"bench/run.py failed (exit {res.returncode}):\n{res.stderr[-3000:]}"
    assert out.exists(), f"bench/run.py wrote no JSON to {out}; it printed:\n{res.stdout}"
    return json.loads(out.read_text()), res.stdout


def test_every_figure_is_a_positive_number(bench: tuple[dict, str]) -> None:
    results, _ = bench
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec and spec.loader
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    figures = results["figures"]
    assert sorted(figures) == sorted(run.FIGURES), "the JSON figures differ from bench/run.py's FIGURES"
    for key, value in figures.items():
        assert isinstance(value, int | float) and math.isfinite(value), f"figure {key} is not a number: {value!r}"
        if key != "warm_documents_parsed":
            assert value > 0, f"figure {key} is {value}, expected a positive measurement"


def test_the_corpus_is_collected_and_everything_downstream_sees_it(bench: tuple[dict, str]) -> None:
    results, _ = bench
    assert results["corpus"] == {"sources": 6, "events": 30, "unique_events": results["corpus"]["unique_events"],
                                 "duplicates": 30 - results["corpus"]["unique_events"], "profiles": 3,
                                 "files": results["corpus"]["files"], "bytes": results["corpus"]["bytes"],
                                 "feeds": 2}
    cold = results["cold"]
    assert cold["sources_failed"] == 0, f"sources failed in the cold collect: {cold['failed']}"
    assert cold["sources_ok"] == 6
    assert cold["events_stored"] == results["corpus"]["unique_events"], \
        f"{cold['events_stored']} events stored, the corpus has {results['corpus']['unique_events']} real events"
    assert results["rank"]["events"] == cold["events_stored"]
    assert results["rank"]["profiles"] == 3
    assert results["digest"]["digests"] == 3, "run --dry-run should write one .eml per profile"
    assert results["r2e"]["entries"] == results["parse"]["feedparser_entries"] == 10, \
        "rss2email should see every entry of the 2 feeds (5 each)"


def test_warm_recollect_parses_nothing(bench: tuple[dict, str]) -> None:
    results, _ = bench
    warm = results["warm"]
    assert warm["documents_parsed"] == 0, f"the unchanged corpus was parsed again: {warm}"
    assert warm["not_modified_304"] >= 6, f"every source should have cost a 304: {warm}"
    assert warm["events_new"] == 0


def test_table_is_printed(bench: tuple[dict, str]) -> None:
    _, stdout = bench
    header = stdout.splitlines()[0].split()
    assert header == ["figure", "eventscout", "peer", "ratio"], f"unexpected table header: {stdout[:200]}"


def test_repeated_rounds_report_their_median(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--sources", "4",
                          "--events-per-source", "3", "--profiles", "2", "--repeat", "3", "--out", str(out),
                          "--keep", str(tmp_path / "work"), "--quiet"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, f"bench/run.py --repeat 3 failed:\n{res.stderr[-3000:]}"
    results = json.loads(out.read_text())
    assert results["repeat"] == 3
    for phase, field in (("cold", "wall_s"), ("warm", "pct_of_cold"), ("feeds", "ratio_to_r2e")):
        rounds = results[phase]["rounds"]
        assert len(rounds) == 3 and results[phase][field] == sorted(rounds)[1], (phase, results[phase])
    assert results["feeds"]["ratio_to_r2e"] == results["feeds"]["entries_per_s"] / results["r2e"]["entries_per_s"]
    assert results["warm"]["documents_parsed"] == 0
    assert "each round's % of its cold" in res.stdout
    assert sorted(p.name for p in (tmp_path / "work").glob("round-*")) == ["round-1", "round-2", "round-3"]
