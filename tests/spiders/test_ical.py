"""spiders/ical.py: the ical source type.

The five working ical sources of the evaluation mini-web are checked against expected.json,
small calendars written here cover the edge cases, and a sweep over every file in the
corpus's ical/ folder checks that nothing but SourceError ever escapes.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from helpers import require_corpus, require_eval

from aggregator.config_types import SourceConfig
from aggregator.constants import CANCELLED
from aggregator.items import EventItem
from spiders import ical
from spiders.base import ParseContext, ParseResult, SourceError

REPO = Path(__file__).resolve().parents[2]
EVAL_NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
ORIGIN = "http://eval.example.test"
EVAL_ICAL_SOURCES = (
    "chicago-nonprofit-tech", "nairobi-climate-builders", "people-analytics-circle",
    "larkspur-field-events", "vancouver-cloud-native",
)
LUNCH_UID = "280a71fab333a1ebf03be2a8cf@google.com"








def source(**kwargs: Any) -> SourceConfig:
    kwargs.setdefault("name", "test-ical")
    kwargs.setdefault("type", "ical")
    kwargs.setdefault("url", "https://calendar.example.org/events.ics")
    return SourceConfig(**kwargs)


def parse_text(text: str, *, now: datetime = EVAL_NOW, encoding: str = "utf-8",
               **ctx_args: Any) -> ParseResult:
    body = text.replace("\n", "\r\n").encode(encoding)
    return ical.parse(body, "https://calendar.example.org/events.ics", source(),
                      ParseContext(now=now, **ctx_args))


def calendar(*events: str, header: str = "") -> str:
    """A VCALENDAR around the given VEVENT bodies (property lines, one per line)."""
    blocks = "".join(f"BEGIN:VEVENT\n{body.strip()}\nEND:VEVENT\n" for body in events)
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//eventscout tests//EN\n"
        f"{header}{blocks}END:VCALENDAR\n"
    )


def utc(value: datetime | date | None) -> datetime:
    assert isinstance(value, datetime) and value.tzinfo is not None, (
        f"expected an aware datetime, got {value!r}"
    )
    return value.astimezone(UTC)


def iso(value: datetime | date | None) -> str:
    assert value is not None, "expected a date or datetime, got None"
    return value.isoformat()


def instant(item: EventItem) -> datetime:
    """The item's start as an aware UTC datetime (an all-day start at UTC midnight)."""
    if isinstance(item.start, datetime):
        return utc(item.start)
    assert isinstance(item.start, date), f"{item.title!r} has no start"
    return datetime.combine(item.start, datetime.min.time(), UTC)


# -- the evaluation mini-web ------------------------------------------------------------------


@pytest.fixture(scope="module")
def eval_sources() -> dict[str, SourceConfig]:
    config = tomllib.loads((require_eval() / "config" / "sources.toml").read_text("utf-8"))
    return {
        entry["name"]: SourceConfig(**{**entry, "url": entry["url"].replace("{BASE}", ORIGIN)})
        for entry in config["source"] if entry["type"] == "ical"
    }


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((require_eval() / "expected.json").read_text("utf-8"))


def eval_body(src: SourceConfig) -> bytes:
    path = require_eval() / "site" / src.url.removeprefix(ORIGIN + "/")
    return path.read_bytes().replace(b"{BASE}", ORIGIN.encode())


@pytest.fixture(scope="module")
def eval_results(eval_sources: dict[str, SourceConfig]) -> dict[str, ParseResult]:
    return {
        name: ical.parse(eval_body(eval_sources[name]), eval_sources[name].url,
                         eval_sources[name], ParseContext(now=EVAL_NOW))
        for name in EVAL_ICAL_SOURCES
    }


def page(url: str | None) -> str | None:
    """A URL without query and fragment (expected.json lists canonical URLs)."""
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def find_item(items: list[EventItem], event: dict[str, Any]) -> EventItem:
    urls = {u.replace("{BASE}", ORIGIN) for u in event["urls"]}
    found = [
        item for item in items
        if page(item.url) in urls and item.recurrence_id == event.get("recurrence_id")
    ]
    assert len(found) == 1, (
        f"expected exactly one item for {event['key']!r} (urls {sorted(urls)}, recurrence "
        f"{event.get('recurrence_id')}), found {len(found)}: {[i.title for i in found]}"
    )
    return found[0]


def expected_ical_events(expected: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, event) for event in expected["events"] for name in event["sources"]
        if name in EVAL_ICAL_SOURCES
    ]


def test_every_expected_event_of_the_eval_calendars_is_parsed_exactly(
    eval_results: dict[str, ParseResult], expected: dict[str, Any]
) -> None:
    pairs = expected_ical_events(expected)
    assert len(pairs) == 36, f"expected.json lists 36 events from ical sources, not {len(pairs)}"
    for name, event in pairs:
        item = find_item(eval_results[name].events, event)
        what = f"{name}: {event['key']}"
        title = event.get("titles_on_sources", {}).get(name, event["title"])
        assert item.title == title, f"{what}: title {item.title!r}, expected {title!r}"
        if event["all_day"]:
            assert item.all_day, f"{what}: should be all-day"
            assert item.start == date.fromisoformat(event["start_date"]), f"{what}: start day"
            assert item.end == date.fromisoformat(event["end_date"]), (
                f"{what}: the end of an all-day event is its last day, got {item.end}"
            )
        else:
            assert not item.all_day, f"{what}: should not be all-day"
            assert utc(item.start) == datetime.fromisoformat(event["start_utc"]), (
                f"{what}: start {item.start} is not {event['start_utc']}"
            )
            assert utc(item.end) == datetime.fromisoformat(event["end_utc"]), (
                f"{what}: end {item.end} is not {event['end_utc']}"
            )
        expected_status = CANCELLED if event["status"] == CANCELLED else None
        assert item.status == expected_status, f"{what}: status {item.status!r}"
        if "series" in event:
            assert item.series == LUNCH_UID, f"{what}: series should be the iCal UID"
            assert item.uid == f"{LUNCH_UID}/{event['recurrence_id']}", f"{what}: uid {item.uid}"
        else:
            assert item.series is None and item.recurrence_id is None, (
                f"{what}: a single event has no series or recurrence id"
            )


def test_no_eval_calendar_item_in_the_window_is_unexpected(
    eval_results: dict[str, ParseResult], expected: dict[str, Any]
) -> None:
    start = datetime.fromisoformat(expected["window"]["from"])
    end = datetime.fromisoformat(expected["window"]["to"])
    known = {
        (page(u.replace("{BASE}", ORIGIN)), event.get("recurrence_id"))
        for _, event in expected_ical_events(expected) for u in event["urls"]
    }
    for name, result in eval_results.items():
        for item in result.events:
            if start <= instant(item) < end:
                assert (page(item.url), item.recurrence_id) in known, (
                    f"{name}: {item.title!r} on {item.start} is in the window but not in "
                    "expected.json (an EXDATE'd or duplicated occurrence?)"
                )


def test_the_weekly_series_skips_its_exdate_and_keeps_the_override(
    eval_results: dict[str, ParseResult]
) -> None:
    series = [i for i in eval_results["people-analytics-circle"].events if i.series == LUNCH_UID]
    ids = [i.recurrence_id or "" for i in series]
    assert "2027-02-18" not in ids, "the EXDATE'd week (18 February) must not be an occurrence"
    assert ids == sorted(ids) and len(ids) == len(set(ids)), f"occurrences repeat: {ids}"
    # the RRULE has UNTIL=20270429T023000Z: the last occurrence is on 29 April
    assert ids[0] == "2027-02-04" and ids[-1] == "2027-04-29" and len(ids) == 12, ids
    override = next(i for i in series if i.recurrence_id == "2027-02-25")
    assert override.start == datetime(2027, 2, 26, 2, 0, tzinfo=UTC), override.start
    assert override.sequence == 1 and override.timezone == "Australia/Melbourne"
    assert override.online is True and override.venue is None, "LOCATION:Online is online"


def test_eval_calendar_fields(eval_results: dict[str, ParseResult]) -> None:
    by_title = {i.title: i for r in eval_results.values() for i in r.events}
    toil = by_title["SRE Book Club: Eliminating Toil"]
    assert (toil.status, toil.status_text, toil.sequence) == (CANCELLED, "CANCELLED", 2)
    assert by_title["Observability on a Budget"].status_text == "TENTATIVE"
    assert by_title["Observability on a Budget"].status is None
    cfp = by_title["CFP closes: Cloud Native Day Vancouver 2027"]
    assert (cfp.tags, cfp.kind_text, cfp.timezone) == (["cfp"], "cfp", "America/Vancouver")
    battery = by_title["Battery Second Life & Recycling"]
    assert battery.online is True and battery.venue is None, "a URL as LOCATION means online"
    assert battery.url == f"{ORIGIN}/luma/e/vG2zPeCc.html", "the URL comes from the DESCRIPTION"
    assert battery.organizer == "Nairobi Climate Builders", "ORGANIZER;CN= is the organizer"
    assert battery.timezone is None, "UTC times with X-WR-TIMEZONE:UTC leave the zone to the source"
    mixer = by_title["Nairobi Climate Builders January Mixer"]
    assert mixer.start == datetime(2027, 1, 20, 15, 0, tzinfo=UTC), "a past event within 30 days"
    crm = by_title["Moving Your Donor CRM Without Losing Your Mind"]
    assert crm.venue == "South Loop Nonprofit Center, 1300 S Wabash Avenue, Chicago, IL 60605"
    assert crm.online is False and crm.group == "Chicago Nonprofit Tech"
    assert crm.uid == "event_161450650@chicago-nptech.example" and crm.series is None
    fundraising = by_title["Chicago Fundraising Day"]
    assert fundraising.url == (f"{ORIGIN}/ticketa/e/tk-chicago-fundraising-day-tickets-"
                               "365640978827.html?utm_source=meetup&utm_medium=calendar")
    assert fundraising.latitude is None, "the eval calendars carry no GEO"


def test_windows_zone_names_become_iana_zones(eval_results: dict[str, ParseResult]) -> None:
    zones = {i.title: i.timezone for i in eval_results["larkspur-field-events"].events}
    assert zones == {
        "Product Marketing Roundtable Hyderabad": "Asia/Kolkata",
        "Larkspur Customer Summit Amsterdam": "Europe/Berlin",  # CLDR: W. Europe -> Berlin
        "RevOps Breakfast Chicago": "America/Chicago",
        "B2B Marketing Excellence Awards: Entry Deadline": None,  # all-day, no zone given
        "Cloud Partner Day Seattle": "America/Los_Angeles",
        "SaaS Go-To-Market Seminar Tokyo": "Asia/Tokyo",
        "Larkspur APAC Partner Summit": "Asia/Tokyo",
    }
    summit = next(i for i in eval_results["larkspur-field-events"].events
                  if i.title.startswith("Larkspur Customer"))
    assert iso(summit.start) == "2027-02-16T09:00:00+01:00", "wall time kept in its zone"
    assert summit.language == "en", "SUMMARY;LANGUAGE=en-us gives the language"


def test_eval_groups(eval_results: dict[str, ParseResult]) -> None:
    chicago = eval_results["chicago-nonprofit-tech"].groups
    assert [(g.name, g.url) for g in chicago] == [
        ("Chicago Nonprofit Tech", f"{ORIGIN}/groups/chicago-nonprofit-tech/")
    ], "X-ORIGINAL-URL of a Meetup export is the group's page"
    nairobi = eval_results["nairobi-climate-builders"].groups[0]
    assert nairobi.description is not None and nairobi.description.startswith(
        "Breakfasts, pitch nights"), "X-WR-CALDESC is unescaped"
    assert eval_results["larkspur-field-events"].groups == [], "no group configured, none made"


def test_binary_garbage_from_the_eval_is_a_source_error(
    eval_sources: dict[str, SourceConfig]
) -> None:
    src = eval_sources["city-archive-calendar"]
    with pytest.raises(SourceError, match=r"^not an iCalendar file: binary data$"):
        ical.parse(eval_body(src), src.url, src, ParseContext(now=EVAL_NOW))


# -- edge cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("body, reason", [
    (b"", "the document is empty"),
    (b"<!DOCTYPE html><html><body>Calendar moved</body></html>", "an HTML page"),
    (b'<?xml version="1.0"?><rss></rss>', "an XML document"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary data"),
    (b"just some words\nin a text file\n", "no BEGIN:VCALENDAR line"),
])
def test_not_a_calendar_raises_source_error(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError) as raised:
        ical.parse(body, "https://x.example/c.ics", source(), ParseContext(now=EVAL_NOW))
    assert str(raised.value) == f"not an iCalendar file: {reason}"


def test_an_empty_calendar_gives_no_events_and_a_warning() -> None:
    result = parse_text(calendar())
    assert result.events == [] and result.warnings == ["the calendar has no events"]


SIMPLE = """UID:simple-1
DTSTART;TZID=Europe/Berlin:20270210T190000
DTEND;TZID=Europe/Berlin:20270210T210000
SUMMARY:Café Meetup
LOCATION:Kaffeehaus Müller\\, Berlin"""


@pytest.mark.parametrize("variant", ["crlf", "bare-lf", "bom", "latin-1"])
def test_line_endings_bom_and_latin1(variant: str) -> None:
    text = calendar(SIMPLE).replace("\n", "\r\n")
    if variant == "bare-lf":
        text = text.replace("\r\n", "\n")
    body = text.encode("latin-1" if variant == "latin-1" else "utf-8")
    if variant == "bom":
        body = b"\xef\xbb\xbf" + body
    result = ical.parse(body, "https://x.example/c.ics", source(), ParseContext(now=EVAL_NOW))
    [item] = result.events
    assert (item.title, item.venue) == ("Café Meetup", "Kaffeehaus Müller, Berlin"), variant
    assert item.start == datetime(2027, 2, 10, 18, 0, tzinfo=UTC) and item.uid == "simple-1"


def test_floating_times_stay_naive_without_a_calendar_zone() -> None:
    [item] = parse_text(calendar("UID:f\nDTSTART:20270210T190000\nDTEND:20270210T200000\n"
                                 "SUMMARY:Floating")).events
    assert isinstance(item.start, datetime) and item.start.tzinfo is None
    assert item.start == datetime(2027, 2, 10, 19, 0)
    assert item.end == datetime(2027, 2, 10, 20, 0) and item.timezone is None


def test_x_wr_timezone_places_floating_and_utc_times() -> None:
    result = parse_text(calendar(
        "UID:a\nDTSTART:20270210T190000\nSUMMARY:Floating",
        "UID:b\nDTSTART:20270210T180000Z\nSUMMARY:In UTC",
        header="X-WR-TIMEZONE:America/New_York\n",
    ))
    floating, in_utc = sorted(result.events, key=lambda i: i.uid or "")
    assert iso(floating.start) == "2027-02-10T19:00:00-05:00"
    assert iso(in_utc.start) == "2027-02-10T13:00:00-05:00", "UTC shown in the calendar zone"
    assert floating.timezone == in_utc.timezone == "America/New_York"


def test_all_day_end_is_the_last_day_inclusive() -> None:
    result = parse_text(calendar(
        "UID:one\nDTSTART;VALUE=DATE:20270301\nDTEND;VALUE=DATE:20270302\nSUMMARY:One day",
        "UID:three\nDTSTART;VALUE=DATE:20270301\nDTEND;VALUE=DATE:20270304\nSUMMARY:Three days",
        "UID:none\nDTSTART;VALUE=DATE:20270301\nSUMMARY:No end",
    ))
    ends = {i.uid: (i.start, i.end, i.all_day) for i in result.events}
    assert ends == {
        "one": (date(2027, 3, 1), date(2027, 3, 1), True),
        "three": (date(2027, 3, 1), date(2027, 3, 3), True),
        "none": (date(2027, 3, 1), date(2027, 3, 1), True),
    }


def test_an_endless_rule_stops_at_the_horizon() -> None:
    result = parse_text(calendar(
        "UID:daily\nDTSTART:20200101T120000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY\nSUMMARY:Standup"
    ), horizon_days=10)
    days = [i.recurrence_id for i in result.events]
    # from now - 30 days to now + 10 days: 2027-01-01T09:00Z .. 2027-02-10T09:00Z
    assert days[0] == "2027-01-01" and days[-1] == "2027-02-09" and len(days) == 40, days
    assert {utc(i.end) - utc(i.start) for i in result.events} == {timedelta(hours=1)}
    assert result.events[0].uid == "daily/2027-01-01" and result.events[0].series == "daily"


def test_max_items_caps_the_occurrences_with_a_warning() -> None:
    result = parse_text(calendar(
        "UID:daily\nDTSTART:20200101T120000Z\nRRULE:FREQ=DAILY\nSUMMARY:Standup"
    ), max_items=5)
    assert [i.recurrence_id for i in result.events] == [
        "2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04", "2027-01-05"]
    assert any("max_items" in w for w in result.warnings), result.warnings


def test_a_rule_too_dense_to_expand_is_skipped() -> None:
    result = parse_text(calendar(
        "UID:tick\nDTSTART:19000101T000000Z\nRRULE:FREQ=SECONDLY\nSUMMARY:Tick",
        "UID:ok\nDTSTART:20270210T120000Z\nSUMMARY:Fine",
    ))
    assert [i.uid for i in result.events] == ["ok"]
    assert "event tick repeats too often to expand; skipped" in result.warnings


def test_rdate_exdate_and_an_override_with_a_utc_recurrence_id() -> None:
    result = parse_text(calendar(
        "UID:s\nDTSTART;TZID=Europe/Berlin:20270201T180000\nDTEND;TZID=Europe/Berlin:20270201T190000\n"
        "RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE;TZID=Europe/Berlin:20270208T180000\n"
        "RDATE;TZID=Europe/Berlin:20270303T180000\nSUMMARY:Weekly",
        "UID:s\nRECURRENCE-ID:20270215T170000Z\nDTSTART;TZID=Europe/Berlin:20270216T200000\n"
        "DTEND;TZID=Europe/Berlin:20270216T210000\nSUMMARY:Weekly (moved)\nSTATUS:CANCELLED",
    ))
    got = [(i.recurrence_id, i.title, iso(i.start), i.status) for i in result.events]
    assert got == [
        ("2027-02-01", "Weekly", "2027-02-01T18:00:00+01:00", None),
        ("2027-02-15", "Weekly (moved)", "2027-02-16T20:00:00+01:00", CANCELLED),
        ("2027-02-22", "Weekly", "2027-02-22T18:00:00+01:00", None),
        ("2027-03-03", "Weekly", "2027-03-03T18:00:00+01:00", None),
    ]


def test_location_and_url_rules() -> None:
    result = parse_text(calendar(
        "UID:1\nDTSTART:20270210T120000Z\nSUMMARY:A\nLOCATION:Virtual event\n"
        "URL:https://example.org/a\nDESCRIPTION:See https://other.example/b.",
        "UID:2\nDTSTART:20270210T120000Z\nSUMMARY:B\nLOCATION:Online and at Town Hall\n"
        "DESCRIPTION:Tickets at https://tickets.example/b?x=1.",
        "UID:3\nDTSTART:20270210T120000Z\nSUMMARY:C\nLOCATION:https://zoom.example/j/1\n"
        "CATEGORIES:Meetup,Networking\nGEO:52.52;13.40",
    ))
    got = {i.uid: (i.venue, i.online, i.url) for i in result.events}
    assert got == {
        "1": (None, True, "https://example.org/a"),
        "2": ("Online and at Town Hall", True, "https://tickets.example/b?x=1"),
        "3": (None, True, None),
    }
    third = next(i for i in result.events if i.uid == "3")
    assert (third.tags, third.kind_text) == (["Meetup", "Networking"], "Meetup, Networking")
    assert (third.latitude, third.longitude) == (52.52, 13.40)


def test_a_broken_file_keeps_its_readable_events() -> None:
    text = calendar(
        "UID:good\nDTSTART:20270210T120000Z\nSUMMARY:Readable",
        "UID:bad\nDTSTART:not-a-date\nSUMMARY:Unreadable start",
        "UID:untitled\nDTSTART:20270211T120000Z",
    ) + "this line is garbage\nBEGIN:VEVENT\nUID:cut"   # truncated at the end
    result = parse_text(text)
    assert [i.uid for i in result.events] == ["good"]
    assert result.warnings, "the skipped events should be reported as warnings"


def test_unknown_custom_zone_gives_a_utc_instant() -> None:
    text = calendar(
        "UID:c\nDTSTART;TZID=Custom Zone:20270210T120000\nSUMMARY:Custom",
        header=("BEGIN:VTIMEZONE\nTZID:Custom Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
                "TZOFFSETFROM:+0300\nTZOFFSETTO:+0300\nEND:STANDARD\nEND:VTIMEZONE\n"),
    )
    [item] = parse_text(text).events
    assert item.start == datetime(2027, 2, 10, 9, 0, tzinfo=UTC) and item.timezone is None


# -- the corpus ---------------------------------------------------------------------------------

# Files of corpus/ical that are not calendars (JSON menus, xCal, lone components, fuzz
# garbage, an empty file): SourceError is the right answer for them.
NOT_CALENDARS = {
    "giggity/jres_2022.menu.json", "giggity/kielux_2020.menu.json",
    "giggity/linux_conf_au_2020.menu.json",
    "icalendar/alarms/example.ics", "icalendar/alarms/rfc_5545_absolute_alarm_example.ics",
    "icalendar/alarms/rfc_5545_end.ics", "icalendar/alarms/start_date.ics",
    "icalendar/availabilities/rfc_7953_1.ics", "icalendar/availabilities/rfc_7953_2.ics",
    "icalendar/calendars/fuzz_testcase_0_char_in_component_name.ics",
    "icalendar/calendars/fuzz_testcase_invalid_month.ics",
    "icalendar/calendars/fuzz_testcase_vtimezone_lone_cr.ics",
    "icalendar/calendars/issue_178_component_with_invalid_name_represented.ics",
    "icalendar/freebusy/example.ics", "icalendar/journals/example.ics",
    "icalendar/timezones/issue_237_brazilia_standard.ics",
    "icalendar/timezones/issue_53_tzid_parsed_properly.ics",
    "icalendar/timezones/issue_55_parse_error_on_utc_offset_with_seconds.ics",
    "icalendar/timezones/pacific_fiji.ics", "icalendar/todos/example.ics",
    "icalevents/empty.ics", "ics-py-corpus/libical/malloc.ics",
    "xcal-toronto-open-events/babyg.xcal", "xcal-toronto-open-events/horseshoe_tavern.xcal",
    "xcal-toronto-open-events/phoenix.xcal", "xcal-toronto-open-events/the_garrison.xcal",
}


def test_corpus_sweep_raises_only_source_errors() -> None:
    root = require_corpus() / "ical"
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "PROVENANCE.md")
    ctx = ParseContext(now=datetime(2026, 11, 27, tzinfo=UTC), horizon_days=180)
    src = source(name="corpus")
    parsed, rejected, events = 0, {}, 0
    for path in files:
        name = path.relative_to(root).as_posix()
        try:
            result = ical.parse(path.read_bytes(), path.as_uri(), src, ctx)
        except SourceError as error:
            rejected[name] = str(error)
            continue
        parsed += 1
        events += len(result.events)
        for item in result.events:
            check_item_invariants(item, name)
    print(f"\ncorpus/ical: {len(files)} files, {parsed} parsed, {len(rejected)} rejected "
          f"with SourceError, {events} events")
    wrongly_rejected = {n: r for n, r in rejected.items() if n not in NOT_CALENDARS}
    assert not wrongly_rejected, f"real calendars rejected: {wrongly_rejected}"
    assert all(r.startswith("not an iCalendar file: ") for r in rejected.values()), rejected
    assert parsed == len(files) - len(rejected) and parsed >= 530


def check_item_invariants(item: EventItem, where: str) -> None:
    what = f"{where}: {item.title!r}"
    assert item.title and item.title == item.title.strip(), f"{what}: empty or unstripped title"
    if item.all_day:
        assert type(item.start) is date and type(item.end) is date, f"{what}: all-day needs dates"
        assert item.end >= item.start, f"{what}: all-day end before start"
    else:
        assert isinstance(item.start, datetime), f"{what}: a timed event needs a datetime"
        if item.start.tzinfo is not None and item.timezone:
            assert getattr(item.start.tzinfo, "key", None) == item.timezone, (
                f"{what}: start is in {item.start.tzinfo}, timezone says {item.timezone}"
            )
        if item.end is not None:
            assert isinstance(item.end, datetime), f"{what}: end is not a datetime"
            assert (item.end.tzinfo is None) == (item.start.tzinfo is None), f"{what}: mixed"
            assert item.end > item.start, f"{what}: end not after start"
    if item.url is not None:
        assert item.url.startswith(("http://", "https://")), f"{what}: url {item.url!r}"
    if item.series is not None:
        assert item.recurrence_id and item.uid == f"{item.series}/{item.recurrence_id}" or (
            item.uid and item.uid.startswith(f"{item.series}/")), f"{what}: uid {item.uid!r}"
        date.fromisoformat(item.recurrence_id or "")
