"""spiders/html.py: event listings read by configured CSS / XPath selectors.

Checked against the evaluation mini-web ($EVENTSCOUT_EVAL, ground truth in expected.json)
and the hand-written fixture tests/fixtures/html/listing.html.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import strip_utm, utc_z

from aggregator import constants
from aggregator.config_types import SourceConfig
from aggregator.items import EventItem
from spiders import html
from spiders.base import ParseContext, SourceError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "html"
BASE = "http://127.0.0.1:8000"
NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
NOW_V2 = datetime(2027, 2, 7, 9, 0, tzinfo=UTC)


def _source(eval_dir: Path, name: str) -> SourceConfig:
    text = (eval_dir / "config" / "sources.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text.replace("{BASE}", BASE))
    return next(SourceConfig(**s) for s in data["source"] if s["name"] == name)


def _fetch(site: Path, url: str) -> bytes:
    path = urlsplit(url).path.lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return (site / path).read_bytes().replace(b"{BASE}", BASE.encode())


def _crawl(site: Path, source: SourceConfig, now: datetime) -> tuple[list[EventItem], list[str]]:
    """Every listing page, following next_page; returns the items and the pages read."""
    events: list[EventItem] = []
    pages: list[str] = []
    queue = [source.url]
    while queue:
        url = queue.pop(0)
        pages.append(url)
        result = html.parse(_fetch(site, url), url, source,
                            ParseContext(now=now, followed=url != source.url))
        assert result.warnings == [], f"{url}: unexpected warnings {result.warnings}"
        events += result.events
        queue += [u for u in result.follow if u not in pages]
        assert len(pages) < 10, "next_page keeps leading to new pages"
    return events, pages




# --------------------------------------------------------------------------- eval mini-web


def test_chicago_listing_matches_expected_events(eval_dir: Path) -> None:
    source = _source(eval_dir, "chicago-business-calendar")
    events, pages = _crawl(eval_dir / "site", source, NOW)
    assert pages == [f"{BASE}/chicago-calendar/", f"{BASE}/chicago-calendar/page-2.html"], (
        "next_page must lead from the first listing page to page 2 and stop there")
    assert len(events) == 26
    expected = json.loads((eval_dir / "expected.json").read_text(encoding="utf-8"))
    wanted = [e for e in expected["events"] if "chicago-business-calendar" in e["sources"]]
    assert len(wanted) == 26
    by_url = {strip_utm(e.url): e for e in events}
    assert len(by_url) == 26, "two listing entries share a URL"
    problems: list[str] = []
    for exp in wanted:
        url = next(u.replace("{BASE}", BASE) for u in exp["urls"]
                   if "/chicago-calendar/" in u)
        item = by_url.get(url)
        if item is None:
            problems.append(f"{exp['key']}: no listing entry links to {url}")
            continue
        zone = item.timezone or source.timezone
        got = {
            "start_utc": utc_z(item.start, zone),
            "end_utc": utc_z(item.end, zone),
            "status": item.status or constants.SCHEDULED,
            "cfp_deadline": item.cfp_deadline,
            "all_day": item.all_day,
            "online": bool(item.online),
        }
        want = {k: exp[k] for k in got}
        if got != want:
            problems.append(f"{exp['key']}: got {got}, expected {want}")
        if item.price is not None:
            problems.append(f"{exp['key']}: price {item.price!r}, but the listing shows none "
                            "(prices are only on the detail pages, which html does not follow)")
        if not item.online and item.city != exp["city"]:
            problems.append(f"{exp['key']}: city {item.city!r}, expected {exp['city']!r}")
    assert not problems, "listing items differ from expected.json:\n" + "\n".join(problems)


def test_chicago_listing_entry_fields(eval_dir: Path) -> None:
    source = _source(eval_dir, "chicago-business-calendar")
    url = source.url
    result = html.parse(_fetch(eval_dir / "site", url), url, source, ParseContext(now=NOW))
    first = result.events[0]
    assert first.title == "Fintech Compliance Breakfast"
    assert first.url == (f"{BASE}/chicago-calendar/2027/02/chi-fintech-compliance-breakfast.html"
                         "?utm_source=calendar&utm_medium=web"), (
        "relative links are made absolute; tracking parameters are the normaliser's to drop")
    assert (first.start, first.end) == (datetime(2027, 2, 2, 7, 30), datetime(2027, 2, 2, 9, 0)), (
        "datetime attributes without an offset are naive local times")
    assert (first.venue, first.city) == ("Loop Conference Center", "Chicago")
    assert first.address == "Loop Conference Center, 200 W Madison Street, Chicago, IL 60606"
    assert first.description == (
        "Compliance officers and counsel from banks and fintechs on new consumer-protection "
        "rules, sponsor-bank oversight and AI in underwriting.")
    assert result.follow == [f"{BASE}/chicago-calendar/page-2.html"]


def test_second_crawl_keeps_the_cancelled_prefix_and_the_new_time(eval_dir: Path) -> None:
    source = _source(eval_dir, "chicago-business-calendar")
    events, _pages = _crawl(eval_dir / "site_v2", source, NOW_V2)
    by_url = {strip_utm(e.url): e for e in events}
    expo = by_url[f"{BASE}/chicago-calendar/2027/02/chi-hospitality-innovation-expo.html"]
    assert expo.title == "CANCELLED: Restaurant & Hospitality Innovation Expo", (
        "the title prefix is left for the normalize pipeline to read")
    legal = by_url[f"{BASE}/chicago-calendar/2027/02/chi-legal-tech-meetup.html"]
    assert utc_z(legal.start, source.timezone) == "2027-02-19T00:00:00Z"


# --------------------------------------------------------------------------- fixture

FIXTURE_SELECT = {
    "item": "//div[@class='ev']",          # XPath
    "title": "h3 ::text",
    "url": "./h3/a/@href",                 # XPath relative to the item
    "start": "time.from",                  # an element: its datetime attribute, else its text
    "end": "time.to",
    "location": "span.where::text",
    "description": "div.about",            # an element: its text content
    "tags": "span.tags::text",
    "organizer": "span.host",
}


def _fixture(select: dict[str, str] | None = None, next_page: str | None = "a.next::attr(href)",
             url: str = "https://riverside.example/calendar/?page=1") -> html.ParseResult:
    source = SourceConfig(name="riverside", type="html", url=url, next_page=next_page,
                          select=select or FIXTURE_SELECT, group="Riverside Collective",
                          industries=["nonprofit"])
    return html.parse((FIXTURES / "listing.html").read_bytes(), url, source,
                      ParseContext(now=NOW))


def test_fixture_listing_fields() -> None:
    result = _fixture()
    titles = [e.title for e in result.events]
    assert titles == ["Spring Mixer", "CANCELLED: Online CV Clinic", "Careers Fair",
                      "Riverside Walk"]
    assert result.warnings == ["1 listing entries without a title or start were skipped"]
    mixer, clinic, fair, walk = result.events

    assert mixer.url == "https://riverside.example/calendar/spring-mixer.html?utm_source=list", (
        "relative URLs resolve against <base href>")
    assert (mixer.start, mixer.end) == (datetime(2027, 4, 1, 18, 0), datetime(2027, 4, 1, 20, 30))
    assert (mixer.venue, mixer.address, mixer.city) == (
        "Mill Hall", "Mill Hall, 5 Canal Street, Leeds, LS1 4AB", "Leeds")
    assert mixer.description == "Meet the river crowd.\nDrinks & snacks."
    assert mixer.tags == ["networking", "community"]
    assert mixer.organizer == "Riverside Collective"
    assert (mixer.group, mixer.industries) == ("Riverside Collective", ["nonprofit"])
    assert mixer.all_day is False

    assert clinic.start == datetime(2027, 4, 3, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert (clinic.online, clinic.venue, clinic.city) == (True, None, None)
    assert clinic.url == "https://riverside.example/calendar/online-clinic"

    assert (fair.start, fair.all_day) == (date(2027, 4, 10), True)
    assert fair.url == "https://elsewhere.example/fair"

    assert walk.url is None
    assert (walk.start, walk.end) == (
        datetime(2027, 4, 17, 10, 0), datetime(2027, 4, 17, 12, 30)
    ), "a time element without a datetime attribute is read from its text"

    assert result.follow == ["https://riverside.example/calendar/?page=2"]


def test_next_page_that_is_this_page_is_not_followed() -> None:
    result = _fixture(next_page="a.self::attr(href)",
                      url="https://riverside.example/calendar/")
    assert result.follow == []


def test_item_selector_matching_nothing_gives_an_empty_result_and_a_warning() -> None:
    result = _fixture(select={**FIXTURE_SELECT, "item": "article.listing"}, next_page=None)
    assert (result.events, result.follow) == ([], [])
    assert result.warnings == [
        "select.item = 'article.listing' matched nothing on https://riverside.example/calendar/?page=1"]


@pytest.mark.parametrize(("select", "message"), [
    ({**FIXTURE_SELECT, "title": "h3[[["}, "select.title = 'h3[[[' is not a valid CSS selector"),
    ({**FIXTURE_SELECT, "item": "//div[@class="},
     "select.item = '//div[@class=' is not a valid XPath"),
    ({"title": "h3::text"}, "no [source.select] item selector"),
])
def test_bad_selectors_are_the_sources_error(select: dict[str, str], message: str) -> None:
    with pytest.raises(SourceError, match=re.escape(message)):
        _fixture(select=select)


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "empty page"),
    (bytes(range(256)) * 40, "binary data"),
    (b"no markup here at all", "no markup"),
])
def test_unreadable_bodies_raise_source_error(body: bytes, reason: str) -> None:
    source = SourceConfig(name="x", type="html", url="https://example.org/",
                          select={"item": "li", "title": "::text"})
    with pytest.raises(SourceError, match=reason):
        html.parse(body, source.url, source, ParseContext(now=NOW))


def test_latin1_page_declared_in_meta_is_decoded() -> None:
    body = ('<html><head><meta charset="iso-8859-1"></head><body><ul>'
            '<li><b>Café Décor Meetup</b><time datetime="2027-05-02T19:00">x</time></li>'
            '</ul></body></html>').encode("latin-1")
    source = SourceConfig(name="x", type="html", url="https://example.org/",
                          select={"item": "li", "title": "b::text", "start": "time"})
    event, = html.parse(body, source.url, source, ParseContext(now=NOW)).events
    assert event.title == "Café Décor Meetup"


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(("text", "default", "expected"), [
    ("2027-02-03", None, date(2027, 2, 3)),
    ("20270203", None, date(2027, 2, 3)),
    ("2027-02-03T11:00:00+00:00", None, datetime(2027, 2, 3, 11, 0, tzinfo=UTC)),
    ("2027-02-03T11:00:00Z", None, datetime(2027, 2, 3, 11, 0, tzinfo=UTC)),
    ("2027-02-06T10:00:00-0600", None,
     datetime(2027, 2, 6, 10, 0, tzinfo=timezone(timedelta(hours=-6)))),
    ("2027-02-03T07:30", None, datetime(2027, 2, 3, 7, 30)),
    ("20080228T173000", None, datetime(2008, 2, 28, 17, 30)),
    ("9:00 PM", datetime(2027, 2, 3, 18, 0), datetime(2027, 2, 3, 21, 0)),
    ("Tue, Nov 2 · 7:30 AM", None, datetime(2027, 11, 2, 7, 30)),
    ("Jan 5, 10:00", None, datetime(2028, 1, 5, 10, 0)),     # long past in this year: next year
    ("to be announced", None, None),
    ("", None, None),
])
def test_parse_when(text: str, default: datetime | None, expected: object) -> None:
    assert html.parse_when(text, default=default, now=datetime(2027, 11, 1, tzinfo=UTC)
                           ) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Online", html.Location(online=True)),
    ("Zoom (link after registration)", html.Location(online=True)),
    ("https://meet.example/abc", html.Location(online=True)),
    ("Fulton Market Commons", html.Location(venue="Fulton Market Commons")),
    ("Evanston Civic Hall, 2100 Ridge Avenue, Evanston, IL 60201",
     html.Location("Evanston Civic Hall",
                   "Evanston Civic Hall, 2100 Ridge Avenue, Evanston, IL 60201", "Evanston")),
    ("Grand Canal Quay Hall, 11 Grand Canal Quay, Dublin D02 VX73",
     html.Location("Grand Canal Quay Hall",
                   "Grand Canal Quay Hall, 11 Grand Canal Quay, Dublin D02 VX73", None)),
    (None, html.Location()),
])
def test_split_location(text: str | None, expected: html.Location) -> None:
    assert html.split_location(text) == expected


def test_selector_names_map_to_item_fields() -> None:
    select = {"item": "div.ev", "name": "h3 ::text", "start": "time.from",
              "kind": "span.tags::text", "status": "span.host", "colour": "span.where"}
    result = _fixture(select=select, next_page=None)
    mixer = result.events[0]
    assert (mixer.title, mixer.kind_text, mixer.status_text, mixer.status) == (
        "Spring Mixer", "networking, community", "Riverside Collective", None), (
        "kind and status selectors fill the raw kind_text / status_text, never the vocabulary")
    assert "select: colour name no event field; ignored" in result.warnings


def test_the_binary_probe_counts_what_a_character_loop_counts() -> None:
    """spiders.html._NOT_TEXT (a regex, ~50x faster) against the loop it replaced."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from spiders.html import _NOT_TEXT

    @settings(max_examples=500, deadline=None)
    @given(st.text(alphabet=st.characters(max_codepoint=0x10FFFF, exclude_categories=["Cs"])))
    def check(probe: str) -> None:
        loop = sum(1 for ch in probe if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f"))
        assert len(_NOT_TEXT.findall(probe)) == loop

    check()
