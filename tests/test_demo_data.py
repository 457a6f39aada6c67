"""The bundled demo (aggregator.demo.materialize): a configuration directory whose sample
sources are real documents with dates relative to "now", so that `eventscout demo` never
prints an empty digest.

Every check reads the written documents back with independent tools (tomllib, feedparser,
icalendar + recurring_ical_events, extruct, parsel, json), not with the demo's own model.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

import extruct
import feedparser
import icalendar
import pytest
import recurring_ical_events
from parsel import Selector
from rapidfuzz import fuzz

from aggregator.constants import SOURCE_TYPES
from aggregator.demo import materialize

BERLIN = ZoneInfo("Europe/Berlin")

NOWS = {
    "sunday-evening": datetime(2026, 3, 15, 21, 0, tzinfo=BERLIN),
    "saturday-late-night": datetime(2026, 3, 14, 23, 45, tzinfo=BERLIN),
    "new-years-eve": datetime(2026, 12, 31, 10, 0, tzinfo=UTC),
    "leap-day": datetime(2028, 2, 29, 8, 0, tzinfo=UTC),
    "wednesday-noon": datetime(2026, 6, 10, 12, 0, tzinfo=UTC),
    "dst-change-night": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
}

MEETUP_WHEN = re.compile(
    r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    r"([A-Z][a-z]+) (\d{1,2}) at (\d{1,2}):(\d{2}) (AM|PM)"
)
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


@dataclass(frozen=True)
class Seen:
    source: str
    title: str
    start: datetime | date
    city: str | None


def _path(url: str) -> Path:
    assert url.startswith("file://"), f"demo URL is not a local file URL: {url}"
    return Path(url2pathname(urlsplit(url).path))


def _meetup_start(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """Meetup writes no year: take the first matching date from yesterday on."""
    m = MEETUP_WHEN.search(text)
    assert m, f"no Meetup-style date ('Thursday, March 17 at 7:00 PM') in: {text[:200]}"
    weekday, month, day, hour, minute, half = m.groups()
    hour_24 = int(hour) % 12 + (12 if half == "PM" else 0)
    today = now.astimezone(tz).date()
    for year in (today.year, today.year + 1):
        try:
            d = date(year, MONTHS.index(month) + 1, int(day))
        except ValueError:          # 29 February in a common year
            continue
        if d >= today - timedelta(days=1) and d.strftime("%A") == weekday:
            return datetime(d.year, d.month, d.day, hour_24, int(minute), tzinfo=tz)
    raise AssertionError(f"Meetup date {m.group(0)!r} matches no day after {today}")


def _jsonld(path: Path) -> list[dict]:
    html = path.read_text(encoding="utf-8")
    for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S):
        json.loads(block)          # raises if a block is not valid JSON
    data = extruct.extract(html, syntaxes=["json-ld"], uniform=True)["json-ld"]
    items: list[dict] = []
    for d in data:
        items.extend(d.get("@graph", [d]))
    return items


def _collect(config: Path, now: datetime, week_from: datetime,
             week_to: datetime) -> list[Seen]:
    """Every event the sources list, read with third-party parsers; recurring events are
    expanded over the digest week."""
    sources = tomllib.loads((config / "sources.toml").read_text(encoding="utf-8"))["source"]
    seen: list[Seen] = []
    for src in sources:
        path = _path(src["url"])
        tz = ZoneInfo(src["timezone"]) if "timezone" in src else UTC
        if src["type"] == "feed":
            feed = feedparser.parse(path.read_bytes())
            assert not feed.bozo, f"{path.name} is not well-formed: {feed.get('bozo_exception')}"
            assert feed.version in ("rss20", "atom10"), f"{path.name}: {feed.version}"
            for entry in feed.entries:
                if "ev_startdate" in entry:
                    start = datetime.fromisoformat(entry.ev_startdate)
                else:
                    start = _meetup_start(entry.description, now, tz)
                seen.append(Seen(src["name"], entry.title, start, src.get("city")))
        elif src["type"] == "ical":
            cal = icalendar.Calendar.from_ical(path.read_bytes())
            assert cal.walk("VTIMEZONE") or all(
                not getattr(c.get("dtstart").dt, "tzinfo", None) or
                c.get("dtstart").dt.tzinfo == UTC for c in cal.walk("VEVENT")
            ), f"{path.name} uses TZIDs without VTIMEZONE"
            singles = [c for c in cal.walk("VEVENT") if "RRULE" not in c]
            for c in singles:
                seen.append(Seen(src["name"], str(c["SUMMARY"]), c.decoded("DTSTART"),
                                 src.get("city")))
            series_uids = {str(c["UID"]) for c in cal.walk("VEVENT") if "RRULE" in c}
            for c in recurring_ical_events.of(cal).between(week_from, week_to):
                if str(c["UID"]) in series_uids:
                    seen.append(Seen(src["name"], str(c["SUMMARY"]), c.decoded("DTSTART"),
                                     src.get("city")))
        elif src["type"] == "page":
            pages = [path]
            if "follow" in src:
                listing = Selector(text=path.read_text(encoding="utf-8"))
                hrefs = listing.css(f"{src['follow']}::attr(href)").getall()
                assert hrefs, f"{src['name']}: the follow selector finds no links"
                pages = [_path(urljoin(src["url"], h)) for h in hrefs]
            for page in pages:
                assert page.is_file(), f"{src['name']}: followed link {page} does not exist"
                for item in _jsonld(page):
                    if "Event" in item["@type"] or item["@type"] == "Hackathon":
                        city = item.get("location", {})
                        city = city.get("address", {}).get("addressLocality") if isinstance(
                            city, dict) and "address" in city else None
                        seen.append(Seen(src["name"], item["name"],
                                         datetime.fromisoformat(item["startDate"]), city))
        elif src["type"] == "html":
            url = src["url"]
            select = src["select"]
            pages = 0
            while url:
                pages += 1
                sel = Selector(text=_path(url).read_text(encoding="utf-8"))
                items = sel.css(select["item"])
                assert items, f"{src['name']}: item selector matches nothing on {url}"
                for it in items:
                    title = it.css(select["title"]).get()
                    start = it.css(select["start"]).get()
                    assert title and start, f"{src['name']}: an item lacks title or start"
                    assert it.css(select["url"]).get(), f"{src['name']}: {title} has no link"
                    naive = datetime.fromisoformat(start)
                    assert naive.tzinfo is None, "html listing times are floating local times"
                    seen.append(Seen(src["name"], title, naive.replace(tzinfo=tz),
                                     src.get("city")))
                nxt = sel.css(src["next_page"]).get()
                url = urljoin(url, nxt) if nxt else None
            assert pages >= 2, f"{src['name']}: expected a paginated listing (next_page)"
        elif src["type"] == "json":
            fields = src["fields"]
            doc = json.loads(path.read_text(encoding="utf-8"))
            items = doc
            for part in fields["items"].split("."):
                items = items[part]
            assert isinstance(items, list) and items, "the JSON items path leads to no list"
            for it in items:
                missing = [f for f, key in fields.items() if f != "items" and key not in it]
                assert not missing, f"JSON item {it.get('id')} lacks mapped keys {missing}"
                start = datetime.fromisoformat(it[fields["start"]].replace("Z", "+00:00"))
                seen.append(Seen(src["name"], it[fields["title"]], start, it[fields["city"]]))
        else:
            raise AssertionError(f"unexpected source type {src['type']}")
    return seen


def _digest_week(now: datetime) -> tuple[datetime, datetime]:
    """SPEC: the ISO week that contains tomorrow (demo digest timezone: Europe/Berlin)."""
    tomorrow = (now.astimezone(BERLIN) + timedelta(days=1)).date()
    monday = tomorrow - timedelta(days=tomorrow.isoweekday() - 1)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=BERLIN)
    end_day = monday + timedelta(days=7)
    return start, datetime(end_day.year, end_day.month, end_day.day, tzinfo=BERLIN)


def _distinct(seen: list[Seen]) -> list[list[Seen]]:
    """Clusters of listings of one real event: same start, same city (or both online) and
    near-identical titles, as SPEC.md's merge rule says."""
    clusters: list[list[Seen]] = []
    for s in seen:
        for cluster in clusters:
            first = cluster[0]
            if (_instant(first.start) == _instant(s.start) and first.city == s.city
                    and fuzz.token_set_ratio(first.title.lower(), s.title.lower()) >= 80):
                cluster.append(s)
                break
        else:
            clusters.append([s])
    return clusters


def _instant(value: datetime | date, tz: ZoneInfo = BERLIN) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=tz)


@pytest.fixture(scope="module", params=list(NOWS), ids=list(NOWS))
def demo(request, tmp_path_factory):
    now = NOWS[request.param]
    config = materialize(tmp_path_factory.mktemp(request.param), now)
    return now, config


def test_config_files_parse_and_follow_spec_format(demo):
    now, config = demo
    for name in ("eventscout.toml", "sources.toml", "profiles.toml"):
        assert (config / name).is_file(), f"materialize() did not write {name}"
        tomllib.loads((config / name).read_text(encoding="utf-8"))
    sources = tomllib.loads((config / "sources.toml").read_text(encoding="utf-8"))["source"]
    types = sorted(s["type"] for s in sources)
    assert types == ["feed", "feed", "html", "ical", "ical", "json", "page", "page"]
    names = [s["name"] for s in sources]
    assert len(set(names)) == len(names), f"duplicate source names: {names}"
    for s in sources:
        assert re.fullmatch(r"[a-z0-9-]+", s["name"]), f"bad slug {s['name']!r}"
        assert s["type"] in SOURCE_TYPES
        assert _path(s["url"]).is_file(), f"{s['name']}: {s['url']} does not exist"
    profiles = tomllib.loads((config / "profiles.toml").read_text(encoding="utf-8"))["profile"]
    assert [p["name"] for p in profiles] == ["demo"]
    assert profiles[0]["email"] == "demo@example.org"
    assert profiles[0]["location"] == "Berlin, DE" and profiles[0]["radius_km"] == 50
    assert profiles[0]["online"] is True and "python" in profiles[0]["interests"]
    settings = tomllib.loads((config / "eventscout.toml").read_text(encoding="utf-8"))
    assert settings["digest"]["timezone"] == "Europe/Berlin"
    assert settings["database"]["url"] == f"sqlite:///{(config / 'eventscout.db').as_posix()}"


def test_every_source_reads_back_and_events_fill_the_digest_week(demo):
    now, config = demo
    week_from, week_to = _digest_week(now)
    seen = _collect(config, now, week_from - timedelta(days=30), week_to + timedelta(days=70))
    per_source = {}
    for s in seen:
        per_source[s.source] = per_source.get(s.source, 0) + 1
    assert per_source == {
        "berlin-tech-calendar": 7, "london-product-people": 5,
        "pyladies-berlin": 3 + 11,       # three single events, eleven weekly occurrences
        "nyc-impact-calendar": 5, "eventhub": 3, "datacraft-summit": 1,
        "london-creative-calendar": 8, "careers-api": 7,
    }, f"unexpected events per source: {per_source}"

    in_week = [c for c in _distinct(seen) if now < _instant(c[0].start) < week_to
               and _instant(c[0].start) >= week_from]
    assert len(in_week) >= 8, (
        f"only {len(in_week)} events start between now ({now}) and the end of the digest week "
        f"{week_from:%G-W%V}; the demo digest would be thin"
    )
    single = [s for s in seen if "Study Group" not in s.title]
    for s in single:
        start = _instant(s.start)
        assert now < start < now + timedelta(days=62), (
            f"{s.source}: {s.title!r} starts {start}, outside now .. now + 60 days ({now})"
        )
    assert 30 <= len(_distinct(single)) <= 40, f"{len(_distinct(single))} distinct events"


def test_duplicates_across_sources_share_start_and_city(demo):
    now, config = demo
    week_from, week_to = _digest_week(now)
    seen = _collect(config, now, week_from, week_to)
    shared = [c for c in _distinct(seen) if len({s.source for s in c}) > 1]
    assert len(shared) == 4, (
        f"expected 4 events listed by two sources, found {[[s.title for s in c] for c in shared]}"
    )
    for cluster in shared:
        assert len({s.title for s in cluster}) == 2, (
            f"the two listings of {cluster[0].title!r} should differ slightly in title"
        )


def test_call_for_speakers_deadline_is_days_ahead(demo):
    now, config = demo
    items = _jsonld(config / "pages" / "datacraft-summit" / "index.html")
    (conf,) = [i for i in items if i["@type"] == "ConferenceEvent"]
    offer = conf["hasParticipationOffer"]
    deadline = datetime.fromisoformat(offer["availabilityEnds"])
    assert timedelta(days=5) <= deadline - now <= timedelta(days=10), (
        f"the call for speakers closes {deadline}, not 5-10 days after now ({now})"
    )
    assert datetime.fromisoformat(conf["startDate"]) > deadline


def test_weekly_rrule_has_an_occurrence_in_the_digest_week(demo):
    now, config = demo
    cal = icalendar.Calendar.from_ical((config / "calendars" / "pyladies-berlin.ics").read_bytes())
    (series,) = [c for c in cal.walk("VEVENT") if "RRULE" in c]
    assert series["RRULE"]["FREQ"] == ["WEEKLY"]
    week_from, week_to = _digest_week(now)
    hits = recurring_ical_events.of(cal).between(max(week_from, now), week_to)
    assert any(str(h["UID"]) == str(series["UID"]) for h in hits), (
        "the weekly study group has no occurrence left in the digest week"
    )


def test_same_now_gives_same_bytes(tmp_path):
    now = NOWS["leap-day"]
    a, b = materialize(tmp_path / "a", now), materialize(tmp_path / "b", now)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        da = (a / rel).read_bytes().replace(str(a).encode(), b"DEST")
        db = (b / rel).read_bytes().replace(str(b).encode(), b"DEST")
        assert da == db, f"{rel} differs between two runs with the same now"


def test_naive_now_is_refused(tmp_path):
    with pytest.raises(ValueError, match="aware"):
        materialize(tmp_path, datetime(2026, 3, 15, 12, 0))
