"""Every real third-party file of the shared corpus (feeds, ical, html) collected as a file://
source in one collect run: no crash, no traceback, exit 0 or 3, a one-line reason per failure."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from rel_helpers import run_measured, sources_health

pytestmark = pytest.mark.slow   # ~1,300 sources in one crawl

FOLDERS = ("feeds", "ical", "html")
DATA_SUFFIXES = {".xml", ".rss", ".atom", ".json", ".jsonl", ".ics", ".ical", ".xcal", ".html", ".jsonld"}


def source_type(folder: str, path: Path) -> str:
    if folder == "ical":
        return "ical"
    if folder == "html":
        return "page"
    return "json" if path.suffix == ".jsonl" else "feed"


def corpus_sources(corpus: Path) -> list[tuple[str, str, Path]]:
    found = []
    for folder in FOLDERS:
        for path in sorted((corpus / folder).rglob("*")):
            if path.is_file() and path.suffix.lower() in DATA_SUFFIXES:
                slug = re.sub(r"[^a-z0-9]+", "-", str(path.relative_to(corpus)).lower()).strip("-")
                found.append((f"c{len(found)}-{slug[:60]}", source_type(folder, path), path))
    return found


def test_every_corpus_file_is_collected_without_a_crash(corpus_dir: Path, tmp_path: Path) -> None:
    sources = corpus_sources(corpus_dir)
    assert len(sources) > 1000, f"only {len(sources)} corpus files found under {corpus_dir}"
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "eventscout.toml").write_text("[crawl]\nconcurrency = 32\ntimeout = 20\n", encoding="utf-8")
    blocks = []
    for name, type_, path in sources:
        blocks.append(f'[[source]]\nname = "{name}"\ntype = "{type_}"\nurl = "{path.resolve().as_uri()}"\n')
        if type_ == "json":
            blocks.append('[source.fields]\ntitle = "title"\nurl = "url"\nstart = "start"\n')
    (cfg / "sources.toml").write_text("\n".join(blocks), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'corpus.db'}"
    run = run_measured("--config", str(cfg), "--db", db, "--now", "2024-06-01T09:00:00Z", "collect",
                       "--format", "json", timeout=300)
    assert "Traceback" not in run.stdout + run.stderr, f"a traceback escaped:\n{run.stderr[-3000:]}"
    assert run.returncode in (0, 3), f"collect exited {run.returncode}:\n{run.stderr[-3000:]}"
    summary = json.loads(run.stdout)
    health = sources_health(cfg, db)
    assert len(health) == len(sources)
    never = [n for n, s in health.items() if s["ok"] is None]
    assert not never, f"{len(never)} corpus sources were never attempted, e.g. {never[:5]}"
    failed = {n: s["last_error"] for n, s in health.items() if s["ok"] is False}
    bad = {n: e for n, e in failed.items() if not e or "\n" in e or len(e) > 300}
    assert not bad, f"failed sources without a one-line reason: {dict(list(bad.items())[:5])}"
    reasons = Counter(re.sub(r"\(line \d+.*", "", e)[:60] for e in failed.values())
    by_type = Counter(t for n, t, _ in sources if health[n]["ok"])
    print(f"\ncorpus: {len(sources)} files, {len(sources) - len(failed)} read "
          f"({dict(by_type)}), {len(failed)} failed; {summary['events_stored']} events stored; "
          f"{run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB")
    print("most common reasons:", reasons.most_common(8))
