"""spiders/ical.py's plain-calendar reader gives what icalendar's path gives.

The ical parser reads a calendar of single events with its own content-line reader and
falls back to icalendar (+ recurring-ical-events, x-wr-timezone) for anything else. Every
calendar here is parsed twice, with the fast path and with ``fast_path=False``; wherever the
plain reader took the calendar, both ParseResults must be the same (compared by repr, so an
aware datetime must also keep its zone). The inputs: edge cases written here, the hostile
calendars of tests/reliability, a synthetic benchmark corpus (bench/synth.py), the eval
mini-web's calendars and every file of the shared corpus's ical/ folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import load_module, require_corpus, require_eval, synth_documents
from hypothesis import given
from hypothesis import strategies as st
from icalendar.parser import unescape_backslash
from icalendar.parser.content_line import UFOLD

from aggregator.config_types import SourceConfig
from spiders import ical
from spiders.base import ParseContext, SourceError

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
SOURCE = SourceConfig(name="fast-path", type="ical", url="https://calendar.example.org/events.ics",
                      group="A group")


def parse_both(body: bytes, source: SourceConfig = SOURCE, ctx: ParseContext | None = None,
               ) -> tuple[str, str, bool]:
    """(the fast path's result, icalendar's result, whether the plain reader took the file),
    each result as the repr of (events, groups, warnings) or the SourceError's message."""
    ctx = ctx or ParseContext(now=NOW)
    fast, taken = fast_outcome(body, source, ctx)
    return fast, outcome(body, source, ctx, fast_path=False), taken


def fast_outcome(body: bytes, source: SourceConfig, ctx: ParseContext) -> tuple[str, bool]:
    """The fast path's result, and whether the plain reader took the file."""
    taken: list[bool] = []
    reader = ical._read_plain_calendar

    def spy(text: str, source: SourceConfig, span: Any) -> Any:
        read = reader(text, source, span)
        taken.append(read is not None)
        return read

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ical, "_read_plain_calendar", spy)
        return outcome(body, source, ctx, fast_path=True), any(taken)


def outcome(body: bytes, source: SourceConfig, ctx: ParseContext, *, fast_path: bool) -> str:
    try:
        result = ical.parse(body, source.url, source, ctx, fast_path=fast_path)
    except SourceError as error:
        return f"SourceError: {error}"
    return repr((result.events, result.groups, result.warnings))


def vcalendar(*events: str, header: str = "", zones: str = "") -> bytes:
    """A VCALENDAR around VEVENT bodies (one property a line, LF written as CRLF)."""
    blocks = "".join(f"BEGIN:VEVENT\n{body.strip()}\nEND:VEVENT\n" for body in events)
    text = (f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//eventscout tests//EN\n{header}{zones}{blocks}"
            "END:VCALENDAR\n")
    return text.replace("\n", "\r\n").encode("utf-8")


BERLIN_AND_LONDON = """\
UID:cross-zone@x
SUMMARY:Starts in Berlin\\, ends in London
DTSTART;TZID=Europe/Berlin:20270327T230000
DTEND;TZID=Europe/London:20270328T030000
"""
WINDOWS_ZONE = """\
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""
CUSTOM_ZONE = WINDOWS_ZONE.replace("W. Europe Standard Time", "Customized Time Zone 7")

# (name, body, whether the plain reader must take it)
CASES: list[tuple[str, bytes, bool]] = [
    ("utc, floating and zoned times", vcalendar(
        "UID:a\nSUMMARY:UTC\nDTSTART:20270210T180000Z\nDTEND:20270210T200000Z",
        "UID:b\nSUMMARY:Floating\nDTSTART:20270211T180000\nDTEND:20270211T190000",
        "UID:c\nSUMMARY:Zoned\nDTSTART;TZID=America/New_York:20270212T180000\n"
        "DTEND;TZID=America/New_York:20270212T193000",
        "UID:d\nSUMMARY:Renamed zone\nDTSTART;TZID=Asia/Calcutta:20270213T180000",
        "UID:e\nSUMMARY:Etc zone\nDTSTART;TZID=Etc/UTC:20270214T180000",
    ), True),
    ("all-day events", vcalendar(
        "UID:a\nSUMMARY:One day\nDTSTART;VALUE=DATE:20270215",
        "UID:b\nSUMMARY:Three days\nDTSTART;VALUE=DATE:20270216\nDTEND;VALUE=DATE:20270219",
        "UID:c\nSUMMARY:Ends on its start\nDTSTART:20270220\nDTEND:20270220",
        "UID:d\nSUMMARY:A date with a TZID\nDTSTART;TZID=Europe/Paris:20270221",
        "UID:e\nSUMMARY:Ends before it starts\nDTSTART:20270225\nDTEND:20270222",
    ), True),
    ("ends, durations and swaps", vcalendar(
        "UID:a\nSUMMARY:Ends before it starts\nDTSTART:20270210T180000Z\nDTEND:20270210T170000Z",
        "UID:b\nSUMMARY:No end\nDTSTART:20270210T180000Z",
        "UID:c\nSUMMARY:Duration\nDTSTART;TZID=Europe/Berlin:20270328T013000\nDURATION:PT2H",
        "UID:d\nSUMMARY:Days\nDTSTART;VALUE=DATE:20270301\nDURATION:P1W",
        "UID:e\nSUMMARY:Negative\nDTSTART:20270302T100000\nDURATION:-PT1H",
        BERLIN_AND_LONDON,
        "UID:f\nSUMMARY:Zoned with a Z\nDTSTART;TZID=Europe/Berlin:20270303T100000Z",
    ), True),
    ("the window's edges", vcalendar(
        "UID:a\nSUMMARY:Ends as the window starts\nDTSTART:20261231T070000Z\nDTEND:20270101T090000Z",
        "UID:b\nSUMMARY:Ends just inside\nDTSTART:20261231T070000Z\nDTEND:20270101T090001Z",
        "UID:c\nSUMMARY:Instant at the start\nDTSTART:20270101T090000Z",
        "UID:d\nSUMMARY:Floating at the start\nDTSTART:20270101T090000",
        "UID:e\nSUMMARY:Day before\nDTSTART;VALUE=DATE:20261231",
        "UID:f\nSUMMARY:Day of\nDTSTART;VALUE=DATE:20270101",
        "UID:g\nSUMMARY:Long ago\nDTSTART:19970714T170000Z\nDTEND:19970715T035959Z",
        "UID:h\nSUMMARY:Far away\nDTSTART:20470101T100000Z",
        "UID:i\nSUMMARY:Further\nDTSTART:20480101T100000Z",
    ), True),
    ("x-wr-timezone", vcalendar(
        "UID:a\nSUMMARY:UTC\nDTSTART:20270210T180000Z\nDTEND:20270210T200000Z",
        "UID:b\nSUMMARY:Floating\nDTSTART:20270211T180000",
        "UID:c\nSUMMARY:Zoned\nDTSTART;TZID=Asia/Tokyo:20270212T180000",
        "UID:d\nSUMMARY:UTC zone\nDTSTART;TZID=UTC:20270213T180000",
        "UID:e\nSUMMARY:All day\nDTSTART;VALUE=DATE:20270214",
        header="X-WR-TIMEZONE:America/Los_Angeles\nX-WR-CALNAME:Events\n"), True),
    ("apple's x-wr-timezone;value=text", vcalendar(
        "UID:a\nSUMMARY:UTC\nDTSTART:20270210T180000Z", header="X-WR-TIMEZONE;VALUE=TEXT:US/Eastern\n"), True),
    ("an unknown x-wr-timezone", vcalendar(
        "UID:a\nSUMMARY:UTC\nDTSTART:20270210T180000Z", header="X-WR-TIMEZONE:Mars/Olympus\n"), True),
    ("x-wr-timezone utc", vcalendar(
        "UID:a\nSUMMARY:Floating\nDTSTART:20270210T180000", header="X-WR-TIMEZONE:UTC\n"), True),
    ("texts, parameters and the group", vcalendar(
        "UID:a\nSUMMARY;LANGUAGE=de-DE:  Treffen \\; Vortrag\\, mit \\\\n Backslash  \n"
        "DESCRIPTION:Line\\nNext\\NThird \\: colon \\x kept https://example.org/e/1).\n"
        "LOCATION:Online\nORGANIZER;CN=\"Big Org\";ROLE=CHAIR:mailto:a@example.org\n"
        "CATEGORIES:Tech,Talk\\, Panel\nCATEGORIES:Tech,Food\nGEO:52.5;13.4\nSEQUENCE:3\n"
        "STATUS:cancelled\nDTSTART:20270210T180000Z",
        "UID:b\nSUMMARY:No title below\nURL:https://example.org/b\nORGANIZER;CN=Plain Name:x\n"
        "GEO:95.0;13.4\nLOCATION:https://meet.example.org/x\nDTSTART:20270210T180000Z",
        "UID:c\nDESCRIPTION:no summary\nDTSTART:20270210T180000Z",
        "UID:d\nSUMMARY:   \nDTSTART:20270210T180000Z",
        "SUMMARY:No UID\nORGANIZER;CN=:mailto:x\nDTSTART:20270211T180000Z",
        "SUMMARY:No UID either\nORGANIZER:mailto:x\nDTSTART:20270212T180000Z",
        header="METHOD:PUBLISH\nX-ORIGINAL-URL:https://example.org/group\n"
               "X-WR-CALDESC:About\\, us\\nand more\n"), True),
    ("a cancelled calendar", vcalendar(
        "UID:a\nSUMMARY:Gone\nDTSTART:20270210T180000Z", header="METHOD:CANCEL\n"), True),
    ("folding, blank lines, lower case, alarms and todos", (
        b"BEGIN:VCALENDAR\r\nversion:2.0\r\nprodid:x\r\n\r\nBEGIN:VTODO\r\nUID:t\r\n"
        b"DTSTART;TZID=Europe/Berlin:20270210T100000\r\nDUE:20270211T100000Z\r\nEND:VTODO\r\n"
        b"begin:vevent\r\nuid:a\r\nsummary:Fol\r\n ded\r\n\r\n\tagain\r\n"
        b"DESCRIPTION:x\r\n\r\n\r\n y\r\ndtstart:20270210T180000Z\r\n"
        b"X-ALT-DESC;FMTTYPE=text/html:<p>hi</p>\r\nDTSTAMP:20270101T000000Z\r\n"
        b"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nend:vevent\r\n"
        b"END:VCALENDAR\r\n\r\n"), True),
    ("LF line ends", vcalendar("UID:a\nSUMMARY:LF\nDTSTART:20270210T180000Z").replace(b"\r\n", b"\n"), True),
    ("a windows zone with its VTIMEZONE", vcalendar(
        "UID:a\nSUMMARY:Windows\nDTSTART;TZID=W. Europe Standard Time:20270210T180000\n"
        "DTEND;TZID=W. Europe Standard Time:20270210T200000", zones=WINDOWS_ZONE), True),
    ("a custom VTIMEZONE", vcalendar(
        "UID:a\nSUMMARY:Custom\nDTSTART;TZID=Customized Time Zone 7:20270210T180000",
        header="X-WR-TIMEZONE:Europe/Madrid\n", zones=CUSTOM_ZONE), True),
    ("a VTIMEZONE after the events", (
        vcalendar("UID:a\nSUMMARY:Forward\nDTSTART;TZID=W. Europe Standard Time:20270210T180000")
        .replace(b"END:VCALENDAR", WINDOWS_ZONE.replace("\n", "\r\n").encode() + b"END:VCALENDAR")), False),
    ("a windows zone without VTIMEZONE", vcalendar(
        "UID:a\nSUMMARY:Windows\nDTSTART;TZID=Pacific Standard Time:20270210T180000"), False),
    ("a vendor TZID", vcalendar(
        "UID:a\nSUMMARY:Vendor\nDTSTART;TZID=/example.com/Europe/Berlin:20270210T180000"), False),
    ("recurrence", vcalendar(
        "UID:a\nSUMMARY:Weekly\nDTSTART:20270210T180000Z\nRRULE:FREQ=WEEKLY;COUNT=3"), False),
    ("an override", vcalendar(
        "UID:a\nSUMMARY:Moved\nDTSTART:20270210T180000Z\nRECURRENCE-ID:20270209T180000Z"), False),
    ("the same UID twice", vcalendar(
        "UID:a\nSUMMARY:One\nDTSTART:20270210T180000Z", "UID:a\nSUMMARY:Two\nDTSTART:20270211T180000Z"), False),
    ("no DTSTART", vcalendar("UID:a\nSUMMARY:When?", "UID:b\nSUMMARY:Now\nDTSTART:20270210T180000Z"), False),
    ("a date and a datetime", vcalendar("UID:a\nSUMMARY:Mixed\nDTSTART:20270210\nDTEND:20270211T100000Z"),
     False),
    ("a day and hours", vcalendar("UID:a\nSUMMARY:Mixed\nDTSTART:20270210\nDURATION:P1DT2H"), False),
    ("floating and zoned", vcalendar("UID:a\nSUMMARY:Mixed\nDTSTART:20270210T100000\nDTEND:20270210T110000Z"),
     False),
    ("a broken time", vcalendar("UID:a\nSUMMARY:Broken\nDTSTART:20270231T100000Z",
                                "UID:b\nSUMMARY:Fine\nDTSTART:20270210T100000Z"), False),
    ("a period", vcalendar("UID:a\nSUMMARY:Period\nDTSTART;VALUE=PERIOD:20270210T100000Z/PT1H"), False),
    ("a broken DTSTAMP", vcalendar("UID:a\nSUMMARY:Stamp\nDTSTART:20270210T100000Z\nDTSTAMP:yesterday"),
     False),
    ("a broken GEO and SEQUENCE", vcalendar(
        "UID:a\nSUMMARY:Geo\nDTSTART:20270210T100000Z\nGEO:north", "UID:b\nSUMMARY:Seq\n"
        "DTSTART:20270210T100000Z\nSEQUENCE:first"), False),
    ("a broken SEQUENCE long ago", vcalendar(
        "UID:a\nSUMMARY:Seq\nDTSTART:19990210T100000Z\nSEQUENCE:first",
        "UID:b\nSUMMARY:Now\nDTSTART:20270210T100000Z"), False),
    ("a broken GEO long ago", vcalendar(
        "UID:a\nSUMMARY:Geo\nDTSTART:19990210T100000Z\nGEO:north",
        "UID:b\nSUMMARY:Now\nDTSTART:20270210T100000Z"), True),
    ("the last day", vcalendar("UID:a\nSUMMARY:Last\nDTSTART;VALUE=DATE:99991231"), False),
    ("julian", vcalendar("UID:a\nSUMMARY:Old style\nDTSTART:20270210T100000Z", header="CALSCALE:JULIAN\n"),
     False),
    ("two calendars", vcalendar("UID:a\nSUMMARY:One\nDTSTART:20270210T100000Z") * 2, False),
    ("a lone CR", vcalendar("UID:a\nSUMMARY:One\rTwo\nDTSTART:20270210T100000Z"), False),
    ("the year 9999", vcalendar("UID:a\nSUMMARY:Late\nDTSTART;TZID=Pacific/Kiritimati:99991231T235900\n"
                                "DTEND;TZID=Pacific/Kiritimati:99991231T235959",
                                "UID:b\nSUMMARY:Early\nDTSTART:00010101T000000Z"), True),
    ("an escaped parameter", vcalendar('UID:a\nSUMMARY;X-Q="a^\'b":x\nDTSTART:20270210T100000Z'), False),
    ("a property after the end", vcalendar("UID:a\nSUMMARY:x\nDTSTART:20270210T100000Z") + b"X-COMMENT:x\r\n",
     False),
    ("no end", vcalendar("UID:a\nSUMMARY:x\nDTSTART:20270210T100000Z").replace(b"END:VCALENDAR\r\n", b""),
     False),
    ("a nested VEVENT", vcalendar("UID:a\nSUMMARY:x\nDTSTART:20270210T100000Z\nBEGIN:VEVENT\nUID:b\n"
                                  "SUMMARY:y\nDTSTART:20270211T100000Z\nEND:VEVENT"), False),
    ("an empty calendar", vcalendar(), True),
    ("a BOM", b"\xef\xbb\xbf" + vcalendar("UID:a\nSUMMARY:Caf\u00e9\nDTSTART:20270210T100000Z"), True),
    ("latin-1", vcalendar("UID:a\nSUMMARY:x\nDTSTART:20270210T100000Z").replace(b"x", "Caf\u00e9".encode("latin-1")),
     True),
    ("location and url rules", vcalendar(
        "UID:1\nDTSTART:20270210T120000Z\nSUMMARY:A\nLOCATION:Virtual event\n"
        "URL:https://example.org/a\nDESCRIPTION:See https://other.example/b.",
        "UID:2\nDTSTART:20270210T120000Z\nSUMMARY:B\nLOCATION:Online and at Town Hall\n"
        "DESCRIPTION:Tickets at https://tickets.example/b?x=1.",
        "UID:3\nDTSTART:20270210T120000Z\nSUMMARY:C\nLOCATION:https://zoom.example/j/1\n"
        "CATEGORIES:Meetup,Networking\nGEO:52.52;13.40"), True),
    ("an unknown custom zone", vcalendar(
        "UID:a\nSUMMARY:Custom\nDTSTART;TZID=Customized Time Zone 7:20270210T180000", zones=CUSTOM_ZONE), True),
]


@pytest.mark.parametrize("name, body, plain", CASES, ids=[case[0] for case in CASES])
def test_edge_cases_give_the_same_result(name: str, body: bytes, plain: bool) -> None:
    fast, slow, taken = parse_both(body)
    assert taken == plain, f"{name}: the plain reader {'took' if taken else 'refused'} it"
    # (when it refused, both results are icalendar's; they can differ only by its warnings,
    # which its process-wide zone cache gives once, e.g. for a guessed "/vendor/" TZID)
    assert fast == slow or not taken


def test_the_plain_reader_keeps_the_window_and_the_cap() -> None:
    body = vcalendar(*(f"UID:{n}\nSUMMARY:Event {n}\nDTSTART:202702{n:02d}T100000Z" for n in range(1, 21)))
    ctx = ParseContext(now=NOW, horizon_days=10, max_items=5)
    fast, slow, taken = parse_both(body, ctx=ctx)
    assert taken and fast == slow
    result = ical.parse(body, SOURCE.url, SOURCE, ctx)
    assert [item.title for item in result.events] == [f"Event {n}" for n in range(1, 6)]
    assert result.warnings == ["20 events found; only the first 5 are kept (max_items)"]


def test_the_hostile_calendars() -> None:
    hostile = load_module(ROOT / "tests" / "reliability" / "hostile_server.py", "hostile_server_bodies")
    bodies = {
        "good": (hostile.GOOD_ICS.encode(), True),
        "charset": (hostile.LATIN1_ICS, True),
        "empty": (hostile.EMPTY_ICS, True),
        "forever": (hostile.FOREVER_ICS, False),
        "years": (hostile.YEARS_ICS, False),
        "html": (hostile.HTML_PAGE, False),
    }
    for name, (body, plain) in bodies.items():
        ctx = ParseContext(now=NOW, headers={"content-type": "text/calendar; charset=utf-8"})
        fast, slow, taken = parse_both(body, ctx=ctx)
        assert taken == plain, name
        assert fast == slow, name


@pytest.fixture(scope="module")
def bench_calendars(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[SourceConfig, bytes]]:
    calendars = synth_documents(tmp_path_factory.mktemp("synth"), "ical", 20)
    assert calendars, "the synthetic corpus has no calendar"
    return calendars


def test_every_benchmark_calendar_is_read_plainly_and_the_same(
        bench_calendars: list[tuple[SourceConfig, bytes]]) -> None:
    ctx = ParseContext(now=datetime(2027, 1, 4, 9, tzinfo=UTC), horizon_days=150)
    for src, body in bench_calendars:
        fast, slow, taken = parse_both(body, src, ctx)
        assert taken, f"{src.name}: the plain reader refused a benchmark calendar"
        assert fast == slow, src.name
        assert "EventItem(" in fast, f"{src.name}: no event"


def eval_calendars() -> Iterator[tuple[str, bytes]]:
    root = require_eval()
    for path in sorted(root.rglob("*.ics")):
        yield path.relative_to(root).as_posix(), path.read_bytes().replace(b"{BASE}", b"http://eval.example.test")


def test_the_eval_calendars() -> None:
    taken_count = 0
    calendars = list(eval_calendars())
    for name, body in calendars:
        fast, slow, taken = parse_both(body)
        assert fast == slow or not taken, name
        taken_count += taken
    print(f"\neval: the plain reader took {taken_count} of {len(calendars)} calendars")
    assert taken_count >= len(calendars) // 2


def test_the_corpus_calendars() -> None:
    root = require_corpus() / "ical"
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "PROVENANCE.md")
    ctx = ParseContext(now=datetime(2026, 11, 27, tzinfo=UTC), horizon_days=180)
    taken_files = []
    for path in files:
        body = path.read_bytes()
        fast, taken = fast_outcome(body, SOURCE, ctx)
        if taken:  # otherwise the fast path's result was icalendar's already
            assert fast == outcome(body, SOURCE, ctx, fast_path=False), path
            taken_files.append(path)
    print(f"\ncorpus/ical: the plain reader took {len(taken_files)} of {len(files)} files")
    assert len(taken_files) >= 150


# -- the reader's string helpers against icalendar's own -----------------------------------------

ESCAPY = st.text(alphabet="\\nN,;:x \t\r\"", max_size=30)


@given(ESCAPY)
def test_unescaping_is_icalendars(raw: str) -> None:
    assert ical._unescape_text(raw) == unescape_backslash(raw)


@given(st.text(alphabet="ab \t\r\n:", max_size=40))
def test_unfolding_is_icalendars(text: str) -> None:
    if text.count("\r") != text.count("\r\n"):
        return  # the plain reader refuses a lone CR before unfolding
    expected = re.split(r"\r?\n", UFOLD.sub("", text))
    assert ical._unfold(text.replace("\r\n", "\n")).split("\n") == expected


@given(st.text(alphabet="ab,\\ ", max_size=30))
def test_splitting_categories_is_icalendars(raw: str) -> None:
    from icalendar.parser import split_on_unescaped_comma

    assert ical._split_categories(raw) == split_on_unescaped_comma(raw)
