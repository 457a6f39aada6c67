"""bench/synth.py: the synthetic benchmark corpus is deterministic, has the requested size and
mix, and every document reads back with third-party parsers."""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import extruct
import feedparser
import icalendar
import pytest
from parsel import Selector
from rapidfuzz import fuzz

from aggregator.constants import GOALS

ROOT = Path(__file__).resolve().parent.parent
BASE = "http://127.0.0.1:8765"
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def _load_synth():
    spec = importlib.util.spec_from_file_location("bench_synth", ROOT / "bench" / "synth.py")
    assert spec and spec.loader, "bench/synth.py is missing"
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synth"] = module      # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


synth = _load_synth()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    dest = tmp_path_factory.mktemp("synth")
    counts = synth.generate(dest, sources=10, events_per_source=23, seed=7, base_url=BASE,
                            now=NOW, profiles=4)
    return dest, counts


def _local(url: str, site: Path) -> Path:
    assert url.startswith(BASE + "/"), f"URL {url} is not under the base URL {BASE}"
    return site / url[len(BASE) + 1:]


def _read_back(src: dict, site: Path) -> list[tuple[str, datetime, str | None]]:
    """(title, start instant, city) of every listing of one source."""
    path = _local(src["url"], site)
    out = []
    if src["type"] == "feed":
        feed = feedparser.parse(path.read_bytes())
        assert not feed.bozo, f"{path} is not a well-formed feed: {feed.get('bozo_exception')}"
        if feed.version == "rss20":
            for e in feed.entries:
                assert "ev_startdate" in e, f"{path}: an RSS item without ev:startdate"
                where = e.ev_location
                out.append((e.title, datetime.fromisoformat(e.ev_startdate),
                            None if where == "Online" else where.rsplit(", ", 1)[-1]))
        else:
            assert feed.version == "atom10", f"{path}: {feed.version} is neither RSS 2.0 nor Atom"
            for e in feed.entries:
                assert "xcal_dtstart" in e, f"{path}: an Atom entry without xCal:dtstart"
                start = datetime.strptime(e.xcal_dtstart, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                where = e.xcal_location
                out.append((e.title, start,
                            None if where == "Online" else where.rsplit(", ", 1)[-1]))
    elif src["type"] == "ical":
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
        for ev in cal.walk("VEVENT"):
            tzid = ev["DTSTART"].params.get("TZID")
            assert tzid in zones, f"{path}: TZID {tzid} has no VTIMEZONE"
            loc = str(ev["LOCATION"])
            city = None if loc.startswith("http") else loc.rsplit(", ", 1)[-1]
            out.append((str(ev["SUMMARY"]), ev.decoded("DTSTART"), city))
    elif src["type"] == "page":
        listing = Selector(text=path.read_text("utf-8"))
        hrefs = listing.css(f"{src['follow']}::attr(href)").getall()
        assert hrefs, f"{src['name']}: the follow selector finds no links"
        for href in hrefs:
            html = _local(urljoin(src["url"], href), site).read_text("utf-8")
            (data,) = extruct.extract(html, syntaxes=["json-ld"])["json-ld"]
            assert len(data["@graph"]) <= 5, "a programme page holds at most 5 events"
            for item in data["@graph"]:
                loc = item.get("location", {})
                city = loc.get("address", {}).get("addressLocality") if "address" in loc else None
                out.append((item["name"], datetime.fromisoformat(item["startDate"]), city))
    elif src["type"] == "html":
        tz = ZoneInfo(src["timezone"])
        url = src["url"]
        while url:
            sel = Selector(text=_local(url, site).read_text("utf-8"))
            for item in sel.css(src["select"]["item"]):
                start = datetime.fromisoformat(item.css(src["select"]["start"]).get())
                where = item.css(src["select"]["location"]).get()
                out.append((item.css(src["select"]["title"]).get(), start.replace(tzinfo=tz),
                            None if where == "Online" else src["city"]))
            nxt = sel.css(src["next_page"]).get()
            url = urljoin(url, nxt) if nxt else None
    else:
        raise AssertionError(f"unexpected source type {src['type']}")
    return out


def test_counts_mix_and_every_document_reads_back(corpus):
    dest, counts = corpus
    assert counts["sources"] == 10 and counts["events"] == 230 and counts["profiles"] == 4
    assert counts["duplicates"] == 23, "10% of the listings should be duplicates"
    assert counts["unique_events"] == 230 - 23
    sources = tomllib.loads((dest / "config" / "sources.toml").read_text("utf-8"))["source"]
    types = [s["type"] for s in sources]
    assert {t: types.count(t) for t in set(types)} == {"feed": 4, "ical": 3, "page": 2, "html": 1}
    site = dest / "site"
    listings = []
    for src in sources:
        got = _read_back(src, site)
        assert len(got) == 23, f"{src['name']} lists {len(got)} events, not 23"
        listings += [(src["name"], *g) for g in got]
        for title, start, _ in got:
            assert start.tzinfo is not None and start > NOW, f"{title!r} starts {start}"
    html = next(s for s in sources if s["type"] == "html")
    assert len(list((site / "listings" / html["name"]).glob("*.html"))) == 2, (
        "23 events at 20 per page should make a two-page listing"
    )
    # duplicates: same start, same city, near-identical title, on another source
    pairs = 0
    for i, (s1, t1, start1, c1) in enumerate(listings):
        for s2, t2, start2, c2 in listings[i + 1:]:
            if start1 == start2 and c1 == c2 and s1 != s2 and fuzz.token_set_ratio(t1, t2) >= 85:
                pairs += 1
    assert pairs == 23, f"found {pairs} cross-source duplicate pairs, expected 23"


def test_files_and_bytes_match_what_is_on_disk(corpus):
    dest, counts = corpus
    files = [p for p in dest.rglob("*") if p.is_file()]
    assert counts["files"] == len(files)
    assert counts["bytes"] == sum(p.stat().st_size for p in files)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    def snapshot(dest: Path) -> dict[str, bytes]:
        return {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()}

    a = synth.generate(tmp_path / "a", sources=6, events_per_source=5, seed=3, now=NOW)
    b = synth.generate(tmp_path / "b", sources=6, events_per_source=5, seed=3, now=NOW)
    synth.generate(tmp_path / "c", sources=6, events_per_source=5, seed=4, now=NOW)
    assert {k: v for k, v in a.items() if k not in ("site", "config")} == {
        k: v for k, v in b.items() if k not in ("site", "config")}
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b"), "same seed, different bytes"
    assert snapshot(tmp_path / "a") != snapshot(tmp_path / "c"), "another seed, same corpus"
    text = (tmp_path / "a" / "config" / "sources.toml").read_text("utf-8")
    urls = [s["url"] for s in tomllib.loads(text)["source"]]
    assert all(u.startswith("{BASE}/") for u in urls), f"URLs not under the placeholder: {urls}"


def test_generated_profiles_are_valid_and_deterministic(corpus):
    dest, _ = corpus
    written = tomllib.loads((dest / "config" / "profiles.toml").read_text("utf-8"))["profile"]
    assert written == synth.generate_profiles(4, 7)
    assert synth.generate_profiles(30, 1) == synth.generate_profiles(30, 1)
    people = synth.generate_profiles(30, 1)
    assert len({p["name"] for p in people}) == 30
    for p in people:
        assert set(p["industries"]) <= set(synth.INDUSTRIES), p["industries"]
        assert p["goals"] and set(p["goals"]) <= set(GOALS), p["goals"]
        assert p["interests"] and p["email"].endswith("@example.org")


def test_the_taxonomy_covers_the_23_spec_industries():
    spec_slugs = {
        "software", "data", "security", "cloud", "design", "product", "marketing", "sales",
        "finance", "fintech", "healthcare", "biotech", "education", "legal", "energy",
        "manufacturing", "real-estate", "media", "nonprofit", "government", "hr", "retail",
        "hospitality",
    }
    assert set(synth.INDUSTRIES) == spec_slugs
    assert len(synth.CITIES) >= 40


def test_cli_writes_the_corpus_and_prints_counts(tmp_path, capsys):
    assert synth.main([str(tmp_path / "out"), "--sources", "4", "--events-per-source", "3",
                       "--profiles", "2", "--base-url", BASE]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["sources"] == 4 and counts["events"] == 12 and counts["profiles"] == 2
    assert (tmp_path / "out" / "config" / "sources.toml").is_file()
