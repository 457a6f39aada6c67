"""spiders/page.py: schema.org (JSON-LD, microdata, RDFa) and h-event pages.

Checked against the evaluation mini-web ($EVENTSCOUT_EVAL, ground truth in expected.json),
hand-written fixtures in tests/fixtures/page/, and every file of the real third-party
corpus in $EVENTSCOUT_CORPUS/html/.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from helpers import strip_utm, utc_z

from aggregator import constants
from aggregator.config_types import SourceConfig
from aggregator.items import EventItem, GroupItem
from spiders import page
from spiders.base import ParseContext, SourceError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "page"
BASE = "http://127.0.0.1:8000"
NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
NOW_V2 = datetime(2027, 2, 7, 9, 0, tzinfo=UTC)

PAGE_SOURCES = (
    "ticketa", "liffey-careers", "nonprofit-data-day", "cascadia-reliability",
    "periodismo-datos-cdmx", "solar-pros-kenya",
)
# h-event markup has no price property: the agenda only says "Entrada libre" in prose
NO_PRICE_MARKUP = {"periodismo-datos-cdmx"}


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def html_corpus(corpus_dir: Path) -> Path:
    return corpus_dir / "html"


def _sources(eval_dir: Path) -> dict[str, SourceConfig]:
    text = (eval_dir / "config" / "sources.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text.replace("{BASE}", BASE))
    return {s["name"]: SourceConfig(**s) for s in data["source"]}


def _fetch(site: Path, url: str) -> bytes:
    """The file the mini-web serves at ``url`` ("/x/" is "x/index.html")."""
    path = urlsplit(url).path.lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return (site / path).read_bytes().replace(b"{BASE}", BASE.encode())


def _crawl(site: Path, source: SourceConfig, now: datetime) -> tuple[list[EventItem],
                                                                    list[GroupItem], list[str]]:
    """The source's page, then every page its ``follow`` links lead to (one level)."""
    first = page.parse(_fetch(site, source.url), source.url, source, ParseContext(now=now))
    events, groups = list(first.events), list(first.groups)
    for link in first.follow:
        followed = page.parse(_fetch(site, link), link, source,
                              ParseContext(now=now, followed=True))
        assert followed.follow == [], f"{link}: a followed page must not follow further"
        events += followed.events
        groups += followed.groups
    return events, groups, first.follow




def _page_events(eval_dir: Path, site: str = "site", now: datetime = NOW
                 ) -> dict[str, list[tuple[SourceConfig, EventItem]]]:
    sources = _sources(eval_dir)
    found: dict[str, list[tuple[SourceConfig, EventItem]]] = {}
    for name in PAGE_SOURCES:
        events, _groups, _follow = _crawl(eval_dir / site, sources[name], now)
        for event in events:
            found.setdefault(strip_utm(event.url) or "", []).append((sources[name], event))
    return found


# --------------------------------------------------------------------------- eval mini-web


def test_every_expected_page_event_is_read_exactly(eval_dir: Path) -> None:
    expected = json.loads((eval_dir / "expected.json").read_text(encoding="utf-8"))
    found = _page_events(eval_dir)
    wanted = [e for e in expected["events"] if set(e["sources"]) & set(PAGE_SOURCES)]
    assert len(wanted) == 21, "expected.json should list 21 events from the page sources"
    problems: list[str] = []
    checked = 0
    for exp in wanted:
        urls = {u.replace("{BASE}", BASE) for u in exp["urls"]}
        matches = [(s, e) for u in urls for (s, e) in found.get(u, [])]
        if not matches:
            problems.append(f"{exp['key']}: no item with any of the URLs {sorted(urls)}")
            continue
        for source, item in matches:
            checked += 1
            where = f"{exp['key']} from {source.name}"
            zone = item.timezone or source.timezone
            start, end = utc_z(item.start, zone), utc_z(item.end, zone)
            if start != exp["start_utc"]:
                problems.append(f"{where}: start {start}, expected {exp['start_utc']}")
            if end != exp["end_utc"]:
                problems.append(f"{where}: end {end}, expected {exp['end_utc']}")
            status = item.status or constants.SCHEDULED
            if status != exp["status"]:
                problems.append(f"{where}: status {status}, expected {exp['status']}")
            previous = utc_z(item.previous_start, zone)
            if previous != exp.get("previous_start_utc"):
                problems.append(f"{where}: previous start {previous}, "
                                f"expected {exp.get('previous_start_utc')}")
            cfp = item.cfp_deadline.isoformat() if item.cfp_deadline else None
            if cfp != exp["cfp_deadline"]:
                problems.append(f"{where}: cfp_deadline {cfp}, expected {exp['cfp_deadline']}")
            if source.name in NO_PRICE_MARKUP:
                if (item.price, item.currency) != (None, None):
                    problems.append(f"{where}: price {item.price} {item.currency} read from "
                                    "a page that has no price markup")
            elif (item.price, item.currency) != (exp["price"], exp["currency"]):
                problems.append(f"{where}: price {item.price} {item.currency}, expected "
                                f"{exp['price']} {exp['currency']}")
            if item.all_day != exp["all_day"]:
                problems.append(f"{where}: all_day {item.all_day}, expected {exp['all_day']}")
            if item.online is True and not exp["online"]:
                problems.append(f"{where}: marked online, but it is in person")
            if exp["online"] and item.online is not True:
                problems.append(f"{where}: online is {item.online}, expected True")
    assert not problems, "page items differ from expected.json:\n" + "\n".join(problems)
    assert checked == 21


def test_ticketa_listing_follows_only_the_event_card_links(eval_dir: Path) -> None:
    source = _sources(eval_dir)["ticketa"]
    result = page.parse(_fetch(eval_dir / "site", source.url), source.url, source,
                        ParseContext(now=NOW))
    cards = sorted(f"{BASE}/ticketa/e/{p.name}" for p in (eval_dir / "site/ticketa/e").iterdir())
    assert len(cards) == 8
    assert sorted(result.follow) == cards, (
        "follow must hold exactly the a.event-card__link targets, made absolute; "
        "header and footer links (Home, Help, About, Privacy) must not be followed")
    assert result.events == [], "the Ticketa listing has no structured data of its own"
    followed = page.parse(_fetch(eval_dir / "site", cards[0]), cards[0], source,
                          ParseContext(now=NOW, followed=True))
    assert followed.follow == [], "a page reached by following must not follow again"


def test_ticketa_event_page_fields(eval_dir: Path) -> None:
    source = _sources(eval_dir)["ticketa"]
    url = f"{BASE}/ticketa/e/tk-east-africa-solar-expo-tickets-852948607559.html"
    result = page.parse(_fetch(eval_dir / "site", url), url, source,
                        ParseContext(now=NOW, followed=True))
    assert len(result.events) == 1
    event = result.events[0]
    eat = timezone(timedelta(hours=3))
    assert event.title == "East Africa Solar Expo"
    assert event.url == url
    assert event.start == datetime(2027, 3, 4, 9, 0, tzinfo=eat)
    assert event.end == datetime(2027, 3, 5, 17, 0, tzinfo=eat)
    assert (event.status, event.status_text) == (constants.RESCHEDULED, "EventRescheduled")
    assert event.previous_start == datetime(2027, 2, 11, 9, 0, tzinfo=eat)
    assert (event.venue, event.city, event.country) == (
        "Kenyatta Avenue Conference Hall", "Nairobi", "KE")
    assert event.online is False
    assert (event.price, event.currency) == (2500, "KES")
    assert event.organizer == "Savanna Solar"
    assert event.performers == ["Dennis Kariuki", "Kevin Mutua", "Faith Chebet"]
    assert event.kind_text == "BusinessEvent"
    assert event.language == "en"
    assert event.description is not None and event.description.startswith("The region's solar")


def test_ticketa_aggregate_offer_gives_the_lowest_price(eval_dir: Path) -> None:
    source = _sources(eval_dir)["ticketa"]
    url = f"{BASE}/ticketa/e/tk-product-management-bootcamp-amsterdam-tickets-774347671415.html"
    event = page.parse(_fetch(eval_dir / "site", url), url, source,
                       ParseContext(now=NOW, followed=True)).events[0]
    assert (event.price, event.currency) == (249, "EUR")
    assert event.kind_text == "EducationEvent"


def test_liffey_microdata_hybrid_online_and_award_deadline(eval_dir: Path) -> None:
    source = _sources(eval_dir)["liffey-careers"]
    result = page.parse(_fetch(eval_dir / "site", source.url), source.url, source,
                        ParseContext(now=NOW))
    by_title = {e.title: e for e in result.events}
    assert len(by_title) == 5
    hybrid = by_title["Academic CV to Industry Résumé Workshop"]
    assert (hybrid.online, hybrid.hybrid, hybrid.city) == (True, True, "Dublin")
    online = by_title["LinkedIn Clinic for Researchers"]
    assert (online.online, online.hybrid, online.venue) == (True, False, None)
    awards = by_title["Teaching Excellence Awards 2027: Nominations"]
    assert awards.cfp_deadline == date(2027, 2, 26), (
        "the nomination deadline is only in the description: 'Nominations close 26 February 2027'")
    assert awards.price is None, "the awards entry lists no offer"
    assert all(e.organizer and e.organizer.startswith("Liffey University") for e in result.events)
    assert all(e.industries == ["education"] for e in result.events)


def test_cascadia_call_for_speakers(eval_dir: Path) -> None:
    source = _sources(eval_dir)["cascadia-reliability"]
    event, = page.parse(_fetch(eval_dir / "site", source.url), source.url, source,
                        ParseContext(now=NOW)).events
    assert event.kind_text == "ConferenceEvent"
    assert event.cfp_deadline == datetime(2027, 2, 19, 23, 59, tzinfo=timezone(timedelta(hours=-8)))
    assert event.cfp_url == f"{BASE}/cascadia-reliability/2027/call-for-speakers/"


def test_periodismo_h_events_carry_the_configured_group(eval_dir: Path) -> None:
    source = _sources(eval_dir)["periodismo-datos-cdmx"]
    result = page.parse(_fetch(eval_dir / "site", source.url), source.url, source,
                        ParseContext(now=NOW))
    assert [e.title for e in result.events] == [
        "Taller: verificación de datos para periodistas",
        "Taller: Python para periodistas",
        "Meetup: datos electorales 2027",
    ]
    first = result.events[0]
    assert first.start == datetime(2027, 2, 6, 10, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert (first.venue, first.city, first.country) == ("Casa Roma Norte", "Mexico City", "México")
    assert first.description is not None and "Entrada libre" in first.description
    assert {e.group for e in result.events} == {"Periodismo de Datos CDMX"}
    assert result.groups == [], "a page h-card is not read as a group"


def test_solar_pros_organization_is_a_group_with_its_events(eval_dir: Path) -> None:
    source = _sources(eval_dir)["solar-pros-kenya"]
    result = page.parse(_fetch(eval_dir / "site", source.url), source.url, source,
                        ParseContext(now=NOW))
    assert result.groups == [GroupItem(
        source="solar-pros-kenya",
        name="Solar Professionals Association of Kenya",
        url=f"{BASE}/solar-pros-kenya/",
        description=(
            "The Solar Professionals Association of Kenya brings together installers, "
            "engineers, developers and financiers working on solar and mini-grids. We run "
            "certification workshops, policy forums and a mentoring scheme for young engineers."),
        city="Nairobi",
        country="KE",
        industries=["energy"],
        tags=["solar PV", "mini-grids", "energy access", "installer certification"],
    )]
    assert len(result.events) == 3
    for event in result.events:
        assert event.group == "Solar Professionals Association of Kenya"
        assert event.organizer == "Solar Professionals Association of Kenya"
        assert event.group_url == f"{BASE}/solar-pros-kenya/"


def test_second_crawl_reads_cancelled_rescheduled_and_moved_online(eval_dir: Path) -> None:
    found = _page_events(eval_dir, site="site_v2", now=NOW_V2)

    def item(slug: str) -> EventItem:
        (_source, event), = found[f"{BASE}/ticketa/e/{slug}.html"]
        return event

    cancelled = item("tk-chicago-fundraising-day-tickets-365640978827")
    assert (cancelled.status, cancelled.status_text) == (constants.CANCELLED, "EventCancelled")
    moved = item("tk-women-in-stem-dublin-tickets-653265459807")
    assert moved.status == constants.RESCHEDULED
    assert utc_z(moved.start, None) == "2027-02-16T18:00:00Z"
    assert utc_z(moved.previous_start, None) == "2027-02-10T18:00:00Z"
    online = item("tk-cascadia-devops-day-tickets-424221272984")
    assert (online.status, online.online) == (constants.MOVED_ONLINE, True)
    assert online.venue is None, "a VirtualLocation has no venue"


# --------------------------------------------------------------------------- fixtures


def _fixture(name: str, url: str, follow: str | None = None,
             now: datetime = NOW) -> page.ParseResult:
    source = SourceConfig(name="fixture", type="page", url=url, follow=follow,
                          tags=["harbour"], group=None)
    return page.parse((FIXTURES / name).read_bytes(), url, source, ParseContext(now=now))


def test_graph_fixture_reads_every_event_in_the_graph() -> None:
    result = _fixture("graph.html", "https://harbour.example/events/", follow="a.event-link")
    by_title = {e.title: e for e in result.events}
    assert list(by_title) == [
        "Harbour Hack 2027",
        "Port Logistics Breakfast & Briefing",
        "Founders' Evening",
        "Harbour Tech Week Open Day",
    ], "the event without a start date is skipped; the others are read in page order"

    hack = by_title["Harbour Hack 2027"]
    assert hack.url == "https://harbour.example/events/harbour-hack"
    assert hack.start == datetime(2027, 3, 6, 9, 0, tzinfo=UTC)
    assert hack.end == datetime(2027, 3, 7, 17, 0, tzinfo=UTC)
    assert (hack.venue, hack.address, hack.city, hack.country) == (
        "Pier 4 Hall", "4 Quay Road, Cork, IE", "Cork", "IE")
    assert (hack.latitude, hack.longitude) == (51.8985, -8.4756)
    assert (hack.online, hack.hybrid) == (True, True)
    assert (hack.price, hack.currency) == (15, "EUR")
    assert hack.organizer == "Harbour Tech Ltd"
    assert hack.performers == ["Aoife Byrne", "Tomás Walsh"]
    assert hack.kind_text == "Hackathon"
    assert hack.tags == ["hackathon", "maritime", "open data", "harbour"]
    assert hack.language == "en"
    assert hack.status is None and hack.status_text is None

    breakfast = by_title["Port Logistics Breakfast & Briefing"]
    assert (breakfast.status, breakfast.status_text) == (constants.CANCELLED, "EventCancelled")
    assert breakfast.venue == "Pier 4 Hall", "the location is an @id reference into the graph"
    assert breakfast.kind_text == "BusinessEvent"

    founders = by_title["Founders' Evening"]
    assert founders.start == datetime(2027, 3, 4, 18, 30), "no offset: a naive local time"
    assert founders.end == datetime(2027, 3, 4, 21, 0)
    assert (founders.status, founders.online) == (constants.MOVED_ONLINE, True)
    assert (founders.price, founders.currency) == (0, "EUR")

    open_day = by_title["Harbour Tech Week Open Day"]
    assert (open_day.start, open_day.end, open_day.all_day) == (
        date(2027, 3, 2), date(2027, 3, 3), True)
    assert (open_day.venue, open_day.city) == ("Cork City Hall", "Cork")
    assert open_day.price == 0, "isAccessibleForFree is a price of 0"

    assert result.groups == [], "the site's publisher Organization is not a group"
    assert result.follow == [
        "https://harbour.example/events/harbour-hack",
        "https://harbour.example/events/events/logistics-breakfast",
        "https://other.example/founders",
    ], "follow: matching links only, absolute, without fragments, once each, http(s) only"
    assert any("JSON-LD block 2 is not valid JSON" in w for w in result.warnings)


def test_follow_is_ignored_on_a_followed_page() -> None:
    source = SourceConfig(name="fixture", type="page", url="https://harbour.example/events/",
                          follow="a.event-link")
    result = page.parse((FIXTURES / "graph.html").read_bytes(), source.url, source,
                        ParseContext(now=NOW, followed=True))
    assert result.follow == []
    assert len(result.events) == 4


def test_rdfa_and_microformats_fixture() -> None:
    result = _fixture("rdfa-mf2.html", "https://lakeside.example/events/")
    conference, critique = result.events
    cest = timezone(timedelta(hours=2))
    assert conference.title == "Lakeside UX Conference"
    assert conference.kind_text == "ConferenceEvent"
    assert (conference.start, conference.end) == (
        datetime(2027, 4, 21, 9, 0, tzinfo=cest), datetime(2027, 4, 22, 17, 0, tzinfo=cest))
    assert (conference.status, conference.status_text) == (constants.POSTPONED, "EventPostponed")
    assert (conference.venue, conference.city, conference.country) == ("Seehalle", "Zürich", "CH")
    assert (conference.price, conference.currency) == (180, "CHF")
    assert conference.url == "https://lakeside.example/ux-conference-2027"

    assert critique.title == "Design Critique Night"
    assert critique.start == datetime(2027, 4, 8, 18, 30)
    assert critique.end == datetime(2027, 4, 8, 21, 0), "an end time borrows the start's date"
    assert (critique.venue, critique.city) == ("Atelier Nord", "Zürich")
    assert critique.tags == ["design", "critique", "harbour"]
    assert critique.url == "https://lakeside.example/critique-night"
    assert critique.cfp_deadline == date(2027, 4, 1)


def test_a_json_ld_body_is_read_directly() -> None:
    body = json.dumps({
        "@context": "https://schema.org", "@type": "Event", "name": "Standalone",
        "startDate": "2027-05-01T10:00:00Z", "eventAttendanceMode": "OnlineEventAttendanceMode",
    }).encode()
    source = SourceConfig(name="x", type="page", url="https://api.example/e/1.jsonld")
    event, = page.parse(body, source.url, source, ParseContext(now=NOW)).events
    assert (event.title, event.start, event.online) == (
        "Standalone", datetime(2027, 5, 1, 10, 0, tzinfo=UTC), True)
    assert event.url == source.url, "the only event on a page without its own url is the page"


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "empty page"),
    (b"   \n  ", "empty page"),
    (bytes(range(256)) * 40, "binary data"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00\x01\x02\xff" * 500, "binary data"),
    (b"just some words, no markup at all", "no markup"),
    (b"{\"@type\": \"Event\", \"name\": ", "not valid JSON-LD"),
])
def test_unreadable_bodies_raise_source_error(body: bytes, reason: str) -> None:
    source = SourceConfig(name="x", type="page", url="https://example.org/")
    with pytest.raises(SourceError, match=reason):
        page.parse(body, source.url, source, ParseContext(now=NOW))


def test_a_page_without_structured_data_warns() -> None:
    source = SourceConfig(name="x", type="page", url="https://example.org/")
    result = page.parse(b"<html><body><h1>Hello</h1></body></html>", source.url, source,
                        ParseContext(now=NOW))
    assert (result.events, result.groups, result.follow) == ([], [], [])
    assert result.warnings == ["no schema.org Event or Organization and no h-event on the page"]


def test_a_shared_listing_url_is_no_events_own_url() -> None:
    body = b"""<html><body>
    <div itemscope itemtype="https://schema.org/Event"><span itemprop="name">A</span>
      <meta itemprop="startDate" content="2027-03-01"><a itemprop="url" href="/all">x</a></div>
    <div itemscope itemtype="https://schema.org/Event"><span itemprop="name">B</span>
      <meta itemprop="startDate" content="2027-03-02"><a itemprop="url" href="/all">x</a></div>
    </body></html>"""
    source = SourceConfig(name="x", type="page", url="https://example.org/list")
    result = page.parse(body, source.url, source, ParseContext(now=NOW))
    assert [(e.title, e.url) for e in result.events] == [("A", None), ("B", None)], (
        "two different events that both link to /all: /all is a listing, not their page")


# --------------------------------------------------------------------------- real corpus


def _invariant_problems(name: str, event: EventItem) -> list[str]:
    problems = []
    if not event.title.strip():
        problems.append(f"{name}: an event with an empty title")
    if not isinstance(event.start, (date, datetime)):
        problems.append(f"{name}: {event.title!r} has no start")
    if event.all_day != (not isinstance(event.start, datetime)):
        problems.append(
            f"{name}: {event.title!r} all_day={event.all_day} but start={event.start!r}")
    if event.end is not None and type(event.end) is not type(event.start):
        problems.append(f"{name}: {event.title!r} mixes {type(event.start).__name__} start "
                        f"and {type(event.end).__name__} end")
    for value in (event.start, event.end, event.previous_start, event.cfp_deadline):
        if isinstance(value, datetime) and value.tzinfo is not None and not isinstance(
                value.tzinfo, (timezone, ZoneInfo)):
            problems.append(f"{name}: {event.title!r} has a third-party tzinfo {value.tzinfo!r}")
    for url in [event.url, event.cfp_url, *event.urls]:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            problems.append(f"{name}: {event.title!r} has a non-absolute url {url!r}")
    return problems


def test_every_corpus_html_file_parses_or_raises_source_error(html_corpus: Path) -> None:
    source = SourceConfig(name="corpus", type="page", url="https://example.org/")
    counts: dict[str, int] = {}
    refused: dict[str, str] = {}
    problems: list[str] = []
    files = sorted(p for p in html_corpus.rglob("*") if p.is_file())
    assert len(files) > 300
    for path in files:
        name = str(path.relative_to(html_corpus))
        url = f"https://example.org/{name}"
        try:
            result = page.parse(path.read_bytes(), url, source, ParseContext(now=NOW))
        except SourceError as exc:
            refused[name] = str(exc)
            continue
        counts[name] = len(result.events)
        for event in result.events:
            problems.extend(_invariant_problems(name, event))
    total = sum(counts.values())
    print(f"\ncorpus/html: {len(files)} files, {total} events, "
          f"{sum(1 for c in counts.values() if c)} files with events, refused: {refused}")
    assert not problems, "\n".join(problems)
    assert refused == {"PROVENANCE.md": "not an HTML page: no markup found"}, (
        "only the Markdown provenance note should be refused as not HTML")
    # files whose contents were checked by hand
    assert counts["city-scrapers-det/det_authority.html"] == 12       # TEC JSON-LD list
    assert counts["city-scrapers/cook_landbank.html"] == 18
    assert counts["city-scrapers-cle/cle_cpc.html"] == 23             # JSON-LD with bad escapes
    assert counts["extruct-samples/songkick/elysianfields.html"] == 4
    assert counts["extruct-samples/schema.org/Event.002.html"] == 2   # MusicGroup.event
    assert counts["schemaorg-examples/eg-0012_Event.jsonld.html"] == 1
    assert counts["schemaorg-examples/eg-0012_Event.microdata.html"] == 1
    assert counts["schemaorg-examples/eg-0012_Event.rdfa.html"] == 1
    assert counts["calagator/hcal_upcoming_v1.html"] == 1              # hCalendar (v1)
    assert total >= 218


@pytest.mark.parametrize("syntax", ["jsonld", "microdata", "rdfa"])
def test_one_event_in_three_syntaxes_reads_the_same(html_corpus: Path, syntax: str) -> None:
    path = html_corpus / "schemaorg-examples" / f"eg-0012_Event.{syntax}.html"
    source = SourceConfig(name="corpus", type="page", url="https://example.org/")
    event, = page.parse(path.read_bytes(), "https://example.org/eg", source,
                        ParseContext(now=NOW)).events
    got: dict[str, Any] = {
        "title": event.title, "start": event.start, "venue": event.venue, "city": event.city,
        "price": event.price, "currency": event.currency,
    }
    assert got == {
        "title": "Typhoon with Radiation City", "start": datetime(2013, 9, 14, 21, 30),
        "venue": "The Hi-Dive", "city": "Denver", "price": 13, "currency": "USD",
    }, f"the {syntax} copy of schema.org example eg-0012 reads differently"
