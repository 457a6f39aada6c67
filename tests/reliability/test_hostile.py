"""One collect run against a hostile loopback server (hostile_server.py) plus two good sources:
every bad source fails with a one-line reason or is read within bounds, the good ones are
stored, nothing is expanded or read from the local disk, and memory stays bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hostile_server import CASES, GOOD, NOW, SECRET_TOKEN, HostileServer
from rel_helpers import ROOT, all_text, run_measured, sources_health

pytestmark = pytest.mark.slow   # ~30 s: the slow server costs three 3 s timeouts

MAX_ITEMS = 200
HORIZON_DAYS = 60
TOO_LARGE = "response too large (over the maximum body size)"

# what each hostile source must end as: ("failed", last_error) or ("ok", items stored, titles)
EXPECTED = {
    "billion-laughs": ("ok", 1, ["&lol9;"]),            # the entity is left as text, not expanded
    "xxe-feed": ("ok", 1, ["Leak &xxe; here"]),          # the SYSTEM entity is not fetched
    "xxe-param-feed": ("ok", 1, ["Param &all;"]),
    "gzip-bomb": ("failed", "response too large once decompressed (over the maximum body size)"),
    "huge-body": ("failed", TOO_LARGE),
    "huge-stream": ("failed", TOO_LARGE),
    "deep-xml": ("ok", 1, ["Deep"]),
    "deep-json": ("failed", "invalid JSON: nested too deeply"),
    "deep-html": ("failed", "no events found"),
    "slow-server": ("failed", "timed out (no answer within 3 s)"),
    "redirect-loop": ("failed", "max redirections reached"),
    "wrong-charset-feed": ("ok", 1, ["Café Zürich – Gründer Treff"]),
    "wrong-charset-calendar": ("ok", 1, ["Käsefondue Abend im Café Zürich"]),
    "html-as-calendar": ("failed", "not an iCalendar file: an HTML page"),
    "empty-calendar": ("failed", "no events found"),
    "endless-rrule": ("ok", MAX_ITEMS, None),   # SECONDLY/MINUTELY skipped, HOURLY capped
    "extreme-years-calendar": ("failed", "no events found"),   # years 1 and 9999 are dropped
    "extreme-years-feed": ("failed", "no events found"),
    "extreme-years-json": ("failed", "no events found"),
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("hostile")
    secret = tmp / "secret.txt"
    secret.write_text(SECRET_TOKEN + "\n", encoding="utf-8")
    server = HostileServer(secret, tmp / "access.log").start()
    cfg = tmp / "config"
    cfg.mkdir()
    (cfg / "eventscout.toml").write_text(
        f"[crawl]\ntimeout = 3\nmax_body_mb = 2\nmax_items_per_source = {MAX_ITEMS}\n"
        f"horizon_days = {HORIZON_DAYS}\n", encoding="utf-8")
    blocks = []
    for path, (name, type_, what) in {**GOOD, **CASES}.items():
        blocks.append(f'# {what}\n[[source]]\nname = "{name}"\ntype = "{type_}"\n'
                      f'url = "{server.origin}{path}"\ntimezone = "Europe/Berlin"\n')
        if type_ == "json":
            blocks.append('[source.fields]\ntitle = "name"\nurl = "url"\nstart = "start"\nend = "end"\n')
    (cfg / "sources.toml").write_text("\n".join(blocks), encoding="utf-8")
    db_path = tmp / "hostile.db"
    db = f"sqlite:///{db_path}"
    try:
        run = run_measured("--config", str(cfg), "--db", db, "--now", NOW, "collect", timeout=240)
    finally:
        server.stop()
    print(f"hostile collect: {len(CASES)} hostile + {len(GOOD)} good sources, "
          f"{run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB")
    events = subprocess.run([sys.executable, "-m", "aggregator", "--config", str(cfg), "--db", db,
                             "--now", NOW, "events", "--from", "2026-12-01", "--format", "json"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert events.returncode == 0, f"`events` failed on what the hostile run stored: {events.stderr}"
    return {"run": run, "health": sources_health(cfg, db), "events": json.loads(events.stdout),
            "db_path": db_path, "log": server.requests()}


def titles_of(hostile_run, source: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(e["title"] for e in hostile_run["events"] if source in e["sources"])


def test_collect_survives_every_hostile_source_within_memory(hostile_run) -> None:  # type: ignore[no-untyped-def]
    run = hostile_run["run"]
    assert run.returncode == 3, f"some sources fail, so collect must exit 3, not {run.returncode}:\n{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr, f"a traceback escaped:\n{run.stderr}"
    assert run.peak_rss_mb < 1024, f"the collect used {run.peak_rss_mb:.0f} MB at its peak (limit 1 GB)"


def test_good_sources_are_stored_beside_the_hostile_ones(hostile_run) -> None:  # type: ignore[no-untyped-def]
    health = hostile_run["health"]
    assert health["good-calendar"]["ok"] is True and health["good-calendar"]["items_last_run"] == 3
    assert health["good-feed"]["ok"] is True and health["good-feed"]["items_last_run"] == 2
    assert titles_of(hostile_run, "good-calendar") == [
        "Good Calendar Conference Three", "Good Calendar Meetup One", "Good Calendar Workshop Two"]
    assert titles_of(hostile_run, "good-feed") == ["Good Feed Hackathon", "Good Feed Talk Night"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_source_fails_cleanly_or_is_read_within_bounds(hostile_run, name: str) -> None:  # type: ignore[no-untyped-def]
    source = hostile_run["health"][name]
    want = EXPECTED[name]
    if want[0] == "failed":
        assert source["ok"] is False, f"{name} should be reported failed, got {source}"
        assert source["last_error"] == want[1], f"{name}: reason {source['last_error']!r}, expected {want[1]!r}"
        assert source["consecutive_failures"] == 1
    else:
        assert source["ok"] is True, f"{name} should have been read, but failed: {source['last_error']}"
        assert source["items_last_run"] == want[1], f"{name}: {source['items_last_run']} items, want {want[1]}"
        if want[2] is not None:
            assert titles_of(hostile_run, name) == want[2]


def test_endless_rrule_is_bounded_by_horizon_and_item_cap(hostile_run) -> None:  # type: ignore[no-untyped-def]
    now = datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    starts = [datetime.fromisoformat(e["start"]) for e in hostile_run["events"]
              if "endless-rrule" in e["sources"]]
    assert len(starts) == MAX_ITEMS
    assert {e["title"] for e in hostile_run["events"] if "endless-rrule" in e["sources"]} == {"Every hour forever"}
    assert all(now - timedelta(days=31) <= s.astimezone(UTC) <= now + timedelta(days=HORIZON_DAYS)
               for s in starts), "an occurrence of the endless series lies outside the horizon"


def test_no_entity_is_expanded_and_no_local_file_is_read(hostile_run) -> None:  # type: ignore[no-untyped-def]
    stored = all_text(hostile_run["db_path"])
    run = hostile_run["run"]
    assert SECRET_TOKEN not in stored, "the content of a local file referenced by an XML entity was stored"
    assert SECRET_TOKEN not in run.stdout + run.stderr, "the local secret file leaked into the output"
    assert "lollollol" not in stored, "the billion-laughs entities were expanded"


def test_each_hostile_url_was_fetched(hostile_run) -> None:  # type: ignore[no-untyped-def]
    fetched = {line.split()[1] for line in hostile_run["log"]}
    missing = [p for p in CASES if p not in fetched]
    assert not missing, f"these hostile paths were never requested, so they tested nothing: {missing}"
    assert "/loop-b" in fetched
