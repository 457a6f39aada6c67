"""The ``feed`` source type: RSS 0.9x/1.0/2.0, Atom and JSON Feed.

feedparser reads every XML flavour (it never raises, flags ``bozo`` and keeps what it could
read, defuses entity declarations and never fetches external entities); JSON Feed is read
with :mod:`json`. fastfeedparser is faster but drops extension elements such as
``ev:startdate`` and ``xCal:dtstart`` (see ``bench/feed_parsers.py``), so it is not used.

The event time of an entry comes, in this order, from
1. the RSS 1.0 event module (``ev:startdate``/``ev:enddate``),
2. xCal in Atom/RSS (``xCal:dtstart``/``xCal:dtend``),
3. Google Base (``g:event_date_range``/``g:start``/``g:end``),
4. a JSON Feed extension object (``"_event": {"start": ...}``),
5. hCalendar embedded in the description (``<abbr class="dtstart" title="...">``),
6. the text: a labelled "When:" line, else the first date with a clock time (Meetup writes
   "Thursday, March 17 at 7:00 PM"), local to the source's timezone.
``pubDate``/``updated``/``date_published`` are posting times and are never used; an entry
without an event time is skipped with a warning.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.etree
import lxml.html
from dateutil import parser as dateutil_parser

from aggregator import textdates
from aggregator.config_types import SourceConfig
from aggregator.items import EventItem, GroupItem
from spiders.base import ParseContext, ParseResult, SourceError

EV_NS = "http://purl.org/rss/1.0/modules/event/"
XCAL_NS = ("urn:ietf:params:xml:ns:xcal", "urn:ietf:params:xml:ns:icalendar-2.0")
GBASE_NS = ("http://base.google.com/ns/1.0",)
JSON_FEED_VERSION = "jsonfeed.org/version/"

# "Online", "Virtual", "Zoom" ... as the whole location
_ONLINE_PLACE = re.compile(
    r"^\s*(?:online(?:\s+event|\s+only)?|virtual(?:\s+event)?|webinar|zoom|internet|"
    r"en\s+l[ií]nea|virtual|digital|livestream|online-sessie)\s*\.?\s*$",
    re.IGNORECASE,
)
# "... + online", "(also streamed online)", "& virtual" after a physical place
_HYBRID_PLACE = re.compile(
    r"\s*(?:[+&/]|\band\b|\by\b|\(|,)\s*(?:also\s+)?(?:streamed\s+)?(?:online|virtual|livestream)"
    r"\)?\s*$",
    re.IGNORECASE,
)
_ONLINE_TEXT = re.compile(
    r"\b(?:online event|virtual event|live online|online only|online-only|webinar|"
    r"streamed (?:live )?online|also streamed|in person and online|hybrid event|"
    r"evento en l[ií]nea|seminario web|online-sessie|online-veranstaltung)\b",
    re.IGNORECASE,
)
_LABELLED_PLACE = re.compile(
    r"^\s*(?:where|location|venue|place|lugar|ubicaci[oó]n|sede|locatie|waar|ort|lieu|"
    r"adresse|address)\s*:\s*(?P<place>.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_LABELLED_WHEN = re.compile(
    r"^\s*(?:when|date|dates|time|fecha|cuándo|cuando|wanneer|datum|wann|quand)\s*:\s*(?P<when>.+)$",
    re.IGNORECASE | re.MULTILINE,
)
# Meetup writes the city on its own line: "Seattle - USA"
_MEETUP_CITY = re.compile(
    r"^(?P<city>[^\W\d_][^\d,;:()\n]{0,40}?) - (?P<country>[^\W\d_][^\d,;:()\n]{1,40})$",
    re.MULTILINE,
)
_BLOCK_TAGS = re.compile(
    r"<\s*(?:br|/?p|/?div|/?li|/?h[1-6]|/?tr|/?ul|/?ol|/?section|/?article|hr)\b[^>]*>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"<[^>]*>")
# postal codes around a city name
_POSTCODE_BEFORE = re.compile(r"^(?:\d{4}\s?[A-Z]{2}|[A-Z]{1,2}-?\d{4,5}|\d{4,6})\s+(?=\D)")
_POSTCODE_AFTER = re.compile(
    r"\s+(?:[A-Z]\d{2}\s?[A-Z0-9]{4}|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{4,6}(?:-\d{4})?)$"
)
_REGION_OR_ZIP = re.compile(r"^(?:[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?|\d{3,6}(?:-\d{4})?)$")
_COUNTRY_WORDS = {
    "usa", "us", "u.s.", "u.s.a.", "united states", "united states of america", "uk",
    "united kingdom", "ireland", "netherlands", "the netherlands", "nederland", "spain",
    "españa", "mexico", "méxico", "germany", "deutschland", "france", "kenya", "india",
    "canada", "australia", "italy", "italia", "portugal", "belgium", "austria", "switzerland",
}
_STREET_WORDS = re.compile(
    r"\b(?:street|st\.|road|rd\.|avenue|ave\.?|boulevard|blvd|lane|drive|way|square|plaza|"
    r"calle|paseo|avenida|carrer|straat|weg|plein|kade|gracht|strasse|straße|park)\b",
    re.IGNORECASE,
)


@dataclass
class _Entry:
    """One feed entry, whatever the format, with what the event parser needs."""

    title: str
    link: str | None
    uid: str | None
    html: str                                   # the fullest description (HTML or text)
    start_raw: str | None = None                # machine-readable extension values
    end_raw: str | None = None
    location: str | None = None
    organizer: str | None = None
    kind_text: str | None = None
    author: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    start_from: str | None = None               # which extension gave start_raw


def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext) -> ParseResult:
    """Events (and the source's group) from one fetched feed document."""
    if not isinstance(body, bytes | bytearray):
        raise SourceError("not a feed: the body is not bytes")
    head = bytes(body[:64]).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise SourceError("empty document: not a feed")
    result = ParseResult()
    if head.startswith((b"{", b"[")):
        entries, channel = _read_json_feed(bytes(body))
    else:
        entries, channel = _read_xml_feed(bytes(body), url, ctx, result)
    skipped: list[str] = []
    for entry in entries:
        if len(result.events) >= ctx.max_items:
            result.warnings.append(
                f"only the first {ctx.max_items} events were kept (the per-source cap)"
            )
            break
        item = _event_from(entry, url, source, ctx)
        if item is None:
            skipped.append(entry.title or entry.uid or "(untitled)")
        else:
            result.events.append(item)
    if skipped:
        examples = ", ".join(repr(t[:60]) for t in skipped[:3])
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        result.warnings.append(
            f"{len(skipped)} of {len(entries)} entries have no event time and were skipped "
            f"(a posting date is not an event date): {examples}{more}"
        )
    if source.group:
        result.groups.append(
            GroupItem(
                source=source.name,
                name=source.group,
                url=_absolute(url, channel.get("link")),
                description=channel.get("description") or None,
                city=source.city,
                country=source.country,
                industries=list(source.industries),
                tags=list(source.tags),
            )
        )
    return result


# --- reading the formats -------------------------------------------------------------------


def _read_xml_feed(
    body: bytes, url: str, ctx: ParseContext, result: ParseResult
) -> tuple[list[_Entry], dict[str, str]]:
    # An HTTP charset is authoritative; without one, "text/xml" would mean US-ASCII
    # (RFC 3023) and spoil a feed whose XML prolog names its encoding: let the prolog speak.
    content_type = ctx.headers.get("content-type", "")
    headers = {
        "content-type": content_type if "charset=" in content_type.lower() else "application/xml"
    }
    if url:
        headers["content-location"] = url
    try:
        # no sanitising nor URI rewriting here (half of feedparser's time): descriptions
        # stay the feed's HTML and the normalize pipeline cleans them
        parsed = feedparser.parse(
            body, response_headers=headers, resolve_relative_uris=False, sanitize_html=False
        )
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, AssertionError,
            RecursionError, UnicodeError) as crash:    # feedparser bugs on hostile input
        raise SourceError(f"unreadable feed: {type(crash).__name__}: {crash}") from crash
    # the loose parser may leave an empty entry behind from a cut-off <item>
    entries = [
        e for e in parsed.get("entries") or [] if e.get("title") or e.get("link") or e.get("id")
    ]
    exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not entries:
        if re.search(rb"<(?:html|!doctype\s+html)\b", body[:4096], re.I):
            raise SourceError("not a feed: an HTML page (no RSS, Atom or JSON Feed)")
        if exc is not None and not isinstance(exc, feedparser.CharacterEncodingOverride):
            raise SourceError(_malformed_reason(body, exc))
        if not parsed.get("version"):
            raise SourceError("not a feed: no RSS, Atom or JSON Feed root element")
        return [], _xml_channel(parsed)
    if exc is not None:
        result.warnings.append(
            f"feed is not well-formed ({_one_line(exc)}); {len(entries)} entries were read anyway"
        )
    prefixes = _extension_prefixes(parsed.get("namespaces") or {})
    channel = _xml_channel(parsed)
    return [_xml_entry(e, prefixes, channel) for e in entries], channel


def _xml_channel(parsed: Mapping[str, Any]) -> dict[str, str]:
    feed = parsed.get("feed") or {}
    author = (feed.get("author_detail") or {}).get("name") or feed.get("author")
    return {
        "link": feed.get("link") or "",
        "description": _text_of(feed.get("subtitle") or feed.get("description") or ""),
        "author": author or "",
    }


def _extension_prefixes(namespaces: Mapping[str, str]) -> dict[str, list[str]]:
    """feedparser's key prefixes ("xcal_", "g_") for the extensions it does not know."""
    found: dict[str, list[str]] = {"ev": ["ev_"], "xcal": ["xcal_", ""], "gbase": ["g_"]}
    for prefix, uri in namespaces.items():
        uri_l = (uri or "").lower()
        key = f"{prefix.lower()}_" if prefix else ""
        if uri_l in XCAL_NS and key not in found["xcal"]:
            found["xcal"].insert(0, key)
        elif uri_l in GBASE_NS and key not in found["gbase"]:
            found["gbase"].insert(0, key)
        elif uri_l == EV_NS and key not in found["ev"]:
            found["ev"].insert(0, key)
    return found


def _first(entry: Mapping[str, Any], prefixes: Iterable[str], *names: str) -> str | None:
    for prefix in prefixes:
        for name in names:
            value = entry.get(prefix + name)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _xml_entry(e: Mapping[str, Any], prefixes: dict[str, list[str]], channel: dict) -> _Entry:
    content = [c.get("value", "") for c in (e.get("content") or []) if isinstance(c, Mapping)]
    summary = e.get("summary") or ""
    body_html = max([*content, summary], key=len) if content else summary
    start = end = start_from = None
    for kind, keys in (
        ("ev", ("startdate", "enddate")),
        ("xcal", ("dtstart", "dtend")),
        ("gbase", ("start", "end")),
    ):
        start = _first(e, prefixes[kind], keys[0])
        if start:
            end, start_from = _first(e, prefixes[kind], keys[1]), kind
            break
    if not start:          # older Google Base: "<g:event_date_range>START END</...>"
        rng = _first(e, prefixes["gbase"], "event_date_range")
        if rng and len(rng.split()) == 2:
            (start, end), start_from = rng.split(), "gbase"
    location = (
        _first(e, prefixes["ev"], "location")
        or _first(e, prefixes["xcal"], "location")
        or _first(e, prefixes["gbase"], "location")
    )
    organizer = _first(e, prefixes["ev"], "organizer") or _first(e, prefixes["xcal"], "organizer")
    if organizer and organizer.lower().startswith("mailto:"):
        organizer = None
    author = (e.get("author_detail") or {}).get("name") or e.get("author") or channel["author"]
    detail = e.get("title_detail") or {}
    language = e.get("language") or e.get("dc_language") or detail.get("language")
    tags = [t.get("term") for t in (e.get("tags") or []) if isinstance(t, Mapping)]
    return _Entry(
        title=_text_of(e.get("title") or ""),
        link=e.get("link") or _guid_link(e),
        uid=e.get("id") or e.get("link"),
        html=body_html,
        start_raw=start,
        end_raw=end,
        location=location,
        organizer=organizer,
        kind_text=_first(e, prefixes["ev"], "type") or _first(e, prefixes["xcal"], "categories"),
        author=author or None,
        language=language,
        tags=[t.strip() for t in tags if isinstance(t, str) and t.strip()],
        start_from=start_from,
    )


def _guid_link(e: Mapping[str, Any]) -> str | None:
    guid = e.get("id")
    if isinstance(guid, str) and guid.startswith(("http://", "https://")):
        return guid
    return None


def _read_json_feed(body: bytes) -> tuple[list[_Entry], dict[str, str]]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"malformed JSON: {_one_line(exc)}") from exc
    if not isinstance(doc, dict) or JSON_FEED_VERSION not in str(doc.get("version", "")):
        raise SourceError("not a feed: JSON without a JSON Feed version (jsonfeed.org)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise SourceError("not a feed: JSON Feed without an items list")
    authors = doc.get("authors") or ([doc["author"]] if isinstance(doc.get("author"), dict) else [])
    feed_author = next((a.get("name") for a in authors if isinstance(a, dict)), None)
    channel = {
        "link": _str(doc.get("home_page_url")),
        "description": _str(doc.get("description")),
        "author": _str(feed_author),
    }
    entries = []
    for it in items:
        if not isinstance(it, dict):
            continue
        ext = _json_event_extension(it)
        item_authors = it.get("authors") or ([it["author"]] if isinstance(it.get("author"), dict)
                                            else [])
        author = next((a.get("name") for a in item_authors if isinstance(a, dict)), None)
        text_body = _str(it.get("content_html")) or html.escape(_str(it.get("content_text")))
        entries.append(
            _Entry(
                title=_str(it.get("title")),
                link=_str(it.get("url")) or _str(it.get("external_url")) or None,
                uid=_str(it.get("id")) or None,
                html=text_body or _str(it.get("summary")),
                start_raw=ext.get("start"),
                end_raw=ext.get("end"),
                location=ext.get("location"),
                organizer=ext.get("organizer"),
                kind_text=ext.get("type"),
                author=_str(author) or channel["author"] or None,
                language=_str(it.get("language")) or None,
                tags=[t for t in (it.get("tags") or []) if isinstance(t, str)],
                start_from="json" if ext.get("start") else None,
            )
        )
    return entries, channel


def _json_event_extension(item: Mapping[str, Any]) -> dict[str, str]:
    """``"_event": {"start": ..., "end": ..., "location": ...}`` and similar spellings."""
    names = {
        "start": ("start", "start_date", "startDate", "starts_at", "dtstart"),
        "end": ("end", "end_date", "endDate", "ends_at", "dtend"),
        "location": ("location", "venue", "place"),
        "organizer": ("organizer", "organiser"),
        "type": ("type", "kind", "category"),
    }
    for key, value in item.items():
        if not (isinstance(key, str) and key.startswith("_") and isinstance(value, dict)):
            continue
        out = {}
        for field_name, spellings in names.items():
            for s in spellings:
                v = value.get(s)
                if isinstance(v, dict):
                    v = v.get("name")
                if isinstance(v, str | int | float) and str(v).strip():
                    out[field_name] = str(v).strip()
                    break
        if "start" in out:
            return out
    return {}


# --- building the event ---------------------------------------------------------------------


def _event_from(
    entry: _Entry, url: str, source: SourceConfig, ctx: ParseContext
) -> EventItem | None:
    text = _html_to_text(entry.html)
    start, end = _when(entry, text, source, ctx)
    if start is None:
        return None
    location = entry.location or _hcal_text(entry.html, "location") or _labelled_place(text)
    venue, address, city, online, hybrid = _split_location(location)
    if city is None and not online:
        meetup = _MEETUP_CITY.search(text)
        if meetup:
            city = meetup.group("city").strip()
            if location is None:
                venue, address = _meetup_address(text, meetup.start())
    if _ONLINE_TEXT.search(text) or _ONLINE_TEXT.search(entry.title):
        if not online and (venue or city):
            hybrid = True
        online = True
    if online is None and (venue or city):
        online = False
    language = entry.language.split("-")[0].lower() if entry.language else None
    all_day = isinstance(start, date) and not isinstance(start, datetime)
    return EventItem(
        source=source.name,
        title=entry.title,
        start=start,
        end=end,
        timezone=source.timezone,
        all_day=all_day,
        url=_absolute(url, entry.link),
        description=entry.html or None,
        venue=venue,
        address=address,
        city=city,
        online=online,
        hybrid=hybrid,
        kind_text=entry.kind_text,
        tags=entry.tags,
        organizer=(
            entry.organizer or _hcal_text(entry.html, "organizer") or source.group or entry.author
        ),
        group=source.group,
        cfp_deadline=textdates.find_deadline(text, source.timezone, ctx.now),
        uid=entry.uid,
        language=language or None,
    )


def _when(
    entry: _Entry, text: str, source: SourceConfig, ctx: ParseContext
) -> tuple[datetime | date | None, datetime | date | None]:
    """(start, end) from the machine-readable values first, then hCalendar, then the text."""
    if entry.start_raw:
        start = _parse_when(entry.start_raw)
        if start is not None:
            end = _parse_when(entry.end_raw) if entry.end_raw else None
            return start, _valid_end(start, end)
    hcal_start = _hcal_value(entry.html, "dtstart")
    if hcal_start:
        start = _parse_when(hcal_start)
        if start is not None:
            hcal_end = _hcal_value(entry.html, "dtend")
            end = _parse_when(hcal_end) if hcal_end else None
            return start, _valid_end(start, end)
    labelled = _LABELLED_WHEN.search(text)
    if labelled:
        found = textdates.find_range(labelled.group("when"), source.timezone, ctx.now)
        if found:
            return found[0], _valid_end(found[0], found[1])
    found = textdates.find_range(text, source.timezone, ctx.now, require_time=True)
    if found:
        return found[0], _valid_end(found[0], found[1])
    return None, None


def _valid_end(
    start: datetime | date, end: datetime | date | None
) -> datetime | date | None:
    """``end`` when it is of the same kind as ``start`` and not before it."""
    if end is None or type(end) is not type(start):
        return None
    if isinstance(start, datetime) and isinstance(end, datetime):
        if (start.tzinfo is None) != (end.tzinfo is None):
            return None
    try:
        return end if end >= start else None     # type: ignore[operator]
    except TypeError:
        return None


def _parse_when(value: str | None) -> datetime | date | None:
    """An ISO 8601 / RFC 822 / xCal basic value: a datetime (aware when it has an offset),
    or a date for a date-only value."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", value):
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(value.replace(" ", "T", 1) if " " in value else value)
    except ValueError:
        pass
    try:
        return dateutil_parser.isoparse(value)
    except (ValueError, OverflowError):
        pass
    found = textdates.find_range(value)
    return found[0] if found else None


# --- text and HTML helpers ------------------------------------------------------------------


def _html_to_text(fragment: str) -> str:
    """Plain text with one line per block element, entities decoded."""
    if not fragment:
        return ""
    text = _BLOCK_TAGS.sub("\n", fragment)
    text = html.unescape(_ANY_TAG.sub("", text))
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _text_of(value: str) -> str:
    """A title or subtitle as plain text (feedparser may leave markup or entities in)."""
    if "<" in value or "&" in value:
        value = html.unescape(_ANY_TAG.sub("", value))
    return " ".join(value.split())


def _hcal_root(fragment: str) -> lxml.html.HtmlElement | None:
    if not fragment or "class=" not in fragment:
        return None
    try:
        return lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return None


_MF2_NAMES = {
    "dtstart": "dt-start", "dtend": "dt-end", "location": "p-location",
    "organizer": "p-organizer", "category": "p-category",
}


def _hcal_elements(fragment: str, class_name: str) -> list[lxml.html.HtmlElement]:
    """Elements of ``fragment`` carrying the hCalendar (or microformats2) class."""
    names = {class_name, _MF2_NAMES.get(class_name, class_name)}
    if not any(n in fragment for n in names):
        return []
    root = _hcal_root(fragment)
    if root is None:
        return []
    return [
        el for el in root.iter()
        if isinstance(el.tag, str) and names & set((el.get("class") or "").split())
    ]


def _hcal_value(fragment: str, class_name: str) -> str | None:
    """The machine value of an hCalendar date property (value-title, abbr/title, time/datetime)."""
    for el in _hcal_elements(fragment, class_name):
        for sub in el.iter():
            if "value-title" in (sub.get("class") or "").split() and sub.get("title"):
                return sub.get("title")
        for attr in ("datetime", "title", "content", "value"):
            if el.get(attr):
                return el.get(attr)
        text = el.text_content().strip()
        if text:
            return text
    return None


def _hcal_text(fragment: str, class_name: str) -> str | None:
    for el in _hcal_elements(fragment, class_name):
        text = " ".join(el.text_content().split())
        if text:
            return text
    return None


def _labelled_place(text: str) -> str | None:
    m = _LABELLED_PLACE.search(text)
    if not m:
        return None
    place = m.group("place")
    # cut at the end of the sentence, but not after "Col." or "St."
    for stop in re.finditer(r"\.\s+", place):
        word = re.search(r"(\S+)$", place[: stop.start()])
        if word and len(word.group(1)) > 3:
            return place[: stop.start()].strip()
    return place.strip().rstrip(".") or None


def _meetup_address(text: str, city_pos: int) -> tuple[str | None, str | None]:
    """The address line just above Meetup's "City - Country" line."""
    lines = text[:city_pos].rstrip("\n").splitlines()
    if lines and "," in lines[-1] and re.search(r"\d", lines[-1]):
        address = lines[-1].strip()
        return address.split(",")[0].strip() or None, address
    return None, None


def _split_location(
    location: str | None,
) -> tuple[str | None, str | None, str | None, bool | None, bool]:
    """(venue, address, city, online, hybrid) from one written location."""
    if not location or not location.strip():
        return None, None, None, None, False
    location = " ".join(location.split())
    if _ONLINE_PLACE.match(location) or location.lower().startswith(("http://", "https://")):
        return None, None, None, True, False
    online: bool | None = None
    hybrid = False
    stripped = _HYBRID_PLACE.sub("", location)
    if stripped != location and stripped:
        online, hybrid, location = True, True, stripped.strip()
    parts = [p.strip() for p in location.split(",") if p.strip()]
    if len(parts) < 2:
        return location, None, None, online, hybrid
    venue = parts[0]
    tail = parts[1:]
    while tail and (
        tail[-1].lower().rstrip(".") in _COUNTRY_WORDS
        or tail[-1].lower() in _COUNTRY_WORDS
        or _REGION_OR_ZIP.match(tail[-1])
    ):
        tail.pop()
    city = None
    if tail:
        candidate = _POSTCODE_AFTER.sub("", _POSTCODE_BEFORE.sub("", tail[-1])).strip()
        if (
            candidate
            and not re.search(r"\d", candidate)
            and len(candidate.split()) <= 4
            and not _STREET_WORDS.search(candidate)
            and candidate[0].isupper()
        ):
            city = candidate
    return venue, location, city, online, hybrid


def _absolute(base: str, link: str | None) -> str | None:
    if not link or not isinstance(link, str):
        return None
    link = link.strip()
    if not link:
        return None
    try:
        return urljoin(base, link) if base else link
    except ValueError:
        return link


def _malformed_reason(body: bytes, exc: BaseException) -> str:
    detail = _one_line(exc)
    root = re.search(rb"<([A-Za-z_][\w.:-]*)", re.sub(rb"<[?!][^>]*>", b"", body[:8192]))
    truncated = root is not None and b"</" + root.group(1) + b">" not in body[-4096:]
    if truncated:
        return f"malformed XML: the document is truncated before any entry could be read ({detail})"
    return f"malformed XML: no entry could be read ({detail})"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    m = re.match(r"<unknown>:(\d+):(\d+): (.*)", text)
    if m:
        text = f"line {m.group(1)}, column {m.group(2)}: {m.group(3)}"
    return text[:200]


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
