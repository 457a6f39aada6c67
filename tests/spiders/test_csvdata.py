"""spiders/csvdata.py: the csv source type (field mappings and the python-organizers preset).

The evaluation sources (python-organizers, hyderabad-community) are compared with
expected.json in test_jsondata.py, next to the json ones.
"""

from __future__ import annotations

import codecs
import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import require_corpus, require_eval

from aggregator.config_types import SourceConfig
from aggregator.constants import CONFERENCE
from spiders import csvdata
from spiders.base import ParseContext, SourceError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "csvdata"
NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)








def ctx(**kwargs: Any) -> ParseContext:
    return ParseContext(now=NOW, **kwargs)


def source(**kwargs: Any) -> SourceConfig:
    kwargs.setdefault("name", "test-csv")
    kwargs.setdefault("type", "csv")
    kwargs.setdefault("url", "https://example.org/data/events.csv")
    return SourceConfig(**kwargs)


GERMAN_FIELDS = {
    "title": "Titel", "start": "Beginn", "end": "Ende", "timezone": "Zeitzone", "venue": "Ort",
    "city": "Stadt", "country": "Land", "online": "Online", "price": "Preis",
    "currency": "Währung", "url": "Link", "description": "Beschreibung",
}


# --- a hand-written Windows-1252, semicolon-separated export ------------------------------

def test_cp1252_semicolon_crlf_file_with_a_multiline_cell():
    body = (FIXTURES / "meetups_cp1252_semicolon.csv").read_bytes()
    result = csvdata.parse(body, "https://example.org/data/events.csv",
                           source(fields=GERMAN_FIELDS, timezone="Europe/Berlin"), ctx())
    assert [e.title for e in result.events] == ["Café Tech Stammtisch", "Remote Retro"], \
        "the file has two usable rows (the third has no title)"
    stammtisch, retro = result.events
    assert stammtisch.start == datetime(2027, 2, 3, 19, 0) and stammtisch.start.tzinfo is None
    assert stammtisch.end == datetime(2027, 2, 3, 22, 0)
    assert stammtisch.timezone == "W. Europe Standard Time", \
        "time-zone names pass through; the normalize pipeline maps Windows names"
    assert (stammtisch.venue, stammtisch.city, stammtisch.country) == (
        "Café Größenwahn", "München", "Deutschland")
    assert stammtisch.description == 'Erste Zeile.\r\nZweite Zeile mit "Zitat" und 5 € Spende.', \
        "a quoted cell keeps its line break and its doubled quotes become one"
    assert (stammtisch.online, stammtisch.price, stammtisch.currency) == (False, "0", "EUR")
    assert (retro.start, retro.end, retro.all_day) == (date(2027, 2, 3), None, True), \
        "'03.02.2027' is 3 February, a date without time: all-day"
    assert (retro.online, retro.price, retro.currency) == (True, "€ 12", None)
    assert retro.url == "https://example.org/retro", "relative links are made absolute"
    assert retro.timezone is None
    assert result.warnings == [
        "not valid UTF-8 at byte 56; read as cp1252 instead",
        "row 4: no title ('Titel' is empty); skipped",
    ]


def test_missing_configured_columns_are_a_source_error_naming_them():
    body = (FIXTURES / "meetups_cp1252_semicolon.csv").read_bytes()
    fields = {**GERMAN_FIELDS, "organizer": "Veranstalter", "kind": "Art"}
    with pytest.raises(SourceError) as err:
        csvdata.parse(body, "https://example.org/e.csv", source(fields=fields), ctx())
    message = str(err.value)
    assert message.startswith("CSV column(s) not found: 'Veranstalter', 'Art'; the header has: "
                              "'Titel', 'Beginn'"), message


def test_header_names_match_ignoring_case_and_spacing():
    body = b"EVENT NAME,starts  at\r\nPyData Night,2027-02-10T18:00:00+01:00\r\n"
    result = csvdata.parse(body, "https://example.org/e.csv",
                           source(fields={"title": "Event name", "start": "Starts at"}), ctx())
    assert [(e.title, e.start.isoformat()) for e in result.events] == [
        ("PyData Night", "2027-02-10T18:00:00+01:00")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty CSV file: no header row"),
        (b"\r\n\r\n", "empty CSV file: no header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file: binary data"),
    ],
)
def test_unreadable_bodies_are_source_errors(body, message):
    with pytest.raises(SourceError) as err:
        csvdata.parse(body, "https://example.org/e.csv", source(preset="python-organizers"), ctx())
    assert str(err.value) == message


def test_utf16_with_bom_is_decoded():
    text = ("Subject,Start Date,End Date,Location\r\n"
            'PyCon Ñandú,2027-05-01,2027-05-03,"Asunción, Paraguay"\r\n')
    body = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    result = csvdata.parse(body, "https://example.org/e.csv", source(preset="python-organizers"),
                           ctx())
    [event] = result.events
    assert (event.title, event.city, event.country) == ("PyCon Ñandú", "Asunción", "Paraguay")


def test_rows_with_unreadable_start_are_skipped_and_the_rest_kept():
    body = (
        "Subject,Start Date,End Date,Location,Country\n"
        "PyCon A,2027-05-01,2027-05-02,\"Oslo, Norway\",NOR\n"
        "PyCon B,TBA,,\"Bergen, Norway\",NOR\n"
        "PyCon C,2027-06-01,2027-05-30,\"Tromsø, Norway\",NOR\n"
    ).encode()
    result = csvdata.parse(body, "https://example.org/e.csv", source(preset="python-organizers"),
                           ctx())
    assert [e.title for e in result.events] == ["PyCon A", "PyCon C"]
    assert result.events[1].end is None, "an end before the start is dropped"
    assert result.warnings == [
        "row 3 (PyCon B): start 'TBA' is not a date or time; skipped",
        "row 4 (PyCon C): end is before start; end dropped",
    ]


# --- real python-organizers data -----------------------------------------------------------

def python_organizers_files() -> list[Path]:
    return sorted((require_corpus() / "conferences" / "python-organizers").glob("*.csv"))


def test_every_python_organizers_file_parses_with_one_event_per_row():
    files = python_organizers_files()
    assert len(files) == 12, f"the corpus README promises 12 files, found {len(files)}"
    total = 0
    for path in files:
        rows = list(csv.DictReader(path.read_text("utf-8-sig").splitlines()))
        result = csvdata.parse(path.read_bytes(), f"https://example.org/{path.name}",
                               source(name="python-organizers", preset="python-organizers"), ctx())
        assert len(result.events) == len(rows), \
            f"{path.name}: {len(rows)} rows but {len(result.events)} events ({result.warnings})"
        for event, row in zip(result.events, rows, strict=True):
            assert event.title == row["Subject"].strip()
            assert event.start == date.fromisoformat(row["Start Date"]) and event.all_day
            assert event.kinds == [CONFERENCE] and event.tags == ["python"]
            deadline = row["Talk Deadline"] or row["Tutorial Deadline"]
            assert event.cfp_deadline == (date.fromisoformat(deadline) if deadline else None), \
                f"{event.title}: cfp_deadline must be the Talk (else Tutorial) Deadline"
            assert event.cfp_url == (row["Proposal URL"] or None)
            assert event.country == (row["Country"] or event.country)
        total += len(result.events)
    assert total == 451, f"the corpus README promises 451 rows, parsed {total}"


def test_python_organizers_locations_and_online_venues():
    path = require_corpus() / "conferences" / "python-organizers"
    events = {}
    for name in ("2019.csv", "2021.csv", "2023.csv", "2024.csv"):
        result = csvdata.parse((path / name).read_bytes(), f"https://example.org/{name}",
                               source(name="po", preset="python-organizers"), ctx())
        for event in result.events:
            events.setdefault((event.title, event.start.year), event)

    tennessee = events[("PyTennessee", 2019)]
    assert (tennessee.city, tennessee.country, tennessee.venue, tennessee.online) == (
        "Nashville", "USA", "Nashville School of Law", False)
    assert (tennessee.end, tennessee.cfp_deadline) == (date(2019, 2, 10), date(2018, 11, 1))
    assert tennessee.url == "https://www.pytennessee.org"
    assert tennessee.cfp_url == "https://www.papercall.io/pytn2019"

    leipzig = events[("PyCamp Leipzig", 2021)]     # Venue "Online"
    assert (leipzig.city, leipzig.venue, leipzig.online, leipzig.hybrid) == (
        "Leipzig", None, True, False)

    valparaiso = next(e for e in events.values() if e.city == "Valparaiso")
    assert (valparaiso.country, valparaiso.online, valparaiso.hybrid) == ("CHL", True, True), \
        "'Valparaiso, Chile & Online' is a hybrid event in Valparaiso"

    online_only = [e for e in events.values() if e.online and e.city is None]
    assert online_only, "'Online' and 'Worldwide' locations give no city"


def test_python_deadlines_minimal_csv_with_a_location_mapping():
    path = require_corpus() / "conferences" / "python-deadlines" / "testdata_minimal_csv.csv"
    fields = {"title": "Subject", "start": "Start Date", "end": "End Date",
              "location": "Location", "url": "Description"}
    result = csvdata.parse(path.read_bytes(), "https://example.org/m.csv",
                           source(fields=fields), ctx())
    assert len(result.events) == 6
    first = result.events[0]
    assert (first.title, first.start, first.end, first.city, first.country, first.url) == (
        "PyCon DE & PyData", date(2026, 4, 14), date(2026, 4, 17), "Darmstadt", "Germany",
        "https://2026.pycon.de/")
    assert [e.city for e in result.events] == [
        "Darmstadt", "Chicago", "Bologna", "Prague", "Pittsburgh", "Austin"]


def test_eval_hyderabad_csv_keeps_local_times_and_raw_costs():
    path = require_eval() / "site" / "data" / "hyderabad-community" / "calendar.csv"
    body = path.read_bytes().replace(b"{BASE}", b"http://eval.example.test")
    fields = {"title": "Event", "kind": "Type", "start": "Starts", "end": "Ends",
              "timezone": "Time zone", "venue": "Venue", "city": "City", "country": "Country",
              "online": "Online", "price": "Cost", "url": "Link", "description": "Details"}
    result = csvdata.parse(body, "http://eval.example.test/data/hyderabad-community/calendar.csv",
                           source(name="hyderabad-community", fields=fields,
                                  timezone="Asia/Kolkata"), ctx())
    assert len(result.events) == 10 and result.warnings == []
    workshop = next(e for e in result.events if e.title == "Positioning Workshop for B2B SaaS")
    assert (workshop.start, workshop.end, workshop.timezone) == (
        datetime(2027, 2, 20, 10, 0), datetime(2027, 2, 20, 14, 0), "Asia/Kolkata")
    assert (workshop.price, workshop.kind_text, workshop.online) == ("INR 1500", "Workshop", False)
    assert workshop.description.endswith("Tickets: ₹1,500 (early-bird pricing until sold out)")
    webinar = next(e for e in result.events if e.kind_text == "Webinar")
    assert (webinar.online, webinar.venue, webinar.city, webinar.country) == (
        True, None, None, None)


def test_random_bytes_raise_only_source_error():
    hypothesis = pytest.importorskip("hypothesis")
    strategies = pytest.importorskip("hypothesis.strategies")
    header = b"Subject,Start Date,End Date,Location,Country,Venue,Talk Deadline\r\n"

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(strategies.binary(max_size=300), strategies.booleans())
    def check(tail: bytes, with_header: bool) -> None:
        body = header + tail if with_header else tail
        try:
            result = csvdata.parse(body, "https://example.org/e.csv",
                                   source(preset="python-organizers"), ctx())
        except SourceError:
            return
        for event in result.events:
            assert event.title and event.start is not None

    check()


def test_fields_override_a_preset_column():
    body = b'Name,Start Date,Location\r\nPyCon Oslo,2027-05-01,"Oslo, Norway"\r\n'
    result = csvdata.parse(body, "https://example.org/e.csv",
                           source(preset="python-organizers", fields={"title": "Name"}), ctx())
    assert [(e.title, e.start, e.city, e.country, e.tags) for e in result.events] == [
        ("PyCon Oslo", date(2027, 5, 1), "Oslo", "Norway", ["python"])], \
        "a [source.fields] entry must replace the preset's column and keep the rest of the preset"
