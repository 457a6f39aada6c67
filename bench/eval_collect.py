"""Collect the eval mini-web (../shared/eval) with eventscout and compare with its ground truth.

    python bench/eval_collect.py [--eval DIR]

Prints recall, duplicates, false merges, wrong starts and statuses for the first crawl, then
the second crawl (site_v2) with its moves, cancellations, vanished, moved-online and new events.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from evalcheck import check_v2, compare, load_expected, window  # noqa: E402
from sitesrv import SiteServer, eval_config, free_port, materialise  # noqa: E402


def eventscout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aggregator", *args], capture_output=True, text=True,
                          cwd=ROOT)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default=os.environ.get("EVENTSCOUT_EVAL", str(ROOT.parent / "shared" / "eval")))
    args = ap.parse_args()
    eval_dir = Path(args.eval)
    tmp = Path(tempfile.mkdtemp(prefix="es-eval-"))
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    cfg = eval_config(eval_dir, tmp / "config", origin)
    db = f"sqlite:///{tmp / 'eval.db'}"
    expected = load_expected(eval_dir, origin)
    lo, hi = window(expected)
    crawls = (("first crawl", "site", expected["now"]), ("second crawl", "site_v2", expected["v2"]["now"]))
    for label, site, now in crawls:
        root = materialise(eval_dir / site, tmp / site, origin)
        server = SiteServer(root, port).start()
        try:
            t0 = time.perf_counter()
            res = eventscout("--config", str(cfg), "--db", db, "--now", now, "collect")
            took = time.perf_counter() - t0
        finally:
            server.stop()
        print(f"{label}: exit {res.returncode} in {took:.1f}s: {res.stdout.strip()}")
        out = eventscout("--config", str(cfg), "--db", db, "--now", now, "events", "--from",
                         lo.isoformat(), "--to", hi.isoformat(), "--format", "json")
        stored = json.loads(out.stdout)
        stored += _deadline_only(cfg, db, now, lo, hi, stored)
        if site == "site":
            report = compare(stored, expected["events"])
            print("  " + report.summary())
            labels = label_accuracy(report, expected["events"])
            print("  classification vs ground truth: " + ", ".join(f"{k} {v:.0%}" for k, v in labels.items()))
            ndcg = end_to_end_ndcg(cfg, db, now, lo, hi, report, eval_dir)
            print("  ranking of collected events, nDCG@10: " + ", ".join(f"{k} {v:.3f}" for k, v in ndcg.items()))
            for name in ("missing", "duplicated", "false_merges", "wrong_start", "wrong_status"):
                for line in getattr(report, name)[:20]:
                    print(f"  {name}: {line}")
        else:
            problems = check_v2(stored, expected)
            print(f"  lifecycle problems: {len(problems)}")
            for line in problems:
                print(f"  {line}")
    return 0


def label_accuracy(report, expected):  # type: ignore[no-untyped-def]
    """Share of events whose stored kinds / goals / industries contain the ground truth's first label
    (kinds, goals) or overlap it (industries)."""
    hits = {"kinds": 0, "goals": 0, "industries": 0}
    n = 0
    for exp in expected:
        ev = report.matches.get(exp["key"])
        if ev is None:
            continue
        n += 1
        hits["kinds"] += bool(set(exp["kinds"]) & set(ev["kinds"]))
        hits["goals"] += bool(set(exp["goals"]) & set(ev["goals"]))
        hits["industries"] += bool(set(exp["industries"]) & set(ev["industries"]))
    return {k: v / n for k, v in hits.items()} if n else {}


def end_to_end_ndcg(cfg, db, now, lo, hi, report, eval_dir):  # type: ignore[no-untyped-def]
    """nDCG@10 of `eventscout rank` over what was collected, graded by judgments.json."""
    from aggregator.ranking.evaluate import ndcg_at_k

    judgments = json.loads((eval_dir / "judgments.json").read_text(encoding="utf-8"))["profiles"]
    key_of = {}
    for key, ev in report.matches.items():
        key_of.setdefault(ev["id"], key)
    scores = {}
    for profile, grades in judgments.items():
        out = eventscout("--config", str(cfg), "--db", db, "--now", now, "rank", "--profile", profile,
                         "--from", lo.isoformat(), "--to", hi.isoformat(), "--format", "json", "--limit", "10")
        ranked = [key_of.get(e["id"], "?") for e in json.loads(out.stdout)]
        scores[profile] = ndcg_at_k(ranked, grades)
    scores["mean"] = sum(scores.values()) / len(scores)
    return scores


def _deadline_only(cfg: Path, db: str, now: str, lo, hi, stored):  # type: ignore[no-untyped-def]
    """Events after the window whose call for speakers closes inside it."""
    out = eventscout("--config", str(cfg), "--db", db, "--now", now, "events", "--from", hi.isoformat(),
                     "--format", "json")
    have = {e["id"] for e in stored}
    extra = []
    for ev in json.loads(out.stdout):
        d = ev.get("cfp_deadline")
        if d and ev["id"] not in have and lo.isoformat()[:10] <= d[:10] < hi.isoformat()[:10]:
            extra.append(ev)
    return extra


if __name__ == "__main__":
    raise SystemExit(main())
