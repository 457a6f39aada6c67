"""End to end: the eval mini-web served on loopback, collected by the real command, compared
with its ground truth; then the same site a week later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalcheck import check_v2, compare, load_expected, window
from helpers import run_cli
from sitesrv import SiteServer, eval_config, free_port, materialise


@pytest.fixture(scope="module")
def crawled(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("eval")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    cfg = eval_config(eval_dir, tmp / "config", origin)
    expected = load_expected(eval_dir, origin)
    db = f"sqlite:///{tmp / 'eval.db'}"
    lo, hi = window(expected)
    runs = {}
    for label, site, now in (("v1", "site", expected["now"]), ("v1-again", "site", expected["now"]),
                             ("v2", "site_v2", expected["v2"]["now"])):
        if label != "v1-again":
            root = materialise(eval_dir / site, tmp / site, origin)
        server = SiteServer(root, port, log=tmp / f"access-{label}.log").start()
        try:
            res = run_cli("--config", str(cfg), "--db", db, "--now", now, "collect", "--format", "json")
        finally:
            server.stop()
        listing = run_cli("--config", str(cfg), "--db", db, "--now", now, "events", "--from", lo.isoformat(),
                          "--to", hi.isoformat(), "--format", "json")
        later = run_cli("--config", str(cfg), "--db", db, "--now", now, "events", "--from", hi.isoformat(),
                        "--format", "json")
        health = run_cli("--config", str(cfg), "--db", db, "sources", "list", "--format", "json")
        assert listing.returncode == 0, listing.stderr
        stored = json.loads(listing.stdout)
        ids = {e["id"] for e in stored}
        for ev in json.loads(later.stdout):   # conferences after the window whose CFP closes inside it
            d = ev.get("cfp_deadline")
            if d and ev["id"] not in ids and lo.date().isoformat() <= d[:10] < hi.date().isoformat():
                stored.append(ev)
        runs[label] = {"config": cfg, "db": db, "now": now, "exit": res.returncode,
                       "summary": json.loads(res.stdout) if res.stdout else {},
                       "stderr": res.stderr, "events": stored, "sources": json.loads(health.stdout),
                       "log": server.requests()}
    return expected, runs


def test_first_crawl_finds_every_event_once_with_exact_times(crawled) -> None:  # type: ignore[no-untyped-def]
    expected, runs = crawled
    run = runs["v1"]
    assert run["exit"] == 3, f"some sources fail by design, so collect must exit 3; got {run['exit']}: {run['stderr']}"
    assert "Traceback" not in run["stderr"]
    report = compare(run["events"], expected["events"])
    print(report.summary())
    assert report.recall >= 0.98, f"too few expected events found: {report.summary()}; missing {report.missing}"
    assert not report.duplicated, f"events stored more than once: {report.duplicated}"
    assert not report.false_merges, f"different events merged into one record: {report.false_merges}"
    assert not report.wrong_start, f"start instants differ from the ground truth: {report.wrong_start}"
    assert not report.wrong_status, f"statuses differ from the ground truth: {report.wrong_status}"


def test_merged_events_keep_every_source_and_url(crawled) -> None:  # type: ignore[no-untyped-def]
    expected, runs = crawled
    report = compare(runs["v1"]["events"], expected["events"])
    for exp in expected["events"]:
        if len(exp["sources"]) > 1 and exp["key"] in report.matches:
            ev = report.matches[exp["key"]]
            assert set(exp["sources"]) <= set(ev["sources"]), f"{exp['key']}: sources {ev['sources']}"
            assert set(exp["urls"]) <= set(ev["urls"]), f"{exp['key']}: urls {ev['urls']}"


def test_failing_sources_are_reported_with_reasons(crawled) -> None:  # type: ignore[no-untyped-def]
    expected, runs = crawled
    health = {s["name"]: s for s in runs["v1"]["sources"]}
    want = {f["name"] for f in expected["failing_sources"]}
    failed = {name for name, s in health.items() if s["ok"] is False}
    assert failed == want, f"failed sources {sorted(failed)}, expected {sorted(want)}"
    assert health["impact-jobs-feed"]["last_error"] == "HTTP 404 Not Found"
    assert "robots.txt" in health["staff-calendar"]["last_error"]
    assert health["city-archive-calendar"]["last_error"].startswith("not an iCalendar file")
    assert health["dublin-tech-digest"]["last_error"].startswith("malformed XML")
    assert not any("/private/" in line for line in runs["v1"]["log"]), "robots.txt forbids /private/"
    assert health["seattle-sre"]["ok"] and health["seattle-sre"]["items_last_run"] > 0


def test_second_collect_of_unchanged_sources_parses_nothing(crawled) -> None:  # type: ignore[no-untyped-def]
    _expected, runs = crawled
    stats = runs["v1-again"]["summary"]["stats"]
    # a source that failed last time is read again (its bytes may be fixed now); nothing else is
    unreadable = [s["name"] for s in runs["v1"]["sources"]
                  if s["ok"] is False and not s["last_error"].startswith(("HTTP", "disallowed"))]
    assert stats.get("eventscout/documents_parsed", 0) == len(unreadable), \
        f"unchanged sources were parsed again (only {unreadable} should be): {stats}"
    assert stats.get("downloader/response_status_count/304", 0) > 0, "unchanged http sources cost a 304"
    assert runs["v1-again"]["summary"]["events_new"] == 0


def test_week_later_lifecycle_is_right(crawled) -> None:  # type: ignore[no-untyped-def]
    expected, runs = crawled
    problems = check_v2(runs["v2"]["events"], expected)
    assert not problems, "second crawl lifecycle problems:\n" + "\n".join(problems)


def test_collected_events_are_classified_like_a_careful_human(crawled) -> None:  # type: ignore[no-untyped-def]
    from eval_collect import label_accuracy

    expected, runs = crawled
    report = compare(runs["v1"]["events"], expected["events"])
    accuracy = label_accuracy(report, expected["events"])
    assert accuracy["kinds"] >= 0.9, f"kinds agree with the ground truth for only {accuracy['kinds']:.0%}"
    assert accuracy["goals"] >= 0.9, f"goals agree with the ground truth for only {accuracy['goals']:.0%}"
    assert accuracy["industries"] >= 0.9, f"industries overlap the ground truth for only {accuracy['industries']:.0%}"


def test_ranking_of_collected_events_meets_the_quality_floor(crawled, eval_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The whole chain (collect -> classify -> rank command), graded by judgments.json."""
    from aggregator.ranking.evaluate import ndcg_at_k

    expected, runs = crawled
    cfg, db = runs["v1"]["config"], runs["v1"]["db"]
    report = compare(runs["v1"]["events"], expected["events"])
    # the database now holds the second crawl too: rank as of the first crawl's `now` over the
    # first crawl's matches (moves and cancellations of v2 only lower a few grades)
    key_of = {ev["id"]: key for key, ev in report.matches.items()}
    judgments = json.loads((eval_dir / "judgments.json").read_text(encoding="utf-8"))["profiles"]
    lo, hi = window(expected)
    scores = {}
    for profile, grades in judgments.items():
        out = run_cli("--config", str(cfg), "--db", db, "--now", expected["now"],
                      "rank", "--profile", profile, "--from", lo.isoformat(), "--to", hi.isoformat(),
                      "--format", "json", "--limit", "10")
        assert out.returncode == 0, out.stderr
        ranked = json.loads(out.stdout)
        assert all(e["reasons"] for e in ranked), f"{profile}: every ranked event must say why"
        scores[profile] = ndcg_at_k([key_of.get(e["id"], "?") for e in ranked], grades)
    mean = sum(scores.values()) / len(scores)
    assert mean >= 0.75, f"mean nDCG@10 {mean:.3f} is below the floor 0.75: {scores}"
