"""spiders/jsondata.py: the json source type (field mappings and the confs-tech preset).

Also holds the check of all four json/csv sources of the evaluation mini-web against
expected.json, since both parsers share spiders/fieldmap.py.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from helpers import require_corpus, require_eval

from aggregator.config_types import SourceConfig
from aggregator.constants import CONFERENCE
from aggregator.items import EventItem
from spiders import csvdata, jsondata
from spiders.base import ParseContext, SourceError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "jsondata"
NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
ORIGIN = "http://eval.example.test"








def ctx(**kwargs: Any) -> ParseContext:
    return ParseContext(now=NOW, **kwargs)


def source(**kwargs: Any) -> SourceConfig:
    kwargs.setdefault("name", "test-json")
    kwargs.setdefault("type", "json")
    kwargs.setdefault("url", "https://events.example.org/api/events.json")
    return SourceConfig(**kwargs)


NESTED_FIELDS = {
    "items": "data.events",
    "title": "name",
    "start": "when.start",
    "end": "when.end",
    "timezone": "tz",
    "venue": "place.name",
    "city": "place.city",
    "country": "place.country",
    "online": "mode",
    "price": "fee",
    "currency": "currency",
    "url": "link",
    "tags": "labels",
    "kind": "type",
    "cfp_deadline": "cfp",
}


def parse_nested() -> tuple[list[EventItem], list[str]]:
    body = (FIXTURES / "nested_api.json").read_bytes()
    result = jsondata.parse(body, "https://events.example.org/api/events.json",
                            source(fields=NESTED_FIELDS), ctx())
    return result.events, result.warnings


# --- a hand-written API response with a custom mapping -----------------------------------

def test_nested_mapping_reads_every_kind_of_time_value():
    events, _ = parse_nested()
    by_title = {e.title: e for e in events}
    assert by_title["Data Engineering Night"].start == datetime(2027, 2, 10, 18, 30, tzinfo=UTC), \
        "a 'Z' time must become an aware UTC datetime"
    sydney = by_title["Cloud Costs Workshop"]
    assert sydney.start == datetime(2027, 2, 10, 22, 0, tzinfo=UTC), \
        "a '+11:00' time must keep its offset (22:00 UTC the day before)"
    assert sydney.start.utcoffset() == timedelta(hours=11)
    breakfast = by_title["Product Leaders Breakfast"]
    assert breakfast.start == datetime(2027, 2, 12, 8, 0) and breakfast.start.tzinfo is None, \
        "a time without offset must stay naive (local to the item's or the source's zone)"
    summit = by_title["Open Source Summit Day"]
    assert (summit.start, summit.end, summit.all_day) == (
        date(2027, 3, 1), date(2027, 3, 2), True
    ), "date-only values must give an all-day event with an inclusive end date"
    office = by_title["Security Office Hours"]
    assert office.start == datetime(2027, 2, 10, 17, 0, tzinfo=UTC), \
        "a number must be read as a Unix timestamp in UTC"
    assert office.end == datetime(2027, 2, 10, 18, 0, tzinfo=UTC)


def test_nested_mapping_fields_pass_through_as_the_source_gives_them():
    events, _ = parse_nested()
    night, workshop, breakfast, summit, office = events
    assert (night.venue, night.city, night.country, night.timezone) == (
        "Factory Görlitzer Park", "Berlin", "DEU", "Europe/Berlin")
    assert night.url == "https://events.example.org/events/1", \
        "a relative link must be made absolute against the source URL"
    assert night.tags == ["data", "python"] and workshop.tags == ["cloud", "finops"]
    assert [e.kind_text for e in events] == ["Meetup", "Workshop", "Networking", "Conference", None]
    assert [e.price for e in events] == ["Free", "AUD 25", 25, None, None], \
        "prices must be passed through unparsed for the normalize pipeline"
    assert breakfast.currency == "USD" and night.currency is None
    assert [e.online for e in events] == [False, True, False, True, True]
    assert summit.hybrid is True and night.hybrid is False
    assert summit.cfp_deadline == date(2027, 2, 14)
    assert workshop.venue is None and workshop.city is None, "a null 'place' gives no venue"
    assert all(e.source == "test-json" for e in events)
    assert office.timezone is None


def test_records_without_title_or_readable_start_are_skipped_with_a_warning():
    events, warnings = parse_nested()
    assert len(events) == 5, f"7 records, 2 unusable: expected 5 events, got {len(events)}"
    assert "Mystery Meetup" not in {e.title for e in events}
    assert any("item 6" in w and "no title" in w for w in warnings), warnings
    assert any("item 7" in w and "sometime in spring" in w for w in warnings), warnings


def test_items_path_that_does_not_exist_is_a_source_error_that_says_where_arrays_are():
    body = (FIXTURES / "nested_api.json").read_bytes()
    fields = {**NESTED_FIELDS, "items": "data.eventz"}
    with pytest.raises(SourceError) as err:
        jsondata.parse(body, "https://x.test/e.json", source(fields=fields), ctx())
    assert str(err.value) == (
        "items path 'data.eventz' is missing in the JSON document; "
        "set [source.fields] items to one of: data.events"
    )


def test_top_level_object_without_items_path_is_a_source_error():
    body = (FIXTURES / "nested_api.json").read_bytes()
    fields = {k: v for k, v in NESTED_FIELDS.items() if k != "items"}
    with pytest.raises(SourceError, match=r"expected a JSON array .* found an object; "
                                          r"set \[source.fields\] items to one of: data.events"):
        jsondata.parse(body, "https://x.test/e.json", source(fields=fields), ctx())


def test_items_path_pointing_at_an_object_is_a_source_error():
    body = (FIXTURES / "nested_api.json").read_bytes()
    with pytest.raises(SourceError, match="items path 'meta' is an object, not an array"):
        jsondata.parse(body, "https://x.test/e.json",
                       source(fields={**NESTED_FIELDS, "items": "meta"}), ctx())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"name": "a",}]', "invalid JSON: line 1 column 15: Expecting property name enclosed "
                              "in double quotes"),
        (b'[\n  {"name": "a"}\n', "invalid JSON: line 3 column 1: Expecting ',' delimiter"),
        (b"", "invalid JSON: line 1 column 1: Expecting value"),
        (b"<html><body>Not found</body></html>", "invalid JSON: line 1 column 1: Expecting value"),
    ],
)
def test_invalid_json_is_a_source_error_with_line_and_column(body, message):
    with pytest.raises(SourceError) as err:
        jsondata.parse(body, "https://x.test/e.json", source(preset="confs-tech"), ctx())
    assert str(err.value) == message


def test_json_lines_and_a_utf8_bom_are_read():
    lines = (
        '\ufeff{"name": "PyCon Test", "startDate": "2027-05-01", "endDate": "2027-05-02"}\n'
        '{"name": "RustConf Test", "startDate": "2027-06-01", "endDate": "2027-06-01"}\n'
    ).encode("utf-8")
    result = jsondata.parse(lines, "https://x.test/e.jsonl", source(preset="confs-tech"), ctx())
    assert [(e.title, e.start) for e in result.events] == [
        ("PyCon Test", date(2027, 5, 1)), ("RustConf Test", date(2027, 6, 1))]


def test_configuration_errors_are_source_errors():
    with pytest.raises(SourceError, match="unknown preset 'meetup'; known presets: "
                                          "confs-tech, python-organizers"):
        jsondata.parse(b"[]", "https://x.test/e.json", source(preset="meetup"), ctx())
    with pytest.raises(SourceError, match=r"unknown item field\(s\) in \[source.fields\]: "
                                          r"starts, titel"):
        jsondata.parse(b"[]", "https://x.test/e.json",
                       source(fields={"titel": "a", "starts": "b", "start": "c"}), ctx())
    with pytest.raises(SourceError, match="must map start"):
        jsondata.parse(b"[]", "https://x.test/e.json", source(fields={"title": "a"}), ctx())
    with pytest.raises(SourceError, match="needs `preset` or a"):
        jsondata.parse(b"[]", "https://x.test/e.json", source(), ctx())


def test_a_mapped_title_key_that_no_record_has_is_a_source_error_naming_it():
    body = b'[{"event": "A", "starts_at": "2027-02-01T10:00:00Z"}]'
    with pytest.raises(SourceError, match=r"key\(s\) not found in any JSON record: name; "
                                          r"the records have: event, starts_at"):
        jsondata.parse(body, "https://x.test/e.json",
                       source(fields={"title": "name", "start": "starts_at"}), ctx())


def test_the_item_cap_keeps_the_first_records_and_warns():
    records = [{"name": f"Conf {i}", "startDate": "2027-05-01"} for i in range(10)]
    result = jsondata.parse(json.dumps(records).encode(), "https://x.test/e.json",
                            source(preset="confs-tech"), ctx(max_items=3))
    assert [e.title for e in result.events] == ["Conf 0", "Conf 1", "Conf 2"]
    assert result.warnings == ["more than 3 records: only the first 3 kept"]


# --- real confs.tech data ------------------------------------------------------------------

def confs_tech_files() -> list[Path]:
    return sorted((require_corpus() / "conferences" / "confs-tech").glob("*/*.json"))


def test_every_confs_tech_file_parses_with_one_event_per_record():
    files = confs_tech_files()
    assert len(files) == 99, f"the corpus README promises 99 confs-tech files, found {len(files)}"
    total = 0
    for path in files:
        body = path.read_bytes()
        url = f"https://confs.tech/data/{path.parent.name}/{path.name}"
        result = jsondata.parse(body, url, source(name="confs-tech", preset="confs-tech"), ctx())
        records = json.loads(body)
        assert len(result.events) == len(records), \
            f"{path.name}: {len(records)} records but {len(result.events)} events"
        assert result.warnings == [], f"{path}: unexpected warnings {result.warnings}"
        for event in result.events:
            assert event.all_day and type(event.start) is date, f"{event.title}: not all-day"
            assert event.end is None or event.end >= event.start, f"{event.title}: end < start"
            assert event.kinds == [CONFERENCE]
            assert path.stem in event.tags, f"{event.title}: topic {path.stem!r} not in tags"
            assert event.url and event.url.startswith("http"), f"{event.title}: no absolute url"
        total += len(result.events)
    assert total == 2032, f"the corpus README promises 2,032 confs-tech entries, parsed {total}"


def test_confs_tech_record_fields_are_mapped_exactly():
    path = require_corpus() / "conferences" / "confs-tech" / "2025" / "python.json"
    records = json.loads(path.read_bytes())
    result = jsondata.parse(path.read_bytes(), "https://confs.tech/data/2025/python.json",
                            source(name="confs-tech", preset="confs-tech"), ctx())
    with_cfp = next(i for i, r in enumerate(records) if r.get("cfpEndDate") and r.get("city"))
    record, event = records[with_cfp], result.events[with_cfp]
    assert event.title == record["name"]
    assert event.start == date.fromisoformat(record["startDate"])
    assert event.end == date.fromisoformat(record["endDate"])
    assert event.cfp_deadline == date.fromisoformat(record["cfpEndDate"])
    assert event.cfp_url == record["cfpUrl"]
    assert (event.city, event.country) == (record["city"], record["country"])
    assert event.online is record.get("online")
    assert event.tags == ["python"]
    assert event.language == record["locales"].split(",")[0].strip().lower()


def test_giggity_menu_reads_with_a_mapping_using_list_indexes():
    path = require_corpus() / "conferences" / "giggity" / "menu.json"
    fields = {"items": "schedules", "title": "title", "start": "start", "end": "end",
              "timezone": "timezone", "url": "metadata.links.0.url"}
    result = jsondata.parse(path.read_bytes(), "https://ggt.gaa.st/menu.json",
                            source(name="giggity", fields=fields), ctx())
    schedules = json.loads(path.read_bytes())["schedules"]
    assert len(result.events) == len(schedules) == 62
    first = result.events[0]
    assert (first.title, first.start, first.end, first.timezone, first.url) == (
        "FOSSGIS-Konferenz 2025", date(2025, 3, 26), date(2025, 3, 29), "Europe/Berlin",
        "https://www.fossgis-konferenz.de/2025/")


# --- the evaluation mini-web: every json/csv source against expected.json ------------------

def _canonical(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith("utm_")]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _utc(value: datetime, zone: str | None) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone or "UTC"))
    return value.astimezone(UTC)


_PRICE = re.compile(r"^(?:(?P<cur>[A-Z]{3})\s*)?(?P<amount>\d+(?:[.,]\d+)?)$")


def _price(raw: Any, currency: str | None) -> tuple[float | None, str | None]:
    """Just enough of a price parser to tell that the raw value carries the expected price."""
    if raw is None:
        return None, currency
    if isinstance(raw, (int, float)):
        return float(raw), currency
    if str(raw).strip().casefold() == "free":
        return 0.0, currency
    match = _PRICE.match(str(raw).strip())
    assert match, f"price {raw!r} is in no format the normalize pipeline is expected to read"
    return float(match["amount"].replace(",", "")), match["cur"] or currency


def _eval_sources() -> list[dict[str, Any]]:
    config = tomllib.loads((require_eval() / "config" / "sources.toml").read_text("utf-8"))
    return [s for s in config["source"] if s["type"] in ("json", "csv")]


def _parse_eval_source(raw: dict[str, Any]) -> tuple[SourceConfig, list[EventItem]]:
    keys = SourceConfig.__dataclass_fields__
    conf = SourceConfig(**{k: v for k, v in raw.items() if k in keys})
    conf.url = conf.url.replace("{BASE}", ORIGIN)
    path = require_eval() / "site" / raw["url"].replace("{BASE}/", "")
    body = path.read_bytes().replace(b"{BASE}", ORIGIN.encode())
    parser = jsondata if raw["type"] == "json" else csvdata
    result = parser.parse(body, conf.url, conf, ctx())
    assert result.warnings == [], f"{conf.name}: unexpected warnings {result.warnings}"
    return conf, result.events


def test_eval_json_and_csv_sources_match_expected_events():
    expected = json.loads((require_eval() / "expected.json").read_text("utf-8"))
    ours = {s["name"]: s for s in _eval_sources()}
    failing = {f["name"] for f in expected["failing_sources"]}
    window_from = datetime.fromisoformat(expected["window"]["from"].replace("Z", "+00:00"))
    window_to = datetime.fromisoformat(expected["window"]["to"].replace("Z", "+00:00"))
    problems: list[str] = []
    cfp_found: dict[str, list[Any]] = {}
    checked = 0

    for name, raw in ours.items():
        site_file = require_eval() / "site" / raw["url"].replace("{BASE}/", "")
        if name in failing:
            assert not site_file.exists(), f"{name} must fail (404) but its file exists"
            continue
        conf, items = _parse_eval_source(raw)
        wanted = [e for e in expected["events"] if name in e["sources"]]
        by_url = {}
        for event in wanted:
            for url in event["urls"]:
                by_url[url.replace("{BASE}", ORIGIN)] = event
        matched: set[str] = set()
        for item in items:
            event = by_url.get(_canonical(item.url))
            if event is None:
                event = next((e for e in wanted
                              if item.title in (e.get("titles_on_sources") or {}).values()
                              or item.title == e["title"]), None)
            if event is None:
                start = item.start if isinstance(item.start, datetime) else \
                    datetime(item.start.year, item.start.month, item.start.day, tzinfo=UTC)
                start = _utc(start, item.timezone or conf.timezone)
                deadline = item.cfp_deadline
                in_window = window_from <= start < window_to or (
                    isinstance(deadline, date) and not isinstance(deadline, datetime)
                    and window_from.date() <= deadline < window_to.date())
                if in_window:
                    problems.append(f"{name}: {item.title!r} is in the window but not expected")
                continue
            matched.add(event["key"])
            checked += 1
            problems.extend(_compare(name, conf, item, event))
            if item.cfp_deadline is not None:
                cfp_found.setdefault(event["key"], []).append(item.cfp_deadline)
        for event in wanted:
            if event["key"] not in matched:
                problems.append(f"{name}: expected event {event['key']} was not parsed")

    for event in expected["events"]:
        if event["cfp_deadline"] and set(event["sources"]) <= set(ours) and \
                event["key"] not in cfp_found:
            problems.append(f"{event['key']}: no json/csv source gave its cfp_deadline")
    assert checked >= 60, f"only {checked} expected events were matched"
    assert not problems, "json/csv eval sources disagree with expected.json:\n" + \
        "\n".join(problems)


def _compare(name: str, conf: SourceConfig, item: EventItem, event: dict[str, Any]) -> list[str]:
    problems = []
    label = f"{name}: {event['key']}"
    if item.all_day:
        if event["all_day"]:
            want_start, want_end = event["start_date"], event["end_date"]
        else:   # a list gives dates, the event page gives times: compare the local dates
            want_start, want_end = event["start_local"][:10], event["end_local"][:10]
        got = (item.start.isoformat(), item.end.isoformat() if item.end else None)
        if got != (want_start, want_end):
            problems.append(f"{label}: dates {got} != expected {(want_start, want_end)}")
    else:
        zone = item.timezone or conf.timezone
        got = (_utc(item.start, zone), _utc(item.end, zone) if item.end else None)
        want = (datetime.fromisoformat(event["start_utc"].replace("Z", "+00:00")),
                datetime.fromisoformat(event["end_utc"].replace("Z", "+00:00")))
        if got != want:
            problems.append(f"{label}: UTC times {got} != expected {want}")
    if item.cfp_deadline is not None:
        want_cfp = event["cfp_deadline"]
        got_cfp = item.cfp_deadline.isoformat()
        if want_cfp is None or got_cfp != want_cfp[:10]:
            problems.append(f"{label}: cfp_deadline {got_cfp} != expected {want_cfp}")
    amount, currency = _price(item.price, item.currency)
    only_ours = len(event["sources"]) == 1
    if amount is not None or only_ours:
        want_price = None if event["price"] is None else float(event["price"])
        if amount != want_price:
            problems.append(f"{label}: price {item.price!r} != expected {event['price']}")
        elif currency is not None and currency != event["currency"]:
            problems.append(f"{label}: currency {currency} != expected {event['currency']}")
        elif currency is None and want_price not in (None, 0.0):
            problems.append(f"{label}: price {item.price!r} has no currency")
    return problems


def test_eval_talentbridge_item_is_mapped_exactly():
    raw = next(s for s in _eval_sources() if s["name"] == "talentbridge-api")
    _, items = _parse_eval_source(raw)
    assert len(items) == 17
    forum = next(i for i in items if i.title == "Fundraising Leaders Forum Seattle")
    assert forum.start == datetime(2027, 3, 2, 16, 30, tzinfo=UTC)
    assert forum.end == datetime(2027, 3, 3, 0, 30, tzinfo=UTC)
    assert (forum.timezone, forum.venue, forum.city, forum.country) == (
        "America/Los_Angeles", "Pine Street Convention Hall", "Seattle", "US")
    assert (forum.price, forum.currency, forum.kind_text, forum.organizer, forum.online) == (
        180, "USD", "Conference", "TalentBridge", False)
    assert forum.url == f"{ORIGIN}/talentbridge/events/622387.html"
    online = [i for i in items if i.online]
    assert len(online) == 5 and all(i.venue is None and i.city is None for i in online)


# --- robustness ------------------------------------------------------------------------------

def test_random_bytes_raise_only_source_error():
    hypothesis = pytest.importorskip("hypothesis")
    strategies = pytest.importorskip("hypothesis.strategies")

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(strategies.one_of(
        strategies.binary(max_size=200),
        strategies.recursive(
            strategies.none() | strategies.booleans() | strategies.floats(allow_nan=False)
            | strategies.integers() | strategies.text(max_size=20),
            lambda children: strategies.lists(children, max_size=4)
            | strategies.dictionaries(
                strategies.sampled_from(["name", "startDate", "endDate", "url", "online",
                                         "cfpEndDate", "city", "x"]),
                children, max_size=6),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
    ))
    def check(body: bytes) -> None:
        try:
            result = jsondata.parse(body, "https://x.test/e.json", source(preset="confs-tech"),
                                    ctx())
        except SourceError:
            return
        for event in result.events:
            assert event.title and event.start is not None

    check()


def test_naive_times_are_only_returned_when_the_source_gave_no_offset():
    events, _ = parse_nested()
    naive = [e.title for e in events if isinstance(e.start, datetime) and e.start.tzinfo is None]
    assert naive == ["Product Leaders Breakfast"]
    aware = [e for e in events if isinstance(e.start, datetime) and e.start.tzinfo is not None]
    assert all(isinstance(e.start.tzinfo, timezone) for e in aware), \
        "aware datetimes must carry a plain fixed-offset tzinfo"
