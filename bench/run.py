"""The benchmark suite: eventscout and its peers side by side on one synthetic corpus.

    python bench/run.py [--sources 500] [--events-per-source 40] [--profiles 1000]
                        [--out results.json] [--keep DIR] [--bm25-sample 50]

Generates the deterministic corpus of bench/synth.py (40% feeds, 30% calendars, 20%
structured-data pages, 10% selector listings; 10% of listings duplicated across sources),
serves it on loopback (tests/sitesrv.py: Python's http.server in a child process, which
answers If-Modified-Since with 304) and measures, each phase in its own child process so CPU
and peak RSS are the phase's own (os.wait4 gives the rusage of that child and its
descendants):

- cold    ``eventscout collect`` into a fresh SQLite database: wall, CPU (user+sys), peak
          RSS, events stored / wall;
- warm    the same collect again over the unchanged corpus: wall, % of cold, documents parsed
          (must be 0: every source answers 304);
- feeds   a cold collect of the feed sources only, into another fresh database: the
          like-for-like figure for rss2email;
- rank    the P profiles ranked over every stored event (events loaded once through
          aggregator.queries, one index, ``rank(limit=20)`` per profile, one process);
- digest  ``eventscout run --skip-collect --dry-run --out DIR``: P digests written as .eml;
- peers   rss2email 3 (``r2e run --no-send`` over the feed sources, then again warm),
          a plain feedparser loop over the same feed bytes against spiders.feed.parse on them,
          and rank-bm25 (BM25Okapi over title + description, the interests as the query) for
          the same profiles — timed on --bm25-sample profiles and extrapolated.

With --repeat R the collect phases and rss2email run R times, each into fresh databases, and
each figure is its median round's (a shared machine's speed varies from minute to minute).

Prints one table (figure, eventscout, peer, ratio) and writes every figure as JSON (--out).
No figure is asserted here: the targets live in docs/bench.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sitesrv import SiteServer, free_port  # noqa: E402

R2E = shutil.which("r2e", path=str(Path(sys.executable).parent)) or shutil.which("r2e")
RANK_LIMIT = 20
FIGURES = {
    # key in the JSON -> (section, field) each a number; checked by tests/test_bench_smoke.py
    "cold_wall_s": ("cold", "wall_s"), "cold_cpu_s": ("cold", "cpu_s"),
    "cold_peak_rss_mb": ("cold", "peak_rss_mb"), "cold_events_per_s": ("cold", "events_per_s"),
    "warm_wall_s": ("warm", "wall_s"), "warm_pct_of_cold": ("warm", "pct_of_cold"),
    "warm_documents_parsed": ("warm", "documents_parsed"),
    "feeds_entries_per_s": ("feeds", "entries_per_s"),
    "rank_wall_s": ("rank", "rank_s"), "digest_per_s": ("digest", "digests_per_s"),
    "r2e_entries_per_s": ("r2e", "entries_per_s"), "r2e_warm_wall_s": ("r2e_warm", "wall_s"),
    "feedparser_entries_per_s": ("parse", "feedparser_entries_per_s"),
    "ours_parse_entries_per_s": ("parse", "eventscout_entries_per_s"),
    "bm25_rank_s": ("bm25", "rank_s"),
}


def _load_synth():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_synth", BENCH / "synth.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synth"] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# -- child processes --------------------------------------------------------------------------

def child(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT,
          log: Path | None = None) -> dict[str, Any]:
    """Run ``cmd`` to completion; its wall time, CPU (user+sys) and peak RSS, its own and its
    descendants', from os.wait4; stdout as text."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd,
                                env={**os.environ, **(env or {})})
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if log is not None:
        log.write_text(f"$ {' '.join(cmd)}\nexit {proc.returncode}\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "exit": proc.returncode,
            "stdout": stdout, "stderr": stderr}


def _eventscout(cfg: Path, db: str, now: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "aggregator", "--config", str(cfg), "--db", db, "--now", now, *args]


def _phase(name: str, **kwargs: Any) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name]
    for k, v in kwargs.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd


def _figures(res: dict[str, Any]) -> dict[str, Any]:
    return {k: res[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "exit")}


def _checked(res: dict[str, Any], what: str, ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    if res["exit"] not in ok:
        raise SystemExit(f"{what} failed with exit {res['exit']}:\n{res['stderr'][-3000:]}")
    return res


# -- phases run inside a child ----------------------------------------------------------------

def phase_rank(args: argparse.Namespace) -> dict[str, Any]:
    from datetime import datetime

    from aggregator.config import load_config
    from aggregator.db import open_database, session_scope
    from aggregator.queries import Filters
    from aggregator.ranking import build_index, rank
    from aggregator.service import candidate_events

    now = datetime.fromisoformat(args.now)
    config = load_config(args.config)
    t0 = time.perf_counter()
    engine = open_database(args.db)
    with session_scope(engine) as session:
        events = candidate_events(session, config, Filters())
    t1 = time.perf_counter()
    index = build_index(events, config.industries)
    t2 = time.perf_counter()
    results = 0
    for profile in config.profiles:
        results += len(rank(index, profile, now, limit=RANK_LIMIT))
    t3 = time.perf_counter()
    return {"events": len(events), "profiles": len(config.profiles), "results": results,
            "load_s": t1 - t0, "index_s": t2 - t1, "rank_s": t3 - t2}


def phase_bm25(args: argparse.Namespace) -> dict[str, Any]:
    from rank_bm25 import BM25Okapi

    from aggregator.config import load_config
    from aggregator.db import open_database, session_scope
    from aggregator.queries import Filters
    from aggregator.service import candidate_events

    config = load_config(args.config)
    engine = open_database(args.db)
    with session_scope(engine) as session:
        events = candidate_events(session, config, Filters())
    words = re.compile(r"\w+")
    t0 = time.perf_counter()
    bm25 = BM25Okapi([words.findall(f"{e['title']} {e['description'] or ''}".casefold()) for e in events])
    t1 = time.perf_counter()
    sample = config.profiles[: args.sample]
    for profile in sample:
        query = words.findall(" ".join(i.split("^")[0] for i in profile.interests).casefold())
        scores = bm25.get_scores(query)
        sorted(range(len(scores)), key=lambda i: -scores[i])[:RANK_LIMIT]
    t2 = time.perf_counter()
    per = (t2 - t1) / max(1, len(sample))
    return {"events": len(events), "profiles": len(config.profiles), "sampled": len(sample),
            "extrapolated": len(sample) < len(config.profiles), "index_s": t1 - t0,
            "sample_s": t2 - t1, "rank_s": per * len(config.profiles)}


def phase_parse(args: argparse.Namespace) -> dict[str, Any]:
    """feedparser alone vs spiders.feed.parse over the same feed bytes, in memory."""
    from datetime import datetime

    import feedparser

    from aggregator.config_types import SourceConfig
    from spiders import feed
    from spiders.base import ParseContext

    listing = json.loads(Path(args.feeds).read_text())
    bodies = [(f["url"], Path(f["path"]).read_bytes()) for f in listing]
    ctx = ParseContext(now=datetime.fromisoformat(args.now), horizon_days=args.horizon)
    t0 = time.perf_counter()
    fp_entries = sum(len(feedparser.parse(body).entries) for _url, body in bodies)
    t1 = time.perf_counter()
    ours = 0
    for url, body in bodies:
        src = SourceConfig(name="bench", type="feed", url=url)
        ours += len(feed.parse(body, url, src, ctx).events)
    t2 = time.perf_counter()
    return {"feeds": len(bodies), "bytes": sum(len(b) for _u, b in bodies),
            "feedparser_entries": fp_entries, "feedparser_s": t1 - t0,
            "feedparser_entries_per_s": fp_entries / (t1 - t0),
            "eventscout_events": ours, "eventscout_s": t2 - t1,
            "eventscout_entries_per_s": ours / (t2 - t1)}


PHASES = {"rank": phase_rank, "bm25": phase_bm25, "parse": phase_parse}


# -- rss2email --------------------------------------------------------------------------------

def r2e_setup(home: Path, feeds: list[dict[str, str]]) -> list[str]:
    """A fresh rss2email config and data file with one feed per feed source: ``r2e new`` and
    ``r2e add`` for the first feed; the others appended in the very shape ``r2e add`` writes
    (spawning r2e 200 times would cost ~40 s of setup and measure nothing)."""
    if R2E is None:
        raise SystemExit("rss2email is not installed: pip install -e '.[bench]'")
    cfg, data = home / "rss2email.cfg", home / "rss2email.json"
    base = [R2E, "-c", str(cfg), "-d", str(data)]
    env = {"HOME": str(home)}
    _checked(child([*base, "new", "bench@example.org"], env=env), "r2e new")
    _checked(child([*base, "add", feeds[0]["name"], feeds[0]["url"]], env=env), "r2e add")
    with cfg.open("a") as f:
        for fd in feeds[1:]:
            f.write(f"\n[feed.{fd['name']}]\nurl = {fd['url']}\n")
    state = json.loads(data.read_text())
    state["feeds"] += [{"name": fd["name"], "etag": None, "modified": None, "seen": {}}
                       for fd in feeds[1:]]
    data.write_text(json.dumps(state, indent=2))
    return base


def r2e_seen(home: Path) -> int:
    state = json.loads((home / "rss2email.json").read_text())
    return sum(len(f.get("seen") or {}) for f in state["feeds"])


# -- the run ----------------------------------------------------------------------------------

def _events_in(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("select count(*) from events").fetchone()[0])


def _save(results: dict[str, Any], path: Path | None) -> None:
    """Every figure measured so far (a long run that is stopped keeps what it measured)."""
    if path is not None:
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def _stats(res: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(res["stdout"])
    except json.JSONDecodeError:
        raise SystemExit(f"collect printed no JSON summary (exit {res['exit']}):\n"
                         f"{res['stdout'][-2000:]}\n{res['stderr'][-3000:]}") from None


def _collect_round(folder: Path, cfg: Path, now: str, feeds: list[dict[str, str]], logs: Path,
                   counts: dict[str, Any], say: Any, n: int, repeat: int) -> dict[str, Any]:
    """Round n of the collect phases, each into fresh databases: cold, warm, feeds only, and
    rss2email cold and warm over the same feeds."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = f" (round {n} of {repeat})" if repeat > 1 else ""

    def log(name: str) -> Path:
        return logs / (f"{name}-{n}.log" if repeat > 1 else f"{name}.log")

    out: dict[str, Any] = {}
    db_path = folder / "bench.db"
    db = f"sqlite:///{db_path}"
    out["db"] = str(db_path)
    say(f"cold collect{tag} ...")
    res = _checked(child(_eventscout(cfg, db, now, "collect", "--format", "json"), log=log("cold")),
                   "cold collect", ok=(0, 3))
    summary = _stats(res)
    stored = _events_in(db_path)
    out["cold"] = _figures(res) | {
        "events_stored": stored, "events_per_s": stored / res["wall_s"],
        "listings_per_s": counts["events"] / res["wall_s"],
        "sources_ok": summary["sources_ok"], "sources_failed": summary["sources_failed"],
        "failed": summary["failed"], "documents_parsed": summary["stats"].get("eventscout/documents_parsed", 0)}
    say(f"warm collect{tag} ...")
    res = _checked(child(_eventscout(cfg, db, now, "collect", "--format", "json"), log=log("warm")),
                   "warm collect", ok=(0, 3))
    summary = _stats(res)
    out["warm"] = _figures(res) | {
        "pct_of_cold": 100 * res["wall_s"] / out["cold"]["wall_s"],
        "documents_parsed": summary["stats"].get("eventscout/documents_parsed", 0),
        "not_modified_304": summary["stats"].get("downloader/response_status_count/304", 0),
        "events_new": summary["events_new"]}

    say(f"feeds-only cold collect{tag} ...")
    feeds_db = folder / "feeds.db"
    names = [a for fd in feeds for a in ("--source", fd["name"])]
    res = _checked(child(_eventscout(cfg, f"sqlite:///{feeds_db}", now, "collect", "--format", "json", *names),
                         log=log("feeds")), "feeds-only collect", ok=(0, 3))
    summary = _stats(res)
    entries = summary["stats"].get("eventscout/items_parsed") or _feed_entries(feeds)
    out["feeds"] = _figures(res) | {"feeds": len(feeds), "entries": entries,
                                    "events_stored": _events_in(feeds_db),
                                    "entries_per_s": entries / res["wall_s"]}

    say(f"rss2email{tag} ...")
    home = folder / "r2e"
    home.mkdir()
    base = r2e_setup(home, feeds)
    env = {"HOME": str(home)}
    res = _checked(child([*base, "run", "--no-send"], env=env, log=log("r2e")), "r2e run")
    seen = r2e_seen(home)
    out["r2e"] = _figures(res) | {"feeds": len(feeds), "entries": seen, "entries_per_s": seen / res["wall_s"]}
    res = _checked(child([*base, "run", "--no-send"], env=env, log=log("r2e-warm")), "r2e warm run")
    out["r2e_warm"] = _figures(res) | {"pct_of_cold": 100 * res["wall_s"] / out["r2e"]["wall_s"]}
    out["feeds"]["ratio_to_r2e"] = out["feeds"]["entries_per_s"] / out["r2e"]["entries_per_s"]
    return out


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The collect figures of several rounds: each phase from its median round (by wall time;
    the warm phase by its share of its own round's cold run, the feeds by their ratio to
    rss2email in the same round), with every round's figure beside it."""
    def median(key: str, field: str) -> dict[str, Any]:
        ranked = sorted(rounds, key=lambda r: r[key][field])
        chosen = dict(ranked[(len(ranked) - 1) // 2][key])
        if len(rounds) > 1:
            chosen["rounds"] = [r[key][field] for r in rounds]
        return chosen

    # rss2email from the round whose feeds figure is chosen: the ratio is one round's
    feeds = median("feeds", "ratio_to_r2e")
    same = next(r for r in rounds if r["feeds"]["ratio_to_r2e"] == feeds["ratio_to_r2e"])
    return {"cold": median("cold", "wall_s"), "warm": median("warm", "pct_of_cold"), "feeds": feeds,
            "r2e": same["r2e"], "r2e_warm": same["r2e_warm"], "repeat": len(rounds)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    synth = _load_synth()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="es-bench-"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    now = synth.DEFAULT_NOW.isoformat()
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))

    t0 = time.perf_counter()
    counts = synth.generate(work / "corpus", sources=args.sources, events_per_source=args.events_per_source,
                            profiles=args.profiles, base_url=origin)
    cfg, site = Path(counts["config"]), Path(counts["site"])
    sources = tomllib.loads((cfg / "sources.toml").read_text())["source"]
    feeds = [{"name": s["name"], "url": s["url"], "path": str(site / s["url"][len(origin) + 1:])}
             for s in sources if s["type"] == "feed"]
    (work / "feeds.json").write_text(json.dumps(feeds))
    horizon = tomllib.loads((cfg / "eventscout.toml").read_text())["crawl"]["horizon_days"]
    say(f"corpus: {counts['sources']} sources, {counts['events']} listings, {len(feeds)} feeds, "
        f"{counts['files']} files, {counts['bytes'] / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
    results: dict[str, Any] = {
        "params": {"sources": args.sources, "events_per_source": args.events_per_source,
                   "profiles": args.profiles, "now": now, "cpus": os.cpu_count(),
                   "python": sys.version.split()[0]},
        "corpus": {k: counts[k] for k in ("sources", "events", "unique_events", "duplicates",
                                          "profiles", "files", "bytes")} | {"feeds": len(feeds)},
    }
    logs = work / "logs"
    logs.mkdir()
    server = SiteServer(site, port, log=work / "access.log").start()
    rounds: list[dict[str, Any]] = []
    try:
        for n in range(1, args.repeat + 1):
            folder = work / f"round-{n}" if args.repeat > 1 else work
            rounds.append(_collect_round(folder, cfg, now, feeds, logs, counts, say, n, args.repeat))
            results.update(_median_round(rounds))
            _save(results, args.out)
    finally:
        server.stop()
    db_path = Path(rounds[-1]["db"])
    db = f"sqlite:///{db_path}"

    _save(results, args.out)
    say("parsers over the feed bytes ...")
    res = _checked(child(_phase("parse", feeds=work / "feeds.json", now=now, horizon=horizon),
                         log=logs / "parse.log"), "parse phase")
    results["parse"] = _figures(res) | json.loads(res["stdout"])

    _save(results, args.out)
    say("ranking ...")
    res = _checked(child(_phase("rank", config=cfg, db=db, now=now), log=logs / "rank.log"), "rank phase")
    results["rank"] = _figures(res) | json.loads(res["stdout"])

    _save(results, args.out)
    say("rank-bm25 ...")
    res = _checked(child(_phase("bm25", config=cfg, db=db, now=now, sample=args.bm25_sample),
                         log=logs / "bm25.log"), "bm25 phase")
    results["bm25"] = _figures(res) | json.loads(res["stdout"])

    _save(results, args.out)
    say("digests ...")
    out = work / "digests"
    dcfg, sample = cfg, args.profiles
    if args.digest_profiles and args.digest_profiles < args.profiles:
        # the first K of the P generated profiles (generate_profiles draws them in order)
        sample, dcfg = args.digest_profiles, work / "digest-config"
        shutil.copytree(cfg, dcfg)
        (dcfg / "profiles.toml").write_text(synth._profiles_toml(synth.generate_profiles(sample)))
    res = _checked(child(_eventscout(dcfg, db, now, "run", "--skip-collect", "--dry-run", "--out", str(out)),
                         log=logs / "digest.log"), "eventscout run --dry-run")
    written = len(list(out.glob("*.eml")))
    rate = written / res["wall_s"]
    results["digest"] = _figures(res) | {"digests": written, "digests_per_s": rate,
                                         "extrapolated": sample < args.profiles,
                                         "all_profiles_s": args.profiles / rate if rate else None}

    results["figures"] = {key: results[sec][field] for key, (sec, field) in FIGURES.items()}
    results["work_dir"] = str(work) if args.keep else None
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _feed_entries(feeds: list[dict[str, str]]) -> int:
    import feedparser

    return sum(len(feedparser.parse(Path(f["path"]).read_bytes()).entries) for f in feeds)


def _ratio(a: float | None, b: float | None, higher_is_better: bool = True) -> str:
    if not a or not b:
        return ""
    return f"{a / b:.1f}x" if higher_is_better else f"{b / a:.1f}x"


def table(r: dict[str, Any]) -> str:
    c, w, fe, rk, bm, dg = r["cold"], r["warm"], r["feeds"], r["rank"], r["bm25"], r["digest"]
    p, r2, r2w = r["parse"], r["r2e"], r["r2e_warm"]
    n = r["corpus"]
    bm_note = f" (extrapolated from {bm['sampled']})" if bm["extrapolated"] else ""
    rows = [
        (f"cold collect, {n['sources']} sources / {n['events']} listings: wall s", f"{c['wall_s']:.1f}", "", ""),
        ("  CPU s (user+sys)", f"{c['cpu_s']:.1f}", "", ""),
        ("  peak RSS MB", f"{c['peak_rss_mb']:.0f}", "", ""),
        (f"  events/s ({c['events_stored']} stored / wall)", f"{c['events_per_s']:.0f}", "", ""),
        ("warm re-collect (unchanged): wall s", f"{w['wall_s']:.1f}", f"{r2w['wall_s']:.1f} r2e", ""),
        ("  % of cold", f"{w['pct_of_cold']:.0f}%", f"{r2w['pct_of_cold']:.0f}% r2e", ""),
        ("  documents parsed / 304s", f"{w['documents_parsed']} / {w['not_modified_304']}", "", ""),
        (f"collect {fe['feeds']} feeds: entries/s (vs r2e run --no-send)", f"{fe['entries_per_s']:.0f}",
         f"{r2['entries_per_s']:.0f}", _ratio(fe["entries_per_s"], r2["entries_per_s"])),
        ("  all sources events/s vs r2e entries/s", f"{c['events_per_s']:.0f}", f"{r2['entries_per_s']:.0f}",
         _ratio(c["events_per_s"], r2["entries_per_s"])),
        ("  peak RSS MB", f"{fe['peak_rss_mb']:.0f}", f"{r2['peak_rss_mb']:.0f}", ""),
        ("parse feed bytes: entries/s (spiders.feed vs feedparser)", f"{p['eventscout_entries_per_s']:.0f}",
         f"{p['feedparser_entries_per_s']:.0f}", _ratio(p["eventscout_entries_per_s"], p["feedparser_entries_per_s"])),
        (f"rank {rk['profiles']} profiles x {rk['events']} events: s (vs rank-bm25{bm_note})",
         f"{rk['rank_s']:.2f}", f"{bm['rank_s']:.2f}", _ratio(rk["rank_s"], bm["rank_s"], False)),
        ("  load + index s", f"{rk['load_s']:.2f} + {rk['index_s']:.2f}", f"{bm['index_s']:.2f}", ""),
        (f"digests (run --dry-run): {dg['digests']} in s", f"{dg['wall_s']:.1f}", "", ""),
        (f"  {r['params']['profiles']} digests: s" + (" (extrapolated)" if dg["extrapolated"] else ""),
         f"{dg['all_profiles_s']:.0f}", "", ""),
        ("  digests/s", f"{dg['digests_per_s']:.1f}", "", ""),
        ("  peak RSS MB", f"{dg['peak_rss_mb']:.0f}", "", ""),
    ]
    if r.get("repeat", 1) > 1:
        rows.insert(1, (f"  each of the {r['repeat']} rounds", ", ".join(f"{x:.1f}" for x in c["rounds"]), "", ""))
        rows.insert(7, ("  each round's % of its cold", ", ".join(f"{x:.0f}%" for x in w["rounds"]), "", ""))
        rows.insert(10, ("  each round's ratio to r2e", "", "", ", ".join(f"{x:.1f}x" for x in fe["rounds"])))
    head = ("figure", "eventscout", "peer", "ratio")
    widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(4)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{wd}}}" for i, wd in enumerate(widths))
    return "\n".join([fmt.format(*head), fmt.format(*("-" * wd for wd in widths)),
                      *(fmt.format(*row) for row in rows)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=500)
    ap.add_argument("--events-per-source", type=int, default=40)
    ap.add_argument("--profiles", type=int, default=1000)
    ap.add_argument("--out", type=Path, help="write the figures here as JSON")
    ap.add_argument("--keep", type=Path, help="keep the corpus, databases, logs and digests in this folder")
    ap.add_argument("--bm25-sample", type=int, default=50, help="profiles timed for rank-bm25 (extrapolated)")
    ap.add_argument("--digest-profiles", type=int, default=0,
                    help="write the digests of only the first K profiles and extrapolate (0: all)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the collect phases (and rss2email) this many times, each into fresh "
                         "databases, and report the median round (a shared machine's speed varies)")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    for name in ("config", "db", "now", "feeds"):
        ap.add_argument(f"--{name}", help=argparse.SUPPRESS)
    ap.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--horizon", type=int, default=180, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return 0
    results = run(args)
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
