"""The ``ical`` source type: iCalendar (RFC 5545) files.

``parse(body, url, source, ctx)`` gives one EventItem per event or occurrence. Two readers,
one result:

- icalendar (+ x-wr-timezone for X-WR-TIMEZONE, + recurring-ical-events to expand series and
  to pick the occurrences in the window) reads any calendar. It is the reference, and the
  only reader for recurring events, custom or guessed time zones, several VCALENDARs and
  broken files.
- The plain reader (``_read_plain_calendar``) reads a calendar of single events itself:
  icalendar builds a typed object for every property of every line, about 1 ms per VEVENT,
  which made it most of the collect time of a calendar. It takes one VCALENDAR whose
  VEVENTs have no RRULE/RDATE/EXDATE/RECURRENCE-ID, whose lines are all in the common part
  of the content-line grammar, whose values icalendar reads without error (it asks icalendar
  for the unusual ones) and whose TZIDs are IANA names or name a VTIMEZONE that icalendar
  then reads. It reproduces what the three libraries do with such a file, down to their
  order of arithmetic; anything else, or any doubt, hands the whole file to icalendar.
  tests/spiders/test_ical_fastpath.py checks that both give the same ParseResult wherever
  the plain reader takes a calendar (real-world corpus, eval, benchmark, edge cases).

What comes out:

- Times: TZID (IANA names, Windows names such as "W. Europe Standard Time" with their
  VTIMEZONE, "globally unique" ``/vendor/Europe/Berlin`` ids), UTC and floating times, and
  all-day dates. Aware datetimes come out in their IANA zone with ``timezone`` set; a time
  in an unknown custom zone comes out as a UTC instant. Floating times stay naive unless
  the calendar names a default zone in X-WR-TIMEZONE (then they are in that zone). All-day
  events give ``date`` values, ``all_day=True`` and ``end`` = the last day (inclusive).
- Recurrence: RRULE, RDATE, EXDATE and RECURRENCE-ID overrides are expanded from
  ``ctx.now - LOOKBACK_DAYS`` to ``ctx.now + ctx.horizon_days``; a single (non-recurring)
  event is kept from the same lower bound up to SINGLE_EVENT_YEARS beyond the horizon.
  At most ``ctx.max_items`` events come out, the earliest first.
- Identity: a single event has ``uid`` = UID. An occurrence of a recurring series has
  ``series`` = UID, ``recurrence_id`` = the ISO date of the original occurrence (in the
  event's zone) and ``uid`` = ``f"{UID}/{recurrence_id}"`` (or ``f"{UID}/{ISO datetime}"``
  when a series has several occurrences on one day).

Broken input: not an iCalendar file at all raises ``SourceError``; a file that icalendar
cannot read as a whole is salvaged event by event; a series that cannot be expanded is
skipped with a warning. Nothing but ``SourceError`` is raised.
"""

from __future__ import annotations

import re
import warnings
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache, lru_cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.parser import split_on_unescaped_comma
from icalendar.parser.ical.component import ComponentIcalParser
from icalendar.prop import vCalAddress, vCategory, vDDDTypes, vGeo, vInt, vText, vUnknown, vUri
from icalendar.timezone import tzp
from icalendar.timezone.tzid import tzid_from_tzinfo
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from aggregator.config_types import SourceConfig
from aggregator.constants import CANCELLED
from aggregator.items import EventItem, GroupItem
from spiders.base import ParseContext, ParseResult, SourceError

# How far back occurrences and single events are kept.
LOOKBACK_DAYS = 30
# How far beyond the horizon a single (non-recurring) event is still kept.
SINGLE_EVENT_YEARS = 20
# A rule is expanded by stepping from its DTSTART, one period at a time (dateutil). A series
# that would need more steps than this before the end of the window is skipped with a warning
# (e.g. FREQ=SECONDLY, or FREQ=DAILY from the year 1000), so that every file stays cheap.
MAX_RULE_STEPS = 200_000
_PERIOD_SECONDS = {
    "SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400,
}
# What icalendar, recurring-ical-events and dateutil raise on malformed calendars
# (icalendar.InvalidCalendar and recurring-ical-events' errors are ValueErrors).
_LIBRARY_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)

# CLDR's Windows mapping (and old calendars) use some pre-rename IANA ids; these are the
# renames among tzdata's "backward" links (not the merges of distinct zones).
_RENAMED = {
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Europe/Kiev": "Europe/Kyiv",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
}
_UTC_NAMES = {
    "UTC", "GMT", "Z", "ETC/UTC", "ETC/GMT", "UNIVERSAL", "ZULU", "ETC/UNIVERSAL", "ETC/ZULU",
}
_RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "RECURRENCE-ID")
_URL_RE = re.compile(r"https?://[^\s<>\"'\\]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}>\u2019\u201d"
_ONLINE_RE = re.compile(r"\b(online|virtual)\b", re.IGNORECASE)
_ONLY_ONLINE_RE = re.compile(
    r"\s*(online|virtual)(\s+(event|meeting|session|only))?\s*[.!]?\s*", re.IGNORECASE
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HTML_RE = re.compile(r"<\s*(!doctype\s+html|html|head|body)\b", re.IGNORECASE)
_BLOCK_RE = re.compile(
    r"^BEGIN:(VEVENT|VTIMEZONE)[ \t]*\r?$.*?^END:\1[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext, *,
          fast_path: bool = True) -> ParseResult:
    """Read an iCalendar document into events (and the source's group, when it has one).

    ``fast_path=False`` reads every calendar with icalendar (the tests compare both readers).
    """
    result = ParseResult()
    text = _decode(body, ctx.headers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _parse_events(text, url, source, ctx, result, fast_path)
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        result.warnings.append(message)
    return result


def _parse_events(text: str, url: str, source: SourceConfig, ctx: ParseContext,
                  result: ParseResult, fast_path: bool) -> None:
    span = _Span(ctx.now - timedelta(days=LOOKBACK_DAYS), ctx.now + timedelta(days=ctx.horizon_days),
                 ctx.max_items)
    read = _read_plain_calendar(text, source, span) if fast_path else None
    if read is None:
        read = _read_with_icalendar(text, source, span, result.warnings)
    else:
        result.warnings.extend(read.warnings)
    events = read.events
    if not read.has_events:
        result.warnings.append("the calendar has no events")
    events.sort(key=_sort_key)
    if len(events) > ctx.max_items:
        result.warnings.append(
            f"{len(events)} events found; only the first {ctx.max_items} are kept (max_items)"
        )
        events = events[: ctx.max_items]
    result.events = events
    if source.group:
        result.groups.append(_group_item(read.headers, url, source))


@dataclass(frozen=True, slots=True)
class _Span:
    """The window events are kept in, and the per-source cap."""

    start: datetime
    end: datetime
    max_items: int

    @property
    def far_end(self) -> datetime:
        """Where a single (non-recurring) event stops being kept."""
        return self.end + timedelta(days=365 * SINGLE_EVENT_YEARS)


@dataclass(slots=True)
class _Read:
    """What either reader found: the events, whether the file had any VEVENT at all, the
    (X-ORIGINAL-URL, X-WR-CALDESC) of each calendar, and the warnings (plain reader only:
    icalendar's path writes its warnings straight into the result)."""

    events: list[EventItem]
    has_events: bool
    headers: list[tuple[str | None, str | None]]
    warnings: list[str] = field(default_factory=list)


def _read_with_icalendar(text: str, source: SourceConfig, span: _Span, warnings: list[str]) -> _Read:
    calendars = _read_calendars(text, warnings)
    events: list[EventItem] = []
    for calendar in calendars:
        events.extend(_calendar_events(calendar, source, span, warnings))
    return _Read(
        events=events,
        has_events=any(calendar.walk("VEVENT") for calendar in calendars),
        headers=[(_text(c.get("X-ORIGINAL-URL")), _text(c.get("X-WR-CALDESC"))) for c in calendars],
    )


# -- reading the document -------------------------------------------------------------------


def _decode(body: bytes, headers: dict[str, str]) -> str:
    """The document as text; SourceError when it is empty or binary."""
    if not body.strip():
        raise SourceError("not an iCalendar file: the document is empty")
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                          (b"\xfe\xff", "utf-16-be")):
        if body.startswith(bom):
            try:
                return body[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                break
    text = body.decode("latin-1")  # any bytes decode as latin-1: the last resort
    encodings: list[str | None] = ["utf-8", _header_charset(headers), "cp1252"]
    for candidate in encodings:
        if not candidate:
            continue
        try:
            text = body.decode(candidate)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    sample = text[:65536]
    controls = len(_CONTROL_RE.findall(sample))
    if controls > max(2, len(sample) // 100):
        raise SourceError("not an iCalendar file: binary data")
    # a few stray control bytes in a text calendar: drop them and read the rest
    return _CONTROL_RE.sub("", text) if controls else text


def _header_charset(headers: dict[str, str]) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", headers.get("content-type", ""), re.IGNORECASE)
    return match.group(1) if match else None


def _read_calendars(text: str, warnings: list[str]) -> list[icalendar.Calendar]:
    """The VCALENDARs in the text; salvages the readable events of a broken file."""
    start = text.upper().find("BEGIN:VCALENDAR")
    if start < 0:
        head = text.lstrip()[:2048]
        if _HTML_RE.search(head):
            raise SourceError("not an iCalendar file: an HTML page")
        if "BEGIN:VEVENT" in text.upper():
            warnings.append("no BEGIN:VCALENDAR line; the events were read on their own")
            return _salvage("", text, warnings)
        if head.startswith("<"):
            raise SourceError("not an iCalendar file: an XML document")
        if head.startswith(("{", "[")):
            raise SourceError("not an iCalendar file: a JSON document")
        raise SourceError("not an iCalendar file: no BEGIN:VCALENDAR line")
    text = text[start:]
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except _LIBRARY_ERRORS as error:
        warnings.append(
            f"the calendar is malformed ({_one_line(error)}); readable events were kept"
        )
        return _salvage(_calendar_header(text), text, warnings)
    calendars = [c for c in calendars if isinstance(c, icalendar.Calendar)]
    if not calendars:
        return _salvage(_calendar_header(text), text, warnings)
    return calendars


def _calendar_header(text: str) -> str:
    """The calendar's own property lines (between BEGIN:VCALENDAR and its first component)."""
    match = re.search(r"^BEGIN:(?!VCALENDAR)", text, re.IGNORECASE | re.MULTILINE)
    header = text[: match.start()] if match else ""
    return re.sub(r"^BEGIN:VCALENDAR[ \t]*\r?\n?", "", header, flags=re.IGNORECASE)


def _salvage(header: str, text: str, warnings: list[str]) -> list[icalendar.Calendar]:
    """A calendar made of every VEVENT and VTIMEZONE block that icalendar can read alone."""
    calendar = _parse_one(header) or _parse_one("") or icalendar.Calendar()
    bad = 0
    for match in _BLOCK_RE.finditer(text):
        parsed = _parse_one(match.group(0))
        if parsed is None or not parsed.subcomponents:
            bad += 1
            continue
        for component in parsed.subcomponents:
            calendar.add_component(component)
    if bad:
        warnings.append(f"{bad} unreadable component(s) skipped")
    return [calendar]


def _parse_one(inner: str) -> icalendar.Calendar | None:
    try:
        return icalendar.Calendar.from_ical(
            f"BEGIN:VCALENDAR\r\n{inner.strip()}\r\nEND:VCALENDAR\r\n"
        )
    except _LIBRARY_ERRORS:
        return None


# -- time zones -----------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _resolve_zone(name: str) -> str | None:
    """The IANA key for a TZID / X-WR-TIMEZONE value (IANA, Windows or /vendor/ form)."""
    cleaned = name.strip().strip('"').strip()
    if cleaned.upper() in _UTC_NAMES:
        return "UTC"
    candidates = [cleaned, cleaned.strip("/")]
    candidates += [WINDOWS_TO_OLSON[c] for c in candidates if c in WINDOWS_TO_OLSON]
    parts = cleaned.strip("/").split("/")
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for candidate in candidates:
        if not candidate or candidate.startswith(".") or ".." in candidate:
            continue
        try:
            zone = ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
        if zone.key.upper() in _UTC_NAMES:
            return "UTC"
        return _RENAMED.get(zone.key, zone.key)
    return None


def _zone_of(tz: tzinfo) -> str | None:
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return _resolve_zone(key)
    tzid = tzid_from_tzinfo(tz)
    return _resolve_zone(tzid) if tzid else None


class _Zones:
    """The calendar's default zone (X-WR-TIMEZONE) for floating times and display."""

    def __init__(self, raw: str | None, warnings: list[str]):
        self.floating: str | None = _resolve_zone(raw) if raw else None
        if raw and self.floating is None:
            warnings.append(f"unknown X-WR-TIMEZONE {raw!r} ignored")
        # the zone in which UTC times are shown: a real zone, not "UTC"; else the source's
        self.display = self.floating if self.floating != "UTC" else None

    def localize(self, value: datetime) -> tuple[datetime, str | None]:
        """(the datetime in its IANA zone or naive when floating, the zone name)."""
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=None), self.floating
        zone = _zone_of(value.tzinfo)
        if zone is None or zone == "UTC":
            zone = self.display
        if zone is None:
            return value.astimezone(UTC), None
        return value.astimezone(ZoneInfo(zone)), zone


# -- events ---------------------------------------------------------------------------------


def _calendar_events(
    calendar: icalendar.Calendar, source: SourceConfig, span: _Span, warnings: list[str]
) -> list[EventItem]:
    raw_zone = calendar.get("X-WR-TIMEZONE")
    zones = _Zones(str(raw_zone) if raw_zone else None, warnings)
    if zones.floating:
        try:
            calendar = x_wr_timezone.to_standard(calendar, timezone=ZoneInfo(zones.floating))
        except _LIBRARY_ERRORS as error:
            warnings.append(f"X-WR-TIMEZONE could not be applied: {_one_line(error)}")
    originals: dict[str, list[Any]] = defaultdict(list)
    for component in calendar.walk("VEVENT"):
        originals[str(component.get("UID", ""))].append(component)
    recurring = {uid for uid, comps in originals.items()
                 if any(c.get(k) is not None for c in comps for k in _RECURRENCE_PROPERTIES)}
    too_dense = {uid for uid, comps in originals.items()
                 if max((_rule_steps(c, span.end) for c in comps), default=0) > MAX_RULE_STEPS}
    cancelled_all = str(calendar.get("METHOD", "")).upper() == "CANCEL"

    events: list[EventItem] = []
    skipped = 0
    for series in _all_series(calendar, originals, warnings):
        uid = str(series.uid or "")
        is_recurring = uid in recurring
        end = span.end if is_recurring else span.far_end
        seen_uids: set[str] = set()
        if uid in too_dense:
            warnings.append(f"event {uid or '(no UID)'} repeats too often to expand; skipped")
            continue
        try:
            for occurrence in islice(series.between(span.start, end), span.max_items + 1):
                component = occurrence.as_component(False)
                fields = _component_fields(component)
                if fields is None:
                    skipped += 1
                    continue
                item = _event_item(fields, zones, source, cancelled_all)
                if is_recurring and item.uid:
                    assert item.start is not None  # _event_item always sets it
                    item.series = item.uid
                    item.recurrence_id = _parse_recurrence_id(component, zones, item.start)
                    item.uid = f"{item.series}/{item.recurrence_id}"
                if item.uid and item.uid in seen_uids and is_recurring:
                    item.uid = f"{uid}/{_iso(item.start)}"
                if item.uid:
                    seen_uids.add(item.uid)
                events.append(item)
        except _LIBRARY_ERRORS as error:
            warnings.append(f"event {uid or '(no UID)'} could not be read: {_one_line(error)}")
    if skipped:
        warnings.append(f"{skipped} event(s) without a title or start skipped")
    return events


def _all_series(calendar: icalendar.Calendar, originals: dict[str, list[Any]],
                warnings: list[str]) -> Iterator[Any]:
    """recurring-ical-events' series; one query per UID when the whole calendar fails."""
    try:
        yield from recurring_ical_events.CalendarQuery(calendar, skip_bad_series=True).series
        return
    except _LIBRARY_ERRORS as error:
        warnings.append(f"the calendar's events were read one by one: {_one_line(error)}")
    timezones = calendar.walk("VTIMEZONE")
    for uid, components in originals.items():
        single = icalendar.Calendar()
        for component in [*timezones, *components]:
            single.add_component(component)
        try:
            yield from recurring_ical_events.CalendarQuery(single, skip_bad_series=True).series
        except _LIBRARY_ERRORS as error:
            warnings.append(f"event {uid or '(no UID)'} could not be read: {_one_line(error)}")


def _rule_steps(component: Any, until: datetime) -> float:
    """About how many periods dateutil steps through to expand the component's RRULEs."""
    start = _dt(component.get("DTSTART"))
    rules = component.get("RRULE")
    if start is None or rules is None:
        return 0
    if not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    try:
        span = (until - start).total_seconds()
    except (OverflowError, ValueError):
        return 0
    steps = 0.0
    for rule in rules if isinstance(rules, list) else [rules]:
        if not isinstance(rule, dict):
            continue
        freq = str(_first(rule.get("FREQ")) or "").upper()
        try:
            interval = max(int(_first(rule.get("INTERVAL")) or 1), 1)
            count = int(_first(rule.get("COUNT")) or 0)
        except (TypeError, ValueError):
            interval, count = 1, 0
        rule_steps = max(span, 0) / (_PERIOD_SECONDS.get(freq, 86400) * interval)
        steps += min(rule_steps, count) if count > 0 else rule_steps
    return steps


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


@dataclass(slots=True)
class _Fields:
    """What an EventItem is made of, as either reader finds it in one VEVENT (or occurrence):
    texts stripped (None when empty), DTSTART/DTEND as read (date or datetime)."""

    title: str
    start: datetime | date
    end: datetime | date | None
    uid: str | None
    description: str | None
    location: str | None
    url: str | None
    status: str | None
    categories: list[str]
    organizer: str | None
    latitude: float | None
    longitude: float | None
    sequence: int | None
    language: str | None


def _component_fields(component: Any) -> _Fields | None:
    """An icalendar VEVENT's fields; None when it has no title or no usable DTSTART."""
    title = _text(component.get("SUMMARY"))
    start = _dt(component.get("DTSTART"))
    if not title or start is None:
        return None
    latitude, longitude = _parse_geo(component)
    return _Fields(
        title=title,
        start=start,
        end=_dt(component.get("DTEND")),
        uid=str(component.get("UID", "")).strip() or None,
        description=_text(component.get("DESCRIPTION")),
        location=_text(component.get("LOCATION")),
        url=_text(component.get("URL")),
        status=str(component.get("STATUS", "")).strip().upper() or None,
        categories=_parse_categories(component),
        organizer=_parse_organizer(component),
        latitude=latitude,
        longitude=longitude,
        sequence=_parse_sequence(component),
        language=_parse_language(component),
    )


def _event_item(fields: _Fields, zones: _Zones, source: SourceConfig, cancelled_all: bool = False) -> EventItem:
    """`cancelled_all`: the calendar's METHOD:CANCEL cancels every event in it."""
    start, end, zone, all_day = _parse_times(fields.start, fields.end, zones)
    venue, online = _parse_location(fields.location)
    return EventItem(
        source=source.name,
        title=fields.title,
        start=start,
        end=end,
        timezone=zone,
        all_day=all_day,
        url=_parse_url(fields.url, fields.description),
        description=fields.description,
        venue=venue,
        online=online,
        latitude=fields.latitude,
        longitude=fields.longitude,
        tags=fields.categories,
        kind_text=", ".join(fields.categories) or None,
        status=CANCELLED if cancelled_all or fields.status == "CANCELLED" else None,
        status_text=fields.status,
        organizer=fields.organizer,
        group=source.group,
        uid=fields.uid,
        sequence=fields.sequence,
        language=fields.language,
    )


def _parse_times(start_raw: datetime | date, end_raw: datetime | date | None, zones: _Zones
                 ) -> tuple[datetime | date, datetime | date | None, str | None, bool]:
    """(start, end, IANA zone, all_day)."""
    if not isinstance(start_raw, datetime):
        last_day = start_raw
        if end_raw is not None:
            end_day = end_raw.date() if isinstance(end_raw, datetime) else end_raw
            if end_day > start_raw:
                last_day = end_day - timedelta(days=1)
        return start_raw, last_day, zones.display, True
    start, zone = zones.localize(start_raw)
    end: datetime | None = None
    if isinstance(end_raw, datetime):
        end, _ = zones.localize(end_raw)
        if (end.tzinfo is None) != (start.tzinfo is None) or end <= start:
            end = None
    return start, end, zone, False


def _dt(prop: Any) -> datetime | date | None:
    if isinstance(prop, list):  # a repeated property: the first one counts
        prop = prop[0] if prop else None
    try:
        value = getattr(prop, "dt", None)
    except ValueError:  # icalendar's BrokenCalendarProperty: the value could not be parsed
        return None
    return value if isinstance(value, (datetime, date)) else None


def _parse_recurrence_id(component: Any, zones: _Zones, start: datetime | date) -> str:
    """ISO date of the original occurrence, in the event's own zone."""
    original = _dt(component.get("RECURRENCE-ID"))
    if original is None:
        original = start
    if isinstance(original, datetime):
        if original.tzinfo is not None and isinstance(start, datetime) and start.tzinfo is not None:
            original = original.astimezone(start.tzinfo)
        elif original.tzinfo is not None:
            original, _ = zones.localize(original)
        return original.date().isoformat()
    return original.isoformat()


def _parse_url(url: str | None, description: str | None) -> str | None:
    """The URL property, or else the first http(s) URL in the description."""
    for value in (url, description):
        if not value:
            continue
        match = _URL_RE.search(value)
        if match:
            return match.group(0).rstrip(_URL_TRAILING)
    return None


def _parse_location(location: str | None) -> tuple[str | None, bool | None]:
    """(venue, online): a URL or "online"/"virtual" in LOCATION means an online event."""
    if not location:
        return None, None
    if _URL_RE.fullmatch(location.strip()):
        return None, True
    if _ONLY_ONLINE_RE.fullmatch(location):
        return None, True
    if _ONLINE_RE.search(location):
        return location, True
    return location, False


def _parse_geo(component: Any) -> tuple[float | None, float | None]:
    geo = component.get("GEO")
    try:
        latitude, longitude = float(geo.latitude), float(geo.longitude)
    except (AttributeError, TypeError, ValueError):
        return None, None
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        return latitude, longitude
    return None, None


def _parse_organizer(component: Any) -> str | None:
    organizer = component.get("ORGANIZER")
    if isinstance(organizer, list):
        organizer = organizer[0] if organizer else None
    params = getattr(organizer, "params", None)
    if not params:
        return None
    return _text(params.get("CN"), strip_quotes=True)


def _parse_categories(component: Any) -> list[str]:
    raw = component.get("CATEGORIES")
    values = raw if isinstance(raw, list) else [raw] if raw is not None else []
    found: list[str] = []
    for value in values:
        for category in getattr(value, "cats", None) or [value]:
            text = _text(category)
            if text and text not in found:
                found.append(text)
    return found


def _parse_sequence(component: Any) -> int | None:
    try:
        return int(component.get("SEQUENCE"))
    except (TypeError, ValueError):
        return None


def _parse_language(component: Any) -> str | None:
    params = getattr(component.get("SUMMARY"), "params", None) or {}
    language = _text(params.get("LANGUAGE"))
    return language.split("-")[0].lower() if language else None


def _group_item(headers: list[tuple[str | None, str | None]], url: str,
                source: SourceConfig) -> GroupItem:
    """The source's group; X-ORIGINAL-URL (Meetup's group page) is its url when it is a page.

    ``headers`` holds each calendar's (X-ORIGINAL-URL, X-WR-CALDESC), both as written."""
    group_url = description = None
    for original, caldesc in headers:
        if (not group_url and original and _URL_RE.fullmatch(original) and original != url
                and not original.lower().split("?")[0].endswith((".ics", ".ical", "/ical"))):
            group_url = original
        description = description or _unescape(caldesc)
    assert source.group is not None
    return GroupItem(source=source.name, name=source.group, url=group_url, description=description,
                     city=source.city, country=source.country, industries=list(source.industries),
                     tags=list(source.tags))


# -- the plain-calendar reader --------------------------------------------------------------
#
# icalendar builds a typed property object for every line (about 1 ms per VEVENT here), and
# most published calendars are one VCALENDAR of single events with common properties. For
# such a calendar this reader splits the content lines itself and makes the items that
# icalendar + x-wr-timezone + recurring-ical-events would give. It accepts a calendar only
# where it knows what those libraries do with every line; anything else raises _NotPlain
# and the whole file is read by icalendar. tests/spiders/test_ical_fastpath.py checks that
# both readers give the same ParseResult on every calendar the plain reader accepts.


class _NotPlain(Exception):
    """The calendar needs icalendar: recurrence, an unusual line, value or time zone..."""


_TYPES = icalendar.Calendar.types_factory
# value types whose from_ical takes any text: such a line cannot make icalendar fail
_LENIENT_TYPES = (vText, vUnknown, vUri, vCalAddress)
_NAME = r"[A-Za-z0-9-]+"
# The part of icalendar's content-line grammar read here: a name, then parameters with one
# value each, quoted or not (no comma, no space next to a delimiter: icalendar strips those),
# with no backslash or RFC 6868 caret (icalendar rewrites those), then the first colon
# outside quotes.
_BARE = r'[^\x00-\x1f\x7f";:,\\^]'  # a character of an unquoted value
_BARE_EDGE = r'[^\x00-\x20\x7f";:,\\^]'  # ... at its start or end: not a space
_PARAM = rf';[A-Za-z0-9-]+=(?:"[^"\x00-\x08\x0a-\x1f\x7f\\^]*"|(?:{_BARE_EDGE}(?:{_BARE}*{_BARE_EDGE})?)?)'
_LINE_RE = re.compile(rf"({_NAME})((?:{_PARAM})*):(.*)", re.DOTALL)
_PARAM_RE = re.compile(rf';({_NAME})=(?:"([^"]*)"|([^;]*))')
_NAME_RE = re.compile(_NAME)
_UNFOLD_RE = re.compile(r"\n+[ \t]")
# DATE and DATE-TIME values as icalendar reads them (floating, UTC "Z" or with a TZID)
_TIME_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})(?:T([0-9]{2})([0-9]{2})([0-9]{2})(Z?))?")
# VEVENT properties the items are made of: each at most once, but CATEGORIES
_EVENT_PROPERTIES = frozenset({
    "SUMMARY", "DTSTART", "DTEND", "DURATION", "UID", "DESCRIPTION", "LOCATION", "URL", "STATUS",
    "CATEGORIES", "ORGANIZER", "GEO", "SEQUENCE",
})
# what makes a VEVENT part of a series (recurring-ical-events expands those)
_SERIES_PROPERTIES = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"})
# VCALENDAR properties read: each at most once
_CALENDAR_PROPERTIES = frozenset({"METHOD", "CALSCALE", "X-WR-TIMEZONE", "X-ORIGINAL-URL", "X-WR-CALDESC"})
_NO_PARAMS: dict[str, str] = {}

_Property = tuple[dict[str, str], str]  # (parameters, raw value)


@dataclass(slots=True)
class _PlainEvent:
    """A VEVENT's lines that the items read: name -> (parameters, raw value)."""

    properties: dict[str, _Property] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)  # raw values of the CATEGORIES lines


@dataclass(slots=True)
class _PlainCalendar:
    properties: dict[str, str]  # the _CALENDAR_PROPERTIES present, as icalendar decodes them
    events: list[_PlainEvent]


def _read_plain_calendar(text: str, source: SourceConfig, span: _Span) -> _Read | None:
    """The calendar's events read without icalendar; None when it is not a plain calendar."""
    start = text.upper().find("BEGIN:VCALENDAR")  # where _read_calendars starts too
    if start < 0:
        return None
    try:
        return _plain_events(_split_plain(text[start:]), source, span)
    except (_NotPlain, *_LIBRARY_ERRORS):
        return None


def _split_plain(text: str) -> _PlainCalendar:
    """One VCALENDAR's lines, checked: every line must be one icalendar reads without error."""
    if text.count("\r") != text.count("\r\n"):
        raise _NotPlain("a lone CR, which icalendar keeps inside a line")
    splitter = _Splitter(_unfold(text.replace("\r\n", "\n")).split("\n"))
    for index, line in enumerate(splitter.lines):
        if not line:
            continue
        match = _LINE_RE.fullmatch(line)
        if splitter.closed or match is None:
            raise _NotPlain("a line after END:VCALENDAR, or an unusual content line")
        name, param_text, raw = match.groups()
        splitter.line(index, name.upper(), param_text, raw)
    if not splitter.closed:
        raise _NotPlain("no END:VCALENDAR")
    return _PlainCalendar(splitter.properties, splitter.events)


def _unfold(text: str) -> str:
    """icalendar's unfolding (its UFOLD pattern: a line break, any blank lines after it, and a
    space or tab go), for a text whose line breaks are all LF: by str.replace when it has no
    blank line, which is three times faster than UFOLD's lookbehinds on the whole text."""
    if "\n\n" in text:
        return _UNFOLD_RE.sub("", text)
    return text.replace("\n ", "").replace("\n\t", "")


def _unescape_text(raw: str) -> str:
    """icalendar's unescape_backslash (for TEXT values and the values of its parser), by
    str.replace rather than a Python call per escape: the backslash pairs first, as its
    pattern meets them from left to right, then the single escapes between them."""
    if "\\" not in raw:
        return raw
    return "\\".join(
        part.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\:", ":")
        for part in raw.split("\\\\")
    )


def _split_categories(raw: str) -> list[str]:
    """icalendar's split_on_unescaped_comma; a plain split when there is no backslash."""
    return split_on_unescaped_comma(raw) if "\\" in raw else raw.split(",")


class _Splitter:
    """_split_plain's state: where in the component tree a line is, and what was kept."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.properties: dict[str, str] = {}
        self.events: list[_PlainEvent] = []
        self.stack: list[str] = []  # the open components' names
        self.closed = False  # END:VCALENDAR seen
        self.event = _PlainEvent()  # the VEVENT being read
        self.zone_start = 0  # the index of the VTIMEZONE being read
        self.zone_ids: list[str] = []  # ... and its TZIDs
        self.custom_zones: set[str] = set()  # TZIDs of the VTIMEZONEs icalendar builds zones of
        self.other_component = False  # a component other than VTIMEZONE was read

    def line(self, index: int, name: str, param_text: str, raw: str) -> None:
        if len(param_text) > 200:
            raise _NotPlain("long parameters")  # (the caches keyed by them stay small)
        params = _params(param_text) if param_text else _NO_PARAMS
        tzid = params.get("TZID")
        if tzid is not None and tzid not in _iana_zones() and not (
                tzid in self.custom_zones and self.stack[-1:] == ["VEVENT"] and name in ("DTSTART", "DTEND")):
            raise _NotPlain(f"TZID {tzid!r}")
        if name == "BEGIN":
            self.begin(index, raw, params)
        elif name == "END":
            self.end(index, raw, params)
        elif not self.stack:
            raise _NotPlain("a property outside VCALENDAR")
        elif self.stack[-1] == "VEVENT":
            _event_line(self.event, name, params, param_text, raw)
        else:
            _check_line(name, param_text, raw)
            if len(self.stack) == 1 and name in _CALENDAR_PROPERTIES:
                if name in self.properties:
                    raise _NotPlain(f"{name} twice")
                self.properties[name] = _calendar_value(name, param_text, raw)
            elif self.stack[-1] == "VTIMEZONE" and name == "TZID":
                self.zone_ids.append(_unescape_text(raw))

    def begin(self, index: int, raw: str, params: dict[str, str]) -> None:
        kind = raw.upper()
        depth = len(self.stack)
        if (params or not _NAME_RE.fullmatch(raw) or (kind == "VCALENDAR") != (depth == 0)
                or (kind in ("VEVENT", "VTIMEZONE") and depth != 1)):
            raise _NotPlain(f"BEGIN:{raw} at depth {depth}")
        if kind == "VEVENT":
            self.event = _PlainEvent()
            self.events.append(self.event)
        if kind == "VTIMEZONE":
            self.zone_start, self.zone_ids = index, []
        elif depth == 1:
            self.other_component = True
        self.stack.append(kind)

    def end(self, index: int, raw: str, params: dict[str, str]) -> None:
        if params or not self.stack or raw.upper() != self.stack[-1]:
            raise _NotPlain(f"END:{raw} does not close {self.stack[-1:]}")
        if self.stack.pop() == "VTIMEZONE":
            self.timezone(self.lines[self.zone_start:index + 1])
        self.closed = not self.stack

    def timezone(self, lines: list[str]) -> None:
        """A VTIMEZONE whose TZID zoneinfo knows is not used (zoneinfo is). Of any other one,
        icalendar builds a zone and keeps it in its cache (tzp) for the TZIDs that name it; so
        it reads this one as it would in the whole file, and the event times find that zone."""
        if len(self.zone_ids) > 1:
            raise _NotPlain("a VTIMEZONE with several TZIDs")
        for zone_id in self.zone_ids:
            if zone_id.strip("/") in _iana_zones() or zone_id in _iana_zones():
                continue
            if self.other_component or zone_id != zone_id.strip("/"):
                # icalendar reads the file twice then, and a "/vendor/" TZID is guessed at
                raise _NotPlain(f"VTIMEZONE {zone_id!r} after other components, or with slashes")
            body = "\r\n".join(line for line in lines if line)
            icalendar.Calendar.from_ical(f"BEGIN:VCALENDAR\r\n{body}\r\nEND:VCALENDAR\r\n")
            self.custom_zones.add(zone_id)


@lru_cache(maxsize=1024)
def _params(param_text: str) -> dict[str, str]:
    """The parameters of a line (names upper-cased, the last one of a name wins, as in
    icalendar)."""
    params: dict[str, str] = {}
    for match in _PARAM_RE.finditer(param_text):
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).upper()] = quoted if quoted is not None else bare
    return params


@cache
def _iana_zones() -> frozenset[str]:
    """The zone ids icalendar's zoneinfo provider knows (it asks the same function)."""
    return frozenset(zoneinfo.available_timezones())


def _calendar_value(name: str, param_text: str, raw: str) -> str:
    """A VCALENDAR property's value as icalendar keeps it: UNKNOWN (X-) values verbatim, TEXT
    values (METHOD, or X-WR-TIMEZONE;VALUE=TEXT as Apple writes it) unescaped."""
    factory = _factory(name, param_text)
    if factory is vUnknown:
        return raw
    if factory is vText:
        return _unescape_text(raw)
    raise _NotPlain(f"{name} of type {factory.__name__}")


def _event_line(event: _PlainEvent, name: str, params: dict[str, str], param_text: str, raw: str) -> None:
    if name in _SERIES_PROPERTIES:
        raise _NotPlain(f"{name}: a recurring event")
    if name not in _EVENT_PROPERTIES:
        _check_line(name, param_text, raw)
    elif _factory(name, param_text) is not _factory(name, ""):
        raise _NotPlain(f"{name} with VALUE={params.get('VALUE')}")
    elif name == "CATEGORIES":
        event.categories.append(raw)
    elif name in event.properties:
        raise _NotPlain(f"{name} twice in a VEVENT")
    else:
        event.properties[name] = (params, raw)


@lru_cache(maxsize=1024)
def _factory(name: str, param_text: str) -> type[Any]:
    """The value type icalendar gives the line (its VALUE parameter counts)."""
    value = (_params(param_text) if param_text else _NO_PARAMS).get("VALUE")
    factory: type[Any] = _TYPES.for_property(name, value.upper() if value is not None else None)
    return factory


def _check_line(name: str, param_text: str, raw: str) -> None:
    """Raise _NotPlain unless icalendar reads this line without an error (a line that is not
    read here but that icalendar would reject makes it fail the calendar or drop the line)."""
    factory = _factory(name, param_text)
    if name in ("CATEGORIES", "FREEBUSY"):  # icalendar splits these on commas first
        if name == "CATEGORIES" and factory is vCategory:
            return  # ... and keeps the parts as texts: that cannot fail
    elif factory in _LENIENT_TYPES:
        return
    elif (_library_reads if len(raw) > 200 else _library_reads_cached)(name, param_text, raw):
        return
    raise _NotPlain(f"{name}:{raw[:40]}")


@lru_cache(maxsize=4096)
def _library_reads_cached(name: str, param_text: str, raw: str) -> bool:
    """_library_reads of a short value: a publisher repeats them in every calendar
    (VTIMEZONE lines, DTSTAMP), and no long value is kept alive here."""
    return _library_reads(name, param_text, raw)


def _library_reads(name: str, param_text: str, raw: str) -> bool:
    """Whether icalendar's value type reads the value (as its parser calls it)."""
    factory = _factory(name, param_text)
    params = _params(param_text) if param_text else _NO_PARAMS
    value = raw if hasattr(factory, "get_value_from_content_line") else _unescape_text(raw)
    tzid = params.get("TZID") if name in ComponentIcalParser.datetime_names else None
    if name == "RDATE" and value == "":
        return True
    try:
        factory(factory.from_ical(value, tzid) if tzid else factory.from_ical(value))
    except Exception:  # whatever it raises, the line is for icalendar to judge
        return False
    return True


def _plain_events(calendar: _PlainCalendar, source: SourceConfig, span: _Span) -> _Read:
    """The items of a plain calendar, as _calendar_events makes them from icalendar's."""
    properties = calendar.properties
    if properties.get("CALSCALE", "GREGORIAN") != "GREGORIAN":
        raise _NotPlain("CALSCALE")  # recurring-ical-events refuses the calendar
    warnings: list[str] = []
    zones = _Zones(properties.get("X-WR-TIMEZONE") or None, warnings)
    times = _PlainTimes(ZoneInfo(zones.floating) if zones.floating else None)
    cancelled_all = properties.get("METHOD", "").upper() == "CANCEL"
    uids: set[str] = set()
    events: list[EventItem] = []
    skipped = 0
    for event in calendar.events:
        if "UID" in event.properties:
            uid = _unescape_text(event.properties["UID"][1])
            if uid in uids:
                raise _NotPlain(f"UID {uid!r} twice: recurring-ical-events keeps one of them")
            uids.add(uid)
        # recurring-ical-events compares every event's SEQUENCE, so it must be a number
        sequence = event.properties.get("SEQUENCE")
        number = int(vInt.from_ical(_unescape_text(sequence[1]))) if sequence else None
        occurrence = _single_occurrence(*times.read(event.properties), span)
        if occurrence is None:
            continue
        fields = _plain_fields(event, number, *occurrence)
        if fields is None:
            skipped += 1
            continue
        events.append(_event_item(fields, zones, source, cancelled_all))
    if skipped:
        warnings.append(f"{skipped} event(s) without a title or start skipped")
    return _Read(
        events=events,
        has_events=bool(calendar.events),
        headers=[(_text(properties.get("X-ORIGINAL-URL")), _text(properties.get("X-WR-CALDESC")))],
        warnings=warnings,
    )


class _PlainTimes:
    """DTSTART and DTEND/DURATION as icalendar, then x-wr-timezone, give them to
    recurring-ical-events: (start, end), the end never before the start."""

    def __init__(self, floating: ZoneInfo | None):
        self.floating = floating  # the X-WR-TIMEZONE zone
        self.zones: dict[str, tzinfo | None] = {}

    def read(self, properties: dict[str, _Property]) -> tuple[datetime | date, datetime | date]:
        if "DTSTART" not in properties:
            raise _NotPlain("no DTSTART")  # recurring-ical-events fails the calendar
        start = self.value(*properties["DTSTART"])
        end = self.value(*properties["DTEND"]) if "DTEND" in properties else None
        if end is None and "DURATION" in properties:
            duration = vDDDTypes.from_ical(_unescape_text(properties["DURATION"][1]))
            if not isinstance(duration, timedelta) or (
                    not isinstance(start, datetime) and duration.seconds):
                raise _NotPlain("DURATION")  # a day plus hours turns the start into a datetime
            end = start + duration
        elif end is None:
            end = start if isinstance(start, datetime) else start + timedelta(days=1)
        if isinstance(start, datetime) and isinstance(end, datetime):
            if (start.tzinfo is None) != (end.tzinfo is None):
                raise _NotPlain("a floating and a zoned time")  # one would take the other's zone
        elif isinstance(start, datetime) or isinstance(end, datetime):
            raise _NotPlain("a date and a datetime")  # the date would become a datetime
        return (end, start) if start > end else (start, end)

    def value(self, params: dict[str, str], raw: str) -> datetime | date:
        """vDDDTypes.from_ical for DATE and DATE-TIME values, then x-wr-timezone's rule."""
        match = _TIME_RE.fullmatch(raw)
        if match is None:
            raise _NotPlain(f"time {raw!r}")
        tzid = params.get("TZID")
        zone = self.zone(tzid) if tzid else None
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        if match[4] is None:
            if zone is None:
                return date(year, month, day)
            value = tzp.localize(datetime(year, month, day), zone)  # icalendar: midnight there
        else:
            value = datetime(year, month, day, int(match[4]), int(match[5]), int(match[6]))
            if zone is not None:
                value = tzp.localize(value, zone)  # a trailing Z is ignored then, as icalendar does
            elif match[7]:
                value = tzp.localize_utc(value)
        if self.floating is None:
            return value
        # x-wr-timezone: UTC and floating times move into the calendar's zone
        name = value.tzname()
        if name is None:
            return value.replace(tzinfo=self.floating)
        return value.astimezone(self.floating) if name.upper() == "UTC" else value

    def zone(self, tzid: str) -> tzinfo:
        if tzid not in self.zones:
            self.zones[tzid] = tzp.timezone(tzid)
        zone = self.zones[tzid]
        if zone is None:
            raise _NotPlain(f"TZID {tzid!r}")
        return zone


def _single_occurrence(start: datetime | date, end: datetime | date, span: _Span
                       ) -> tuple[datetime | date, datetime | date] | None:
    """recurring-ical-events' occurrence of a single event that overlaps the window:
    (start, start + duration) or None. Its arithmetic, in its order: the duration is added
    to the start (wall-clock), dates become midnights, naive times are UTC in the span."""
    duration: timedelta = end - start  # type: ignore[operator]  # both dates or both datetimes
    first = start if isinstance(start, datetime) else datetime(start.year, start.month, start.day)
    after, before = span.start - duration, span.far_end
    if first.tzinfo is None:
        after, before = after.replace(tzinfo=None), before.replace(tzinfo=None)
    if not after <= first <= before:
        return None
    last = first + duration
    low, high = first, last
    if first.tzinfo is None:
        low, high = first.replace(tzinfo=span.start.tzinfo), last.replace(tzinfo=span.start.tzinfo)
    if low > high:
        raise _NotPlain("the end moved before the start")
    if low == high:
        inside = span.start <= low < span.far_end
    else:
        inside = low < span.far_end and span.start < high
    if not inside:
        return None
    if isinstance(start, datetime):
        return first, last
    return first.date(), last.date()


def _plain_fields(event: _PlainEvent, sequence: int | None, start: datetime | date, end: datetime | date
                  ) -> _Fields | None:
    """_component_fields for a plain VEVENT: the same texts, parameters and values."""
    properties = event.properties
    summary_params, summary = properties.get("SUMMARY", (_NO_PARAMS, ""))
    title = _text(_unescape_text(summary))
    if not title:
        return None
    latitude = longitude = None
    if "GEO" in properties:
        latitude, longitude = vGeo.from_ical(_unescape_text(properties["GEO"][1]))
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            latitude = longitude = None
    organizer_params = properties.get("ORGANIZER", (_NO_PARAMS, ""))[0]
    language = _text(summary_params.get("LANGUAGE"))
    categories: list[str] = []
    for raw in event.categories:
        for category in map(_text, _split_categories(raw)):
            if category and category not in categories:
                categories.append(category)

    def text(name: str) -> str | None:
        return _unescape_text(properties[name][1]) if name in properties else None

    return _Fields(
        title=title,
        start=start,
        end=end,
        uid=(text("UID") or "").strip() or None,
        description=_text(text("DESCRIPTION")),
        location=_text(text("LOCATION")),
        url=_text(text("URL")),
        status=(text("STATUS") or "").strip().upper() or None,
        categories=categories,
        organizer=_text(organizer_params.get("CN"), strip_quotes=True) if organizer_params else None,
        latitude=latitude,
        longitude=longitude,
        sequence=sequence,
        language=language.split("-")[0].lower() if language else None,
    )


# -- small helpers --------------------------------------------------------------------------


def _text(value: Any, strip_quotes: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    if strip_quotes:
        text = text.strip('"').strip()
    return text or None


def _unescape(text: str | None) -> str | None:
    """RFC 5545 TEXT unescaping, for X- properties that icalendar leaves escaped."""
    if text is None:
        return None
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _iso(value: datetime | date | None) -> str:
    return value.isoformat() if value is not None else ""


def _sort_key(item: EventItem) -> datetime:
    value = item.start
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return datetime.max.replace(tzinfo=UTC)


def _one_line(error: object) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]
