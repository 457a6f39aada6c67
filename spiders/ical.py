"""The ``ical`` source type: iCalendar (RFC 5545) files.

``parse(body, url, source, ctx)`` reads the bytes with icalendar and expands recurring
series with recurring-ical-events, one EventItem per occurrence:

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
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone
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


def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext) -> ParseResult:
    """Read an iCalendar document into events (and the source's group, when it has one)."""
    result = ParseResult()
    text = _decode(body, ctx.headers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _parse_events(text, url, source, ctx, result)
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        result.warnings.append(message)
    return result


def _parse_events(text: str, url: str, source: SourceConfig, ctx: ParseContext,
                  result: ParseResult) -> None:
    calendars = _read_calendars(text, result.warnings)
    span_start = ctx.now - timedelta(days=LOOKBACK_DAYS)
    span_end = ctx.now + timedelta(days=ctx.horizon_days)
    events: list[EventItem] = []
    for calendar in calendars:
        events.extend(_calendar_events(calendar, source, span_start, span_end, ctx.max_items,
                                       result.warnings))
    if not any(calendar.walk("VEVENT") for calendar in calendars):
        result.warnings.append("the calendar has no events")
    events.sort(key=_sort_key)
    if len(events) > ctx.max_items:
        result.warnings.append(
            f"{len(events)} events found; only the first {ctx.max_items} are kept (max_items)"
        )
        events = events[: ctx.max_items]
    result.events = events
    if source.group:
        result.groups.append(_group_item(calendars, url, source))


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

    def __init__(self, calendar: icalendar.Calendar, warnings: list[str]):
        raw = calendar.get("X-WR-TIMEZONE")
        self.floating: str | None = _resolve_zone(str(raw)) if raw else None
        if raw and self.floating is None:
            warnings.append(f"unknown X-WR-TIMEZONE {str(raw)!r} ignored")
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
    calendar: icalendar.Calendar,
    source: SourceConfig,
    span_start: datetime,
    span_end: datetime,
    max_items: int,
    warnings: list[str],
) -> list[EventItem]:
    zones = _Zones(calendar, warnings)
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
                 if max((_rule_steps(c, span_end) for c in comps), default=0) > MAX_RULE_STEPS}
    cancelled_all = str(calendar.get("METHOD", "")).upper() == "CANCEL"
    far_end = span_end + timedelta(days=365 * SINGLE_EVENT_YEARS)

    events: list[EventItem] = []
    skipped = 0
    for series in _all_series(calendar, originals, warnings):
        uid = str(series.uid or "")
        is_recurring = uid in recurring
        end = span_end if is_recurring else far_end
        seen_uids: set[str] = set()
        if uid in too_dense:
            warnings.append(f"event {uid or '(no UID)'} repeats too often to expand; skipped")
            continue
        try:
            for occurrence in islice(series.between(span_start, end), max_items + 1):
                item = _event_item(occurrence.as_component(False), is_recurring, zones, source)
                if item is None:
                    skipped += 1
                    continue
                if cancelled_all:
                    item.status = CANCELLED
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


def _event_item(component: Any, is_recurring: bool, zones: _Zones,
                source: SourceConfig) -> EventItem | None:
    title = _parse_title(component)
    times = _parse_times(component, zones)
    if not title or times is None:
        return None
    start, end, zone, all_day = times
    uid = str(component.get("UID", "")).strip() or None
    venue, online = _parse_location(component)
    latitude, longitude = _parse_geo(component)
    status_text = str(component.get("STATUS", "")).strip().upper() or None
    categories = _parse_categories(component)
    item = EventItem(
        source=source.name,
        title=title,
        start=start,
        end=end,
        timezone=zone,
        all_day=all_day,
        url=_parse_url(component),
        description=_text(component.get("DESCRIPTION")),
        venue=venue,
        online=online,
        latitude=latitude,
        longitude=longitude,
        tags=categories,
        kind_text=", ".join(categories) or None,
        status=CANCELLED if status_text == "CANCELLED" else None,
        status_text=status_text,
        organizer=_parse_organizer(component),
        group=source.group,
        uid=uid,
        sequence=_parse_sequence(component),
        language=_parse_language(component),
    )
    if is_recurring and uid:
        item.series = uid
        item.recurrence_id = _parse_recurrence_id(component, zones, start)
        item.uid = f"{uid}/{item.recurrence_id}"
    return item


def _parse_title(component: Any) -> str | None:
    return _text(component.get("SUMMARY"))


def _parse_times(component: Any, zones: _Zones
                 ) -> tuple[datetime | date, datetime | date | None, str | None, bool] | None:
    """(start, end, IANA zone, all_day) or None when there is no usable DTSTART."""
    start_raw = _dt(component.get("DTSTART"))
    if start_raw is None:
        return None
    end_raw = _dt(component.get("DTEND"))
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


def _parse_url(component: Any) -> str | None:
    """The URL property, or else the first http(s) URL in the description."""
    for value in (_text(component.get("URL")), _text(component.get("DESCRIPTION"))):
        if not value:
            continue
        match = _URL_RE.search(value)
        if match:
            return match.group(0).rstrip(_URL_TRAILING)
    return None


def _parse_location(component: Any) -> tuple[str | None, bool | None]:
    """(venue, online): a URL or "online"/"virtual" in LOCATION means an online event."""
    location = _text(component.get("LOCATION"))
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


def _group_item(calendars: list[icalendar.Calendar], url: str, source: SourceConfig) -> GroupItem:
    """The source's group; X-ORIGINAL-URL (Meetup's group page) is its url when it is a page."""
    group_url = description = None
    for calendar in calendars:
        original = _text(calendar.get("X-ORIGINAL-URL"))
        if (not group_url and original and _URL_RE.fullmatch(original) and original != url
                and not original.lower().split("?")[0].endswith((".ics", ".ical", "/ical"))):
            group_url = original
        description = description or _unescape(_text(calendar.get("X-WR-CALDESC")))
    assert source.group is not None
    return GroupItem(source=source.name, name=source.group, url=group_url, description=description,
                     city=source.city, country=source.country, industries=list(source.industries),
                     tags=list(source.tags))


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
