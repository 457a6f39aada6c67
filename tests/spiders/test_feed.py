"""spiders.feed: RSS / Atom / RDF / JSON Feed event parsing, checked against the eval mini-web
(ground truth in expected.json) and real third-party feeds from the corpus."""

from __future__ import annotations

import json
import os
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest

from aggregator.config_types import SourceConfig
from aggregator.items import EventItem
from spiders import feed
from spiders.base import ParseContext, SourceError

REPO = Path(__file__).resolve().parents[2]
EVAL = Path(os.environ.get("EVENTSCOUT_EVAL", REPO.parent / "shared" / "eval"))
CORPUS = Path(os.environ.get("EVENTSCOUT_CORPUS", REPO.parent / "shared" / "corpus"))
BASE = "http://127.0.0.1:8000"
EVAL_NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)

needs_eval = pytest.mark.skipif(
    not (EVAL / "expected.json").is_file(),
    reason=f"eval mini-web not found at {EVAL} (set EVENTSCOUT_EVAL)",
)
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "feeds").is_dir(),
    reason=f"corpus not found at {CORPUS} (set EVENTSCOUT_CORPUS)",
)


# --- helpers ------------------------------------------------------------------------------


def _eval_sources() -> dict[str, SourceConfig]:
    if not (EVAL / "config" / "sources.toml").is_file():
        return {}
    config = tomllib.loads((EVAL / "config" / "sources.toml").read_text(encoding="utf-8"))
    out = {}
    for s in config["source"]:
        if s["type"] == "feed":
            fields = {k: v for k, v in s.items() if k in SourceConfig.__dataclass_fields__}
            src = SourceConfig(**fields)
            src.url = src.url.replace("{BASE}", BASE)
            out[src.name] = src
    return out


EVAL_SOURCES = _eval_sources()
FAILING = {"dublin-tech-digest"}
GOOD_FEEDS = sorted(set(EVAL_SOURCES) - FAILING) or ["(eval missing)"]


def _eval_body(source: SourceConfig) -> bytes:
    path = EVAL / "site" / source.url.removeprefix(BASE + "/")
    return path.read_bytes().replace(b"{BASE}", BASE.encode())   # on bytes: one feed is Latin-1


def _parse_eval(name: str, headers: dict[str, str] | None = None):
    source = EVAL_SOURCES[name]
    ctx = ParseContext(now=EVAL_NOW, headers=headers or {})
    return feed.parse(_eval_body(source), source.url, source, ctx), source


def _expected_for(name: str) -> list[dict]:
    text = (EVAL / "expected.json").read_text(encoding="utf-8").replace("{BASE}", BASE)
    return [e for e in json.loads(text)["events"] if name in e["sources"]]


def _utc(value: datetime | date | None, item: EventItem, source: SourceConfig) -> datetime | None:
    """The instant an item's time means: aware as is, naive in its (or the source's) zone."""
    if value is None:
        return None
    assert isinstance(value, datetime), f"{item.title!r}: expected a time, got the date {value}"
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(item.timezone or source.timezone or "UTC"))
    return value.astimezone(UTC)


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _path(url: str | None) -> str:
    return urlsplit(url or "").path


def _match(expected: dict, items: list[EventItem], name: str) -> EventItem:
    paths = {_path(u) for u in expected["urls"]}
    by_url = [i for i in items if _path(i.url) in paths]
    if len(by_url) == 1:
        return by_url[0]
    title = expected.get("titles_on_sources", {}).get(name, expected["title"])
    by_title = [i for i in items if i.title == title]
    assert len(by_title) == 1, f"{name}: no single parsed item for expected {expected['key']!r}"
    return by_title[0]


# --- the eval feeds against expected.json --------------------------------------------------


@needs_eval
@pytest.mark.parametrize("name", GOOD_FEEDS)
def test_eval_feed_gives_every_expected_event_at_the_exact_instant(name):
    result, source = _parse_eval(name)
    expected = _expected_for(name)
    assert expected, f"expected.json lists no event for {name}"
    for exp in expected:
        item = _match(exp, result.events, name)
        assert _utc(item.start, item, source) == _iso(exp["start_utc"]), (
            f"{name}: {item.title!r} starts at {item.start} "
            f"(timezone {item.timezone or source.timezone}), expected {exp['start_utc']}"
        )
        if name == "seattle-sre":
            # Meetup's RSS writes only the start ("Thursday, February 4 at 6:00 PM")
            assert item.end is None, f"{item.title!r}: the feed gives no end, got {item.end}"
        else:
            assert _utc(item.end, item, source) == _iso(exp["end_utc"]), (
                f"{name}: {item.title!r} ends at {item.end}, expected {exp['end_utc']}"
            )


@needs_eval
@pytest.mark.parametrize("name", GOOD_FEEDS)
def test_eval_feed_items_are_complete_and_consistent(name):
    result, source = _parse_eval(name)
    assert result.events, f"{name}: no events parsed"
    assert len({i.uid for i in result.events}) == len(result.events), f"{name}: duplicate uids"
    for item in result.events:
        assert item.source == name
        assert item.title and item.title == item.title.strip()
        assert item.url and item.url.startswith(BASE + "/"), f"{item.title!r}: url {item.url!r}"
        assert item.description, f"{item.title!r}: no description"
        assert item.group == source.group
        assert item.all_day is False
        assert item.timezone == source.timezone
        if isinstance(item.start, datetime) and item.start.tzinfo is None:
            assert source.timezone, f"{item.title!r}: a naive time needs the source's zone"
    expected_keys = {e["key"] for e in _expected_for(name)}
    assert len(result.events) >= len(expected_keys)


@needs_eval
@pytest.mark.parametrize("name", GOOD_FEEDS)
def test_eval_feed_place_and_online_flags(name):
    result, source = _parse_eval(name)
    for exp in _expected_for(name):
        item = _match(exp, result.events, name)
        assert bool(item.online) == exp["online"], (
            f"{item.title!r}: online should be {exp['online']} (location {item.address!r})"
        )
        if not exp["online"]:
            assert (item.city or source.city) == exp["city"], (
                f"{item.title!r}: city {item.city!r} (source default {source.city!r}), "
                f"expected {exp['city']!r}"
            )


@needs_eval
def test_pubdate_is_never_the_event_time():
    for name in GOOD_FEEDS:
        result, source = _parse_eval(name)
        posted = {
            datetime(*e[key][:6], tzinfo=UTC)
            for e in feedparser.parse(_eval_body(source)).entries
            for key in ("published_parsed", "updated_parsed") if key in e.keys()
        }
        assert posted, f"{name}: the feed should carry posting dates for this test to mean much"
        for item in result.events:
            assert _utc(item.start, item, source) not in posted, (
                f"{name}: {item.title!r} uses its posting date as the event time"
            )


@needs_eval
def test_rss10_event_module_fields():
    result, _ = _parse_eval("newsroom-calendar")
    taller = next(i for i in result.events if i.title.startswith("Taller de verificación"))
    assert taller.start == datetime.fromisoformat("2027-02-06T10:00:00-06:00")
    assert taller.end == datetime.fromisoformat("2027-02-06T14:00:00-06:00")
    assert taller.venue == "Casa Roma Norte"
    assert taller.city == "Mexico City"
    assert taller.organizer == "Periodismo de Datos CDMX"
    assert taller.kind_text == "workshop"
    assert taller.tags == ["media"]
    awards = next(i for i in result.events if i.title.startswith("Data Journalism Awards"))
    assert awards.cfp_deadline == date(2027, 3, 5), "'Nominations close 5 March 2027.'"
    assert awards.kind_text == "award"


@needs_eval
def test_meetup_text_dates_places_and_call_for_speakers():
    result, source = _parse_eval("seattle-sre")
    by_title = {i.title: i for i in result.events}
    otel = by_title["OpenTelemetry Collector Deep Dive"]
    assert otel.start == datetime(2027, 2, 17, 18, 0) and otel.timezone == "America/Los_Angeles"
    assert (otel.venue, otel.city) == ("Bellevue Tech Commons", "Bellevue")
    assert otel.address == "Bellevue Tech Commons, 500 108th Avenue NE, Bellevue, WA 98004"
    talks = by_title["Lightning Talks Night: Call for Speakers"]
    assert talks.start == datetime(2027, 3, 4, 18, 30), "not the 'closes 19 February' deadline"
    assert talks.cfp_deadline == date(2027, 2, 19)
    assert talks.organizer == "Seattle SRE & Observability"
    assert [(g.name, g.url) for g in result.groups] == [
        ("Seattle SRE & Observability", f"{BASE}/groups/seattle-sre/")
    ]


@needs_eval
def test_atom_xcal_is_preferred_and_hybrid_location_is_read():
    result, _ = _parse_eval("bioconnect-ireland")
    cv = next(i for i in result.events if i.title.startswith("Academic CV"))
    assert cv.start == datetime(2027, 2, 9, 13, 0, tzinfo=UTC)
    assert (cv.online, cv.hybrid, cv.city) == (True, True, "Dublin")
    assert cv.uid == "tag:bioconnect.example,2026:event-91782"
    assert cv.language == "en"
    assert cv.url.endswith(
        "lfu-cv-to-industry-resume.html?utm_source=bioconnect&utm_medium=newsletter"
    ), "the link as the feed gives it (the normalize pipeline strips utm_*)"
    assert cv.organizer == "BioConnect Ireland", "the Atom author, without the e-mail address"


@needs_eval
def test_hcalendar_in_escaped_description():
    result, _ = _parse_eval("edtech-amsterdam")
    first = next(i for i in result.events if i.title.startswith("Van klas naar EdTech"))
    assert first.start == datetime.fromisoformat("2027-02-02T19:00:00+01:00")
    assert first.end == datetime.fromisoformat("2027-02-02T21:30:00+01:00")
    assert (first.venue, first.city) == ("Pakhuis de Zwijger", "Amsterdam")
    assert first.uid == "edtech-amsterdam-182520"


@needs_eval
@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "text/xml"}, {"content-type": "application/rss+xml"},
     {"content-type": "application/octet-stream"}],
    ids=["no-header", "text-xml-no-charset", "rss-xml", "octet-stream"],
)
def test_latin1_feed_declared_in_prolog_decodes_right(headers):
    result, _ = _parse_eval("foro-energia-madrid", headers)
    titles = [i.title for i in result.events]
    assert "Mujeres en Energía: encuentro de mentoría" in titles, f"mis-decoded: {titles}"
    assert "Jornada de hidrógeno verde" in titles
    first = result.events[0]
    assert "¿Cómo se organiza" in first.description
    hidrogeno = next(i for i in result.events if i.title == "Jornada de hidrógeno verde")
    assert "80 €" in hidrogeno.description, "the &#8364; character reference is the euro sign"
    assert hidrogeno.city == "Barcelona"
    assert result.warnings == [], f"a prolog-declared encoding is no fault: {result.warnings}"


@needs_eval
def test_truncated_feed_is_a_source_error():
    with pytest.raises(SourceError, match=r"^malformed XML: the document is truncated"):
        _parse_eval("dublin-tech-digest")


@needs_eval
def test_html_page_is_not_a_feed():
    source = SourceConfig(name="page", type="feed", url=f"{BASE}/dublin-tech-digest/")
    body = (EVAL / "site" / "dublin-tech-digest" / "index.html").read_bytes()
    with pytest.raises(SourceError, match="^not a feed"):
        feed.parse(body, source.url, source, ParseContext(now=EVAL_NOW))


# --- the corpus ---------------------------------------------------------------------------

CORPUS_FILES = sorted(
    str(p.relative_to(CORPUS / "feeds"))
    for p in (CORPUS / "feeds").rglob("*")
    if p.is_file() and p.suffix in {".xml", ".rss", ".atom", ".rdf", ".json"}
    and "conference-schedules" not in p.parts
) if (CORPUS / "feeds").is_dir() else []
CORPUS_SOURCE = SourceConfig(name="corpus", type="feed", url="http://example.org/feed")


def _parse_corpus(rel: str):
    body = (CORPUS / "feeds" / rel).read_bytes()
    return feed.parse(body, CORPUS_SOURCE.url, CORPUS_SOURCE, ParseContext(now=EVAL_NOW))


@needs_corpus
def test_every_corpus_feed_parses_or_raises_only_source_error():
    assert len(CORPUS_FILES) > 300
    failures = []
    for rel in CORPUS_FILES:
        try:
            result = _parse_corpus(rel)
        except SourceError as exc:
            assert str(exc) and "\n" not in str(exc), f"{rel}: reason must be one line"
            failures.append(rel)
            continue
        for item in result.events:
            assert isinstance(item.start, date), f"{rel}: {item.title!r} has no start"
    # the broken ones are a handful (truncated, empty, not feeds), never the readable ones
    assert len(failures) < 20, f"too many corpus feeds rejected: {failures}"
    assert "feedparser-tests/illformed/rss_empty_document.xml" in failures


@needs_corpus
def test_mod_event_future_case():
    result = _parse_corpus("feedvalidator-tests/ext/ev/future.xml")
    assert len(result.events) == 1
    item = result.events[0]
    assert (item.title, item.start, item.end) == (
        "bar", datetime(2905, 7, 2, 10, 0), datetime(2905, 7, 2, 10, 0, 1)
    )
    assert (item.venue, item.organizer, item.kind_text) == ("My couch", "Me", "distraction")


@needs_corpus
def test_mod_event_startdate_without_offset_is_local_time():
    result = _parse_corpus("feedvalidator-tests/rss/must/ev_startdate.xml")
    assert [(i.title, i.start, i.end) for i in result.events] == [
        ("bar", datetime(2005, 7, 2, 10, 0), None)
    ]


@needs_corpus
def test_mod_event_enddate_alone_is_no_event():
    result = _parse_corpus("feedvalidator-tests/rss/must/ev_enddate.xml")
    assert result.events == []
    assert len(result.warnings) == 1 and "no event time" in result.warnings[0]


@needs_corpus
def test_google_base_event_date_range():
    result = _parse_corpus("feedvalidator-tests/gbase/rss2/events2.xml")
    assert [(i.title, i.start, i.end, i.city) for i in result.events] == [
        ("Google's 2005 Halloween Fright Fest", datetime(2005, 7, 4, 20, 0),
         datetime(2005, 7, 4, 23, 0), "Mountain View"),
        ("U2 Elevation tour", datetime(2005, 8, 23, 20, 0), datetime(2005, 8, 23, 23, 0),
         "Anytown"),
    ]


@needs_corpus
def test_pubdate_only_feed_has_no_events():
    # 40-odd items that carry only a pubDate (and prose about it)
    result = _parse_corpus("feedvalidator-tests/rss20/data-types-datetime/everything.xml")
    assert result.events == [], "a pubDate is a posting time, never the event time"
    assert len(result.warnings) == 1 and "no event time" in result.warnings[0]


@needs_corpus
def test_json_feed_event_from_text():
    result = _parse_corpus("real/feedjira/json_feed.json")
    screenings = [i for i in result.events if "Screening" in i.title]
    assert len(screenings) == 1
    # "It's Sunday, June 4 at 5 pm": 4 June is a Sunday in 2028, not in 2027
    assert screenings[0].start == datetime(2028, 6, 4, 17, 0)
    assert screenings[0].url.startswith("http")


@needs_corpus
def test_event_api_xml_that_is_not_a_feed():
    with pytest.raises(SourceError, match="^not a feed"):
        _parse_corpus("real/calagator/upcoming_v1.xml")


# --- robustness and security (inline documents written for these tests) -------------------

SOURCE = SourceConfig(name="t", type="feed", url="http://example.org/feed.xml",
                      timezone="Europe/Berlin")


def _parse(body: bytes, **ctx):
    return feed.parse(body, SOURCE.url, SOURCE, ParseContext(now=EVAL_NOW, **ctx))


RSS = b'<rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/">'
EV_ITEM = (b"<item><title>T</title><link>/e/1</link>"
           b"<ev:startdate>2027-02-02T10:00:00</ev:startdate></item>")


def test_entity_expansion_and_external_entities_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    lol = b"".join(
        b'<!ENTITY l%d "%s">' % (i, b"".join(b"&l%d;" % (i - 1) for _ in range(10)))
        for i in range(1, 10)
    )
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">' + lol
        + b'<!ENTITY xxe SYSTEM "file://' + str(secret).encode() + b'">]>'
        + RSS + b"<channel><title>&l9;</title>"
        + EV_ITEM.replace(b"<title>T</title>", b"<title>&l9;&xxe;</title>")
        + b"</channel></rss>"
    )
    result = _parse(body)
    (item,) = result.events
    assert "TOP-SECRET" not in (item.title + (item.description or "")), "external entity read"
    assert len(item.title) < 1000, "entities must not expand"
    assert item.start == datetime(2027, 2, 2, 10, 0)


def test_relative_link_is_made_absolute_and_naive_time_keeps_the_source_zone():
    body = RSS + b"<channel><title>c</title>" + EV_ITEM + b"</channel></rss>"
    (item,) = _parse(body).events
    assert item.url == "http://example.org/e/1"
    assert item.start == datetime(2027, 2, 2, 10, 0) and item.timezone == "Europe/Berlin"


def test_bozo_feed_with_readable_entries_keeps_them_with_a_warning():
    body = RSS + b"<channel><title>a & b</title>" + EV_ITEM + b"</channel></rss>"
    result = _parse(body)
    assert [i.title for i in result.events] == ["T"]
    assert len(result.warnings) == 1 and "not well-formed" in result.warnings[0]


def test_max_items_caps_the_events():
    items = EV_ITEM.replace(b"/e/1", b"/e/x") * 5
    result = _parse(RSS + b"<channel><title>c</title>" + items + b"</channel></rss>", max_items=3)
    assert len(result.events) == 3
    assert any("cap" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "^empty document"),
        (b"   \n", "^empty document"),
        (b"\x00\xff\xfe binary \x89PNG", "^(malformed XML|not a feed)"),
        (b"{not json", "^malformed JSON"),
        (b'{"version": "1", "items": []}', "^not a feed"),
        (b"<html><body><p>hello</p></body></html>", "^not a feed"),
        (b'<rss version="2.0"><channel><title>x</title><item><title>t', "^malformed XML"),
    ],
)
def test_unreadable_documents_raise_source_error_with_one_line(body, reason):
    with pytest.raises(SourceError, match=reason) as info:
        _parse(body)
    assert "\n" not in str(info.value)


def test_empty_but_valid_feed_is_no_error():
    result = _parse(b'<rss version="2.0"><channel><title>nothing yet</title></channel></rss>')
    assert result.events == [] and result.warnings == []


def test_json_feed_extension_object():
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "x",
        "home_page_url": "https://example.org/",
        "items": [
            {"id": "1", "url": "https://example.org/e/1", "title": "Workshop",
             "content_text": "Bring a laptop.", "date_published": "2027-01-01T00:00:00Z",
             "language": "de-DE",
             "_event": {"start": "2027-02-10T18:00:00+01:00", "end": "2027-02-10T20:00:00+01:00",
                        "location": "Online"}},
            {"id": "2", "url": "https://example.org/news", "title": "News",
             "content_text": "No date here.", "date_published": "2027-01-02T00:00:00Z"},
        ],
    }
    result = _parse(json.dumps(doc).encode())
    (item,) = result.events
    assert item.start == datetime.fromisoformat("2027-02-10T18:00:00+01:00")
    assert item.end == datetime.fromisoformat("2027-02-10T20:00:00+01:00")
    assert (item.online, item.language, item.uid) == (True, "de", "1")
    assert "'News'" in result.warnings[0]
