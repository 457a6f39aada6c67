"""Parser for ``html`` sources: event listings without structured data.

The source's ``[source.select]`` table says where each field is: ``item`` selects every
listing entry on the page, and every other key (``title``, ``url``, ``start``, ``end``,
``location``, ``description`` or any other ``EventItem`` field; ``kind`` and ``status``
fill ``kind_text`` / ``status_text``) is a selector evaluated relative to that entry.
``location`` is split into venue, address and city ("Online" marks the event online).
A selector is XPath when it starts with ``/``, ``./``, ``../`` or ``(``, and CSS otherwise
(parsel's ``::text`` and ``::attr(name)`` work). A selector
that picks an element rather than a string gives its text content, or, for URL and time
fields, its ``href`` / ``datetime`` attribute.

``next_page`` (CSS or XPath, usually ``a.next::attr(href)``) gives the next listing page,
returned in ``ParseResult.follow``.

The helpers ``decode_html``, ``parse_when``, ``text_content`` and ``split_location`` are
shared with ``spiders/page.py``.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from cssselect import SelectorError
from dateutil import parser as dateparser
from lxml import etree
from parsel import Selector, SelectorList
from w3lib.encoding import html_to_unicode

from aggregator.config_types import SourceConfig
from aggregator.items import EventItem
from spiders.base import ParseContext, ParseResult, SourceError

# --------------------------------------------------------------------------- shared helpers

_BINARY_SAMPLE = 8192
# replacement characters and control characters other than tab, newline, carriage return, form feed
_NOT_TEXT = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f]")


def decode_html(body: bytes, headers: dict[str, str] | None = None) -> str:
    """The page as text, decoded like a browser would (BOM, HTTP header, <meta>, UTF-8).

    Raises SourceError when there is nothing to read or the bytes are not text at all.
    """
    if not body or not body.strip():
        raise SourceError("empty page: the response has no content")
    content_type = (headers or {}).get("content-type")
    _encoding, text = html_to_unicode(content_type, body)
    probe = text[:_BINARY_SAMPLE]
    bad = len(_NOT_TEXT.findall(probe))
    if bad > max(8, len(probe) // 20):
        raise SourceError("not an HTML page: binary data")
    return text


def looks_like_markup(text: str) -> bool:
    """True when the text has at least one tag."""
    return re.search(r"<[A-Za-z!?/]", text) is not None


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}|\d{8}")
_HAS_YEAR = re.compile(r"\b\d{4}\b|\d{8}")


def _with_plain_offset(value: datetime) -> datetime:
    """Replace a dateutil tzinfo with a stdlib fixed offset (no third-party zones leak out)."""
    if value.tzinfo is None:
        return value
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=None)
    return value.replace(tzinfo=UTC if not offset else timezone(offset))


def parse_when(
    value: Any, *, default: datetime | date | None = None, now: datetime | None = None
) -> datetime | date | None:
    """A date or time as written on a page.

    ``2027-02-03`` gives a ``date`` (all day); an ISO 8601 time with an offset gives an
    aware ``datetime``; without an offset a naive (local) one. Other spellings
    ("Tue, Feb 2 2027 7:30 AM") are read by dateutil; parts that are missing ("9:00 AM"
    for an end time) come from ``default``, and a missing year from ``now``. Returns
    None when the value is not a date.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _with_plain_offset(value)
    if isinstance(value, date):
        return value
    text = " ".join(str(value).split())
    if not text:
        return None
    if _DATE_ONLY.fullmatch(text):
        digits = text.replace("-", "")
        try:
            return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            return None
    iso = text[:-1] + "+00:00" if text[-1:] in "zZ" and "T" in text.upper() else text
    try:
        return _with_plain_offset(datetime.fromisoformat(iso))
    except ValueError:
        pass
    if isinstance(default, datetime):
        base = default.replace(tzinfo=None)
    elif isinstance(default, date):
        base = datetime(default.year, default.month, default.day)
    elif now is not None:
        base = datetime(now.year, now.month, now.day)
    else:
        return None
    try:
        parsed = dateparser.parse(text, default=base, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    if now is not None and default is None and not _HAS_YEAR.search(text):
        # "Feb 2" seen in November means next February
        if parsed.date() < (now.date() - timedelta(days=90)):
            parsed = parsed.replace(year=parsed.year + 1)
    if parsed.tzinfo is None and isinstance(default, datetime) and default.tzinfo:
        # "9:00 PM" as the end of an event whose start carries an offset
        parsed = parsed.replace(tzinfo=default.tzinfo)
    return _with_plain_offset(parsed)


_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 "
    "h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)


def text_content(element: Any) -> str:
    """The visible text of an lxml element: paragraphs kept apart, spaces collapsed."""
    parts: list[str] = []

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "template"):
            if el.tail:
                parts.append(el.tail)
            return
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        if el.text and tag:
            parts.append(el.text)
        for child in el:
            walk(child)
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    tail = element.tail
    element.tail = None
    try:
        walk(element)
    finally:
        element.tail = tail
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


_ONLINE = re.compile(
    r"^\s*(online|virtual|remote|web\s*inar|livestream|live stream|zoom|google meet|"
    r"microsoft teams|teams|on ?line event|virtual event)\b",
    re.I,
)


@dataclasses.dataclass
class Location:
    venue: str | None = None
    address: str | None = None
    city: str | None = None
    online: bool | None = None


def split_location(text: str | None) -> Location:
    """Read "Venue, 200 W Madison Street, Chicago, IL 60606" or "Online"."""
    if not text:
        return Location()
    text = " ".join(text.split())
    if not text:
        return Location()
    if _ONLINE.match(text) or re.match(r"https?://", text):
        return Location(online=True)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 1:
        return Location(venue=parts[0])
    city = None
    # walk back over "IL 60606", postcodes and countries to the first plain name
    for part in reversed(parts[1:]):
        if re.search(r"\d", part):
            continue
        if len(part) <= 3 and part.isupper():    # "IL", "USA", "UK"
            continue
        city = part
        break
    return Location(venue=parts[0], address=text, city=city)


def absolute_url(value: str | None, base: str) -> str | None:
    """``value`` resolved against ``base``; None unless it is an http(s) URL (or a file:// URL
    on a page that was itself read from file://)."""
    if not value:
        return None
    value = value.strip()
    if not value or value.startswith("#"):
        return None
    try:
        resolved = urljoin(base, value)
        scheme = urlsplit(resolved).scheme
    except ValueError:
        return None
    if scheme in ("http", "https"):
        return resolved
    if scheme == "file" and urlsplit(base).scheme == "file":
        return resolved
    return None


def same_page(a: str, b: str) -> bool:
    return urldefrag(a)[0] == urldefrag(b)[0]


def document_base(selector: Selector, url: str) -> str:
    """The page URL, or its ``<base href>``."""
    base = selector.xpath("//base/@href").get()
    return absolute_url(base, url) or url if base else url


# --------------------------------------------------------------------------- the parser

_URL_FIELDS = frozenset({"url", "cfp_url", "group_url"})
_TIME_FIELDS = frozenset({"start", "end", "previous_start", "cfp_deadline"})
_LIST_FIELDS = frozenset({"urls", "kinds", "industries", "tags", "performers"})
_BOOL_FIELDS = frozenset({"online", "hybrid", "all_day"})
_FLOAT_FIELDS = frozenset({"latitude", "longitude"})
_INT_FIELDS = frozenset({"sequence"})
_NOT_SELECTABLE = frozenset(
    {"source", "id", "start_utc", "end_utc", "goals", "sources", "item"}
)
_ITEM_FIELDS = frozenset(f.name for f in dataclasses.fields(EventItem)) - _NOT_SELECTABLE
# selector names that mean a field under another name
_ALIASES = {"kind": "kind_text", "category": "kind_text", "status": "status_text",
            "where": "location", "link": "url", "name": "title", "summary": "description",
            "lang": "language"}
_TIME_ATTRS = ("datetime", "content", "title", "value")
_URL_ATTRS = ("href", "src", "content", "data-href")
_TRUE = frozenset({"1", "true", "yes", "y", "online", "virtual", "on"})


def is_xpath(expr: str) -> bool:
    return expr.startswith(("/", "./", "../", "("))


def select(node: Selector | SelectorList, expr: str, what: str) -> SelectorList:
    """Run a configured CSS or XPath selector; a bad selector is the source's error."""
    try:
        return node.xpath(expr) if is_xpath(expr) else node.css(expr)
    except (SelectorError, SyntaxError, ValueError) as exc:
        kind = "XPath" if is_xpath(expr) else "CSS"
        raise SourceError(f"{what} = {expr!r} is not a valid {kind} selector: {exc}") from exc


def _strings(results: SelectorList, field: str) -> list[str]:
    """Every value the selector picked, as text, per the field's kind."""
    out: list[str] = []
    for result in results:
        root = result.root
        if isinstance(root, str):
            value = root
        elif isinstance(root, etree._Element):
            attrs = _TIME_ATTRS if field in _TIME_FIELDS else _URL_ATTRS if (
                field in _URL_FIELDS or field == "urls") else ()
            value = next((root.get(a) for a in attrs if root.get(a)), None) or text_content(root)
        else:                                   # XPath numbers and booleans
            value = str(root)
        if field != "description":
            value = " ".join(value.split())
        else:
            value = value.strip()
        if value:
            out.append(value)
    return out


def _assign(event: EventItem, field: str, values: list[str], base: str, ctx: ParseContext,
            warnings: list[str]) -> None:
    if field in _LIST_FIELDS:
        if len(values) == 1 and field != "urls":
            values = [v.strip() for v in values[0].split(",") if v.strip()]
        if field == "urls":
            values = [u for u in (absolute_url(v, base) for v in values) if u]
        setattr(event, field, values)
        return
    first = values[0]
    if field in _URL_FIELDS:
        setattr(event, field, absolute_url(first, base))
    elif field in _TIME_FIELDS:
        default = event.start if field == "end" else None
        setattr(event, field, parse_when(first, default=default, now=ctx.now))
    elif field in _BOOL_FIELDS:
        setattr(event, field, first.strip().lower() in _TRUE)
    elif field in _FLOAT_FIELDS:
        try:
            setattr(event, field, float(first))
        except ValueError:
            warnings.append(f"{field} {first!r} is not a number")
    elif field in _INT_FIELDS:
        try:
            setattr(event, field, int(first))
        except ValueError:
            warnings.append(f"{field} {first!r} is not a whole number")
    elif field in ("title", "description"):
        setattr(event, field, ("\n\n" if field == "description" else " ").join(values))
    else:
        setattr(event, field, first)


def _parse_item(item: Selector, source: SourceConfig, base: str, ctx: ParseContext,
                warnings: list[str]) -> EventItem | None:
    found: dict[str, list[str]] = {}
    for name, expr in source.select.items():
        field = _ALIASES.get(name, name)
        if name == "item" or not expr or field in found:
            continue
        found[field] = _strings(select(item, expr, f"select.{name}"), field)
    title = " ".join(found.get("title", [])).strip()
    if not title:
        return None
    event = EventItem(source=source.name, title=title, start=None)
    # time fields first so that "end" can borrow the start's date
    order = sorted(found, key=lambda f: (f not in ("start",), f not in _TIME_FIELDS, f))
    for field in order:
        values = found[field]
        if not values or field == "title":
            continue
        if field == "location":
            where = split_location(values[0])
            event.venue = event.venue or where.venue
            event.address = event.address or where.address
            event.city = event.city or where.city
            if where.online:
                event.online = True
            continue
        if field not in _ITEM_FIELDS:
            continue
        _assign(event, field, values, base, ctx, warnings)
    if event.start is None:
        return None
    if isinstance(event.start, datetime) and isinstance(event.end, date) and not isinstance(
            event.end, datetime):
        event.end = None
    if isinstance(event.start, date) and not isinstance(event.start, datetime):
        event.all_day = True
        if isinstance(event.end, datetime):
            event.end = event.end.date()
    if event.end is not None and _before(event.end, event.start):
        warnings.append(f"{title!r}: end {event.end} is before the start; end dropped")
        event.end = None
    if source.group and not event.group:
        event.group = source.group
    event.industries = _merge(event.industries, source.industries)
    event.tags = _merge(event.tags, source.tags)
    return event


def _before(end: datetime | date, start: datetime | date) -> bool:
    if isinstance(end, datetime) and isinstance(start, datetime):
        if (end.tzinfo is None) != (start.tzinfo is None):
            return False
        return end < start
    if not isinstance(end, datetime) and not isinstance(start, datetime):
        return end < start
    return False


def _merge(first: list[str], second: list[str]) -> list[str]:
    out = list(first)
    out.extend(x for x in second if x not in out)
    return out


def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext) -> ParseResult:
    """Events from a listing page, by the source's selectors; the next page in ``follow``."""
    text = decode_html(body, ctx.headers)
    if not looks_like_markup(text):
        raise SourceError("not an HTML page: no markup found")
    item_expr = source.select.get("item")
    if not item_expr:
        raise SourceError("the source has no [source.select] item selector")
    try:
        page = Selector(text=text, type="html")
    except (ValueError, etree.ParserError) as exc:
        raise SourceError(f"not an HTML page: {exc}") from exc
    base = document_base(page, url)
    result = ParseResult()
    unknown = sorted(n for n in source.select if n != "item"
                     and _ALIASES.get(n, n) not in _ITEM_FIELDS | {"location"})
    if unknown:
        result.warnings.append(f"select: {', '.join(unknown)} name no event field; ignored")
    items = select(page, item_expr, "select.item")
    if not items:
        result.warnings.append(f"select.item = {item_expr!r} matched nothing on {url}")
    skipped = 0
    for item in items:
        event = _parse_item(item, source, base, ctx, result.warnings)
        if event is None:
            skipped += 1
            continue
        result.events.append(event)
        if len(result.events) >= ctx.max_items:
            result.warnings.append(f"stopped at {ctx.max_items} items")
            break
    if skipped:
        result.warnings.append(f"{skipped} listing entries without a title or start were skipped")
    if source.next_page:
        values = _strings(select(page, source.next_page, "next_page"), "url")
        nxt = absolute_url(values[0], base) if values else None
        if nxt and not same_page(nxt, url):
            result.follow.append(nxt)
    return result
