"""Parser for ``page`` sources: web pages with schema.org or microformats event data.

Reads, in this order of preference (the first copy of an event wins):

- JSON-LD ``<script type="application/ld+json">`` blocks (``@graph``, arrays, ``@id``
  references, ``http``/``https`` schema.org URIs and ``schema:`` prefixes);
- microdata and RDFa, extracted with extruct;
- microformats2 ``h-event`` (and classic hCalendar ``vevent``), parsed with mf2py.

schema.org ``Event`` and every subtype (``ConferenceEvent``, ``Hackathon``,
``BusinessEvent``, ``EducationEvent``, ``SocialEvent``, ``EventSeries``, ...) becomes an
``EventItem``; a top-level ``Organization`` becomes a ``GroupItem`` and the events in its
``event`` list are that group's. A page body that is JSON is read as JSON-LD.

With ``source.follow`` set (a CSS selector for links on a listing page), the links it
selects are returned in ``ParseResult.follow``, unless this page was itself reached by
following (``ctx.followed``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urldefrag

import jstyleson
from lxml import etree
from parsel import Selector

from aggregator import constants
from aggregator.config_types import SourceConfig
from aggregator.items import EventItem, GroupItem
from spiders.base import ParseContext, ParseResult, SourceError
from spiders.html import (
    absolute_url,
    decode_html,
    looks_like_markup,
    parse_when,
    same_page,
    select,
    split_location,
)

# --------------------------------------------------------------------------- vocabulary

_EXTRA_EVENT_TYPES = frozenset({"EventSeries", "Hackathon", "Festival", "CourseInstance"})
_ORG_TYPES = frozenset(
    {"Organization", "NGO", "Consortium", "ResearchOrganization", "Project", "WorkersUnion"}
)
_STATUS = {
    "eventscheduled": constants.SCHEDULED,
    "eventcancelled": constants.CANCELLED,
    "eventcanceled": constants.CANCELLED,
    "eventpostponed": constants.POSTPONED,
    "eventrescheduled": constants.RESCHEDULED,
    "eventmovedonline": constants.MOVED_ONLINE,
}
_MAX_DEPTH = 8

_JSON_ERRORS = (ValueError, TypeError, RecursionError)
# what extruct's microdata / RDFa extractors (lxml, pyRdfa, rdflib) raise on odd pages
_EXTRACT_ERRORS = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, AssertionError,
    RecursionError, UnicodeError, etree.Error,
)


def _short(term: str) -> str:
    """``https://schema.org/startDate`` or ``schema:startDate`` -> ``startDate``."""
    if term.startswith("@"):
        return term
    for sep in ("/", "#", ":"):
        if sep in term:
            term = term.rsplit(sep, 1)[1]
    return term


def _types(node: dict[str, Any]) -> list[str]:
    raw = node.get("@type")
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [_short(str(v)) for v in values if v]


def _is_event_type(name: str) -> bool:
    return name.endswith("Event") or name in _EXTRA_EVENT_TYPES


def _is_event(node: dict[str, Any]) -> bool:
    return any(_is_event_type(t) for t in _types(node))


def _is_org(node: dict[str, Any]) -> bool:
    return any(t in _ORG_TYPES for t in _types(node))


# --------------------------------------------------------------------------- node access


def _compact(value: Any, depth: int = 0) -> Any:
    """JSON-LD with full-IRI or prefixed keys -> plain short keys; ``@value`` unwrapped."""
    if depth > 50:
        return None
    if isinstance(value, list):
        return [_compact(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        return value["@value"]
    out: dict[str, Any] = {}
    for key, item in value.items():
        key = _short(str(key))
        if key == "@type":
            items = item if isinstance(item, list) else [item]
            out[key] = [_short(str(t)) for t in items if isinstance(t, str)]
        elif key in ("@context",):
            continue
        else:
            out[key] = _compact(item, depth + 1)
    return out


class _Nodes:
    """Reads properties of compacted schema.org nodes, following ``@id`` references."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[str, Any]] = {}
        self.referenced: set[str] = set()

    def index(self, value: Any, depth: int = 0) -> None:
        if depth > 50:
            return
        if isinstance(value, list):
            for item in value:
                self.index(item, depth + 1)
        elif isinstance(value, dict):
            node_id = value.get("@id")
            if isinstance(node_id, str):
                if len(value) > 1 and (node_id not in self.ids or len(value) > len(
                        self.ids[node_id])):
                    self.ids[node_id] = value
                if len(value) == 1 and depth > 0:
                    self.referenced.add(node_id)
            for key, item in value.items():
                if key != "@id":
                    self.index(item, depth + 1)

    def deref(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and "@id" in value:
            return self.ids.get(value["@id"], value["@id"])
        return value

    def all(self, node: dict[str, Any], *keys: str) -> list[Any]:
        """Every value of the first of ``keys`` that the node has."""
        for key in keys:
            if key in node and node[key] not in (None, "", []):
                raw = node[key]
                values = raw if isinstance(raw, list) else [raw]
                return [self.deref(v) for v in values if v not in (None, "")]
        return []

    def one(self, node: dict[str, Any], *keys: str) -> Any:
        values = self.all(node, *keys)
        return values[0] if values else None

    def text(self, node: dict[str, Any], *keys: str) -> str | None:
        return _as_text(self.one(node, *keys))

    def name(self, value: Any) -> str | None:
        """The name of a Thing, or the text itself."""
        value = self.deref(value)
        if isinstance(value, dict):
            return self.text(value, "name", "legalName", "alternateName")
        return _as_text(value)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        if isinstance(value, dict):
            inner = value.get("name") or value.get("@id")
            return _as_text(inner)
        if isinstance(value, list) and value:
            return _as_text(value[0])
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = unescape(str(value)).strip()
    return text or None


# --------------------------------------------------------------------------- extraction


def _jsonld_blocks(tree: Any, warnings: list[str]) -> list[Any]:
    blocks: list[Any] = []
    scripts = tree.xpath(
        "//script[translate(normalize-space(@type), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
        " 'abcdefghijklmnopqrstuvwxyz')='application/ld+json']"
    )
    for number, script in enumerate(scripts, 1):
        raw = script.xpath("string()").strip()
        raw = re.sub(r"^\s*(<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)", "", raw)
        raw = re.sub(r"(-->|//\s*\]\]>|\]\]>)\s*$", "", raw).strip()
        if not raw:
            continue
        try:
            blocks.append(_load_json(raw))
        except _JSON_ERRORS as exc:
            warnings.append(f"JSON-LD block {number} is not valid JSON ({exc}); skipped")
    return blocks


def _load_json(raw: str) -> Any:
    """JSON as pages write it: control characters, comments, trailing commas and
    backslashes that start no JSON escape are tolerated."""
    try:
        return json.loads(raw, strict=False)
    except _JSON_ERRORS:
        pass
    try:
        return jstyleson.loads(raw, strict=False)
    except _JSON_ERRORS:
        pass
    fixed = re.sub(r'\\(?!["\\/bfnrtu])', r"\\\\", raw)
    return jstyleson.loads(fixed, strict=False)


def _microdata(tree: Any, base: str, warnings: list[str]) -> list[Any]:
    import extruct  # here, not at the top: a fifth of a second a process that parses no page need not pay

    try:
        found = extruct.extract(
            tree, base_url=base, syntaxes=["microdata"], uniform=True, errors="strict"
        )
    except _EXTRACT_ERRORS as exc:
        warnings.append(f"microdata could not be read ({type(exc).__name__}: {exc})")
        return []
    return list(found.get("microdata", []))


def _rdfa(tree: Any, base: str, warnings: list[str]) -> list[Any]:
    import extruct

    try:
        found = extruct.extract(tree, base_url=base, syntaxes=["rdfa"], errors="strict")
    except _EXTRACT_ERRORS as exc:
        warnings.append(f"RDFa could not be read ({type(exc).__name__}: {exc})")
        return []
    expanded = [n for n in found.get("rdfa", []) if isinstance(n, dict)]
    by_id = {n["@id"]: n for n in expanded if isinstance(n.get("@id"), str)}
    referenced = {
        v["@id"]
        for n in expanded
        for key, values in n.items() if not key.startswith("@") and isinstance(values, list)
        for v in values if isinstance(v, dict) and "@id" in v
    }

    def convert(node: dict[str, Any], seen: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": [_short(t) for t in node.get("@type", [])]}
        if isinstance(node.get("@id"), str) and not node["@id"].startswith("_:"):
            out["@id"] = node["@id"]
        for key, values in node.items():
            if key.startswith("@") or not isinstance(values, list):
                continue
            converted = []
            for value in values:
                if not isinstance(value, dict):
                    continue
                if "@value" in value:
                    converted.append(value["@value"])
                elif "@id" in value:
                    ref = value["@id"]
                    if ref in by_id and ref not in seen and by_id[ref].get("@type"):
                        converted.append(convert(by_id[ref], seen | {ref}))
                    else:
                        converted.append(ref)
            if converted:
                out.setdefault(_short(key), [])
                out[_short(key)].extend(converted)
        return {k: (v[0] if isinstance(v, list) and len(v) == 1 and k != "@type" else v)
                for k, v in out.items()}

    return [
        convert(n, frozenset({n.get("@id", "")}))
        for n in expanded
        if n.get("@type") and n.get("@id") not in referenced
    ]


_MF2_HINT = re.compile(r"""class\s*=\s*["'][^"']*\b(h-event|vevent)\b""", re.I)


def _microformats(text: str, base: str, warnings: list[str]) -> list[dict[str, Any]]:
    if not _MF2_HINT.search(text):
        return []
    try:
        import mf2py

        parsed = mf2py.parse(doc=text, url=base, html_parser="lxml")
    except _EXTRACT_ERRORS as exc:
        warnings.append(f"microformats could not be read ({type(exc).__name__}: {exc})")
        return []
    found: list[dict[str, Any]] = []

    def walk(items: Iterable[Any], depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        for item in items:
            if not isinstance(item, dict):
                continue
            if "h-event" in item.get("type", []):
                found.append(item)
            walk(item.get("children", []), depth + 1)

    walk(parsed.get("items", []), 0)
    return found


# --------------------------------------------------------------------------- field parsers


def _parse_offers(nodes: _Nodes, offers: list[Any]) -> tuple[Any, str | None]:
    """The lowest listed price and its currency; ``"Free"`` when that is all it says."""
    best: tuple[float, Any, str | None] | None = None
    free_text = False
    pending = list(offers)
    while pending:
        offer = nodes.deref(pending.pop(0))
        if not isinstance(offer, dict):
            if isinstance(offer, str) and "free" in offer.lower():
                free_text = True
            continue
        pending.extend(nodes.all(offer, "priceSpecification"))
        currency = nodes.text(offer, "priceCurrency")
        for key in ("lowPrice", "price", "minPrice"):
            for raw in nodes.all(offer, key):
                amount = _number(raw)
                if amount is None:
                    free_text = free_text or "free" in str(raw).lower()
                    continue
                if best is None or amount < best[0]:
                    best = (float(amount), amount, currency)
    if best is not None:
        return best[1], best[2]
    return ("Free", None) if free_text else (None, None)


def _number(raw: Any) -> int | float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        match = re.search(r"-?\d[\d,]*(\.\d+)?", text)
        if not match or re.search(r"[A-Za-z]{4,}", text):
            return None
        try:
            value = float(match.group(0).replace(",", ""))
        except ValueError:
            return None
    return int(value) if value.is_integer() else value


def _parse_duration(text: str | None) -> timedelta | None:
    """ISO 8601 ``P1DT2H30M`` -> timedelta."""
    if not text:
        return None
    match = re.fullmatch(
        r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?",
        text.strip().upper(),
    )
    if not match or not any(match.groups()):
        return None
    weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _parse_status(raw: str | None) -> tuple[str | None, str | None]:
    """``https://schema.org/EventCancelled`` -> (``cancelled``, ``EventCancelled``)."""
    if not raw:
        return None, None
    name = _short(raw)
    return _STATUS.get(name.lower()), name


_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_DEADLINE_TEXT = re.compile(
    r"\b(?:call for (?:speakers|papers|proposals|talks|submissions|presentations)|cfp|"
    r"nominations?|submissions?|proposals?|abstracts?)\s+"
    r"(?:close|closes|closing|are due|is due|due|deadline(?: is)?|ends?)\s*"
    r"(?:on|by|:)?\s*(?:[A-Z][a-z]+day,?\s+)?"
    rf"(?P<date>\d{{1,2}}\s+(?:{_MONTHS})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2})",
    re.I,
)


def _deadline_from_text(text: str | None) -> date | None:
    """"Nominations close 26 February 2027." -> 2027-02-26 (a date: no time is given)."""
    if not text:
        return None
    match = _DEADLINE_TEXT.search(text)
    if not match:
        return None
    value = parse_when(match.group("date"), default=datetime(2000, 1, 1))
    if isinstance(value, datetime):
        return value.date()
    return value


def _fix_end(start: datetime | date, end: datetime | date | None,
             warnings: list[str], title: str) -> datetime | date | None:
    if end is None:
        return None
    if isinstance(end, datetime) and not isinstance(start, datetime):
        end = end.date()                       # an all-day event ends on a day
    elif isinstance(start, datetime) and not isinstance(end, datetime):
        return None                            # a timed event with only an end day
    if isinstance(start, datetime) and isinstance(end, datetime):
        if start.tzinfo is not None and end.tzinfo is None:
            end = end.replace(tzinfo=start.tzinfo)
        elif start.tzinfo is None and end.tzinfo is not None:
            end = end.replace(tzinfo=None)
    if end < start:  # type: ignore[operator]
        warnings.append(f"{title!r}: the end is before the start; end dropped")
        return None
    return end


# --------------------------------------------------------------------------- schema.org


class _Reader:
    def __init__(self, nodes: _Nodes, source: SourceConfig, base: str, ctx: ParseContext,
                 result: ParseResult) -> None:
        self.nodes = nodes
        self.source = source
        self.base = base
        self.ctx = ctx
        self.result = result
        self.skipped = 0

    def walk(self, value: Any, org: GroupItem | None = None, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            return
        value = self.nodes.deref(value)
        if isinstance(value, list):
            for item in value:
                self.walk(item, org, depth)
            return
        if not isinstance(value, dict):
            return
        n = self.nodes
        if "@graph" in value:
            self.walk(value["@graph"], org, depth + 1)
        if _is_event(value):
            event = self.event(value, org)
            if event is not None:
                self.result.events.append(event)
            else:
                self.skipped += 1
            for sub in n.all(value, "subEvent", "subEvents"):
                self.walk(sub, org, depth + 1)
        elif _is_org(value):
            group = self.group(value, depth)
            for event in n.all(value, "event", "events"):
                self.walk(event, group or org, depth + 1)
        else:
            # WebPage.mainEntity, ItemList/ListItem, MusicGroup.event, Place.event, ...
            for key in ("mainEntity", "itemListElement", "item", "about", "event", "events"):
                for child in n.all(value, key):
                    self.walk(child, org, depth + 1)

    def group(self, node: dict[str, Any], depth: int) -> GroupItem | None:
        n = self.nodes
        name = n.text(node, "name", "legalName")
        if not name:
            return None
        has_events = bool(n.all(node, "event", "events"))
        node_id = node.get("@id")
        referenced = isinstance(node_id, str) and node_id in n.referenced
        if not has_events and (depth > 1 or referenced):
            # the site's publisher or a nested organiser, not a group of its own
            return None
        address = n.one(node, "address", "location")
        city = country = None
        if isinstance(address, dict):
            if _types(address) and "PostalAddress" not in _types(address):
                address = n.one(address, "address") or address
            if isinstance(address, dict):
                city = n.text(address, "addressLocality")
                country = n.name(n.one(address, "addressCountry"))
        elif isinstance(address, str):
            city = split_location(address).city
        tags = [t for t in (n.name(v) for v in n.all(node, "knowsAbout", "keywords")) if t]
        if len(tags) == 1 and "," in tags[0]:
            tags = [t.strip() for t in tags[0].split(",") if t.strip()]
        group = GroupItem(
            source=self.source.name,
            name=name,
            url=absolute_url(n.text(node, "url"), self.base),
            description=n.text(node, "description"),
            city=city,
            country=country,
            industries=list(self.source.industries),
            tags=tags,
        )
        if not any(g.name == name for g in self.result.groups):
            self.result.groups.append(group)
        return group

    def event(self, node: dict[str, Any], org: GroupItem | None) -> EventItem | None:
        n = self.nodes
        title = n.text(node, "name", "headline", "summary")
        start = parse_when(n.text(node, "startDate"), now=self.ctx.now)
        if not title or start is None:
            return None
        warnings = self.result.warnings
        end_raw = n.text(node, "endDate")
        end = parse_when(end_raw, default=start, now=self.ctx.now) if end_raw else None
        if end is None and isinstance(start, datetime):
            duration = _parse_duration(n.text(node, "duration"))
            end = start + duration if duration else None
        end = _fix_end(start, end, warnings, title)
        types = _types(node)
        kind = next((t for t in types if t != "Event"), None)
        event = EventItem(
            source=self.source.name,
            title=" ".join(title.split()),
            start=start,
            end=end,
            all_day=not isinstance(start, datetime),
            url=absolute_url(n.text(node, "url"), self.base),
            description=n.text(node, "description"),
            kind_text=kind,
            language=self.language(n.one(node, "inLanguage")),
        )
        self.location(node, event)
        mode = _short(n.text(node, "eventAttendanceMode") or "")
        if mode.startswith("Online"):
            event.online = True
        elif mode.startswith("Mixed"):
            event.online, event.hybrid = True, True
        elif mode.startswith("Offline") and event.online is None:
            event.online = False
        event.status, event.status_text = _parse_status(n.text(node, "eventStatus"))
        if event.status == constants.MOVED_ONLINE:
            event.online = True
        previous = parse_when(n.text(node, "previousStartDate"), now=self.ctx.now)
        event.previous_start = previous
        offers = n.all(node, "offers")
        if offers:
            event.price, event.currency = _parse_offers(n, offers)
        if event.price is None and str(n.text(node, "isAccessibleForFree")).lower() == "true":
            event.price = 0
        organizers = [x for x in (n.name(v) for v in n.all(node, "organizer")) if x]
        event.organizer = ", ".join(organizers) if organizers else (org.name if org else None)
        event.performers = [x for x in (n.name(v) for v in n.all(node, "performer", "performers"))
                            if x]
        self.call_for_speakers(node, event)
        keywords = [k for k in (n.name(v) for v in n.all(node, "keywords")) if k]
        if len(keywords) == 1 and "," in keywords[0]:
            keywords = [k.strip() for k in keywords[0].split(",") if k.strip()]
        event.tags = _merge(keywords, self.source.tags)
        event.industries = list(self.source.industries)
        event.group = self.source.group or (org.name if org else None)
        if org is not None and not self.source.group:
            event.group_url = org.url
        return event

    def language(self, value: Any) -> str | None:
        if isinstance(value, dict):
            return self.nodes.text(value, "alternateName", "name")
        return _as_text(value)

    def location(self, node: dict[str, Any], event: EventItem) -> None:
        n = self.nodes
        places = n.all(node, "location")
        in_person = online = False
        for place in places:
            if isinstance(place, str):
                where = split_location(place)
                if where.online:
                    online = True
                    continue
                in_person = True
                event.venue = event.venue or where.venue
                event.address = event.address or where.address
                event.city = event.city or where.city
                continue
            if not isinstance(place, dict):
                continue
            types = _types(place)
            if "VirtualLocation" in types:
                online = True
                continue
            in_person = True
            if event.venue is None and "PostalAddress" not in types:
                event.venue = n.text(place, "name")
            address = place if "PostalAddress" in types else n.one(place, "address")
            if isinstance(address, dict):
                parts = [n.text(address, k) for k in (
                    "streetAddress", "addressLocality", "addressRegion", "postalCode")]
                country = n.name(n.one(address, "addressCountry"))
                text = ", ".join(p for p in [*parts, country] if p)
                event.address = event.address or text or None
                event.city = event.city or n.text(address, "addressLocality")
                event.country = event.country or country
            elif isinstance(address, str):
                event.address = event.address or address
                event.city = event.city or split_location(address).city
            geo = n.one(place, "geo")
            if isinstance(geo, dict) and event.latitude is None:
                lat, lon = _number(n.text(geo, "latitude")), _number(n.text(geo, "longitude"))
                if lat is not None and lon is not None:
                    event.latitude, event.longitude = float(lat), float(lon)
        if online:
            event.online = True
            event.hybrid = event.hybrid or in_person
        elif in_person:
            event.online = False

    def call_for_speakers(self, node: dict[str, Any], event: EventItem) -> None:
        n = self.nodes
        for offer in n.all(node, "hasParticipationOffer"):
            if not isinstance(offer, dict):
                continue
            deadline = parse_when(n.text(offer, "availabilityEnds", "validThrough"),
                                  now=self.ctx.now)
            if deadline is not None and event.cfp_deadline is None:
                event.cfp_deadline = deadline
                event.cfp_url = absolute_url(n.text(offer, "url"), self.base)
        if event.cfp_deadline is None:
            event.cfp_deadline = _deadline_from_text(event.description)


def _merge(first: list[str], second: list[str]) -> list[str]:
    out = list(first)
    out.extend(x for x in second if x not in out)
    return out


# --------------------------------------------------------------------------- microformats


def _mf_text(value: Any) -> str | None:
    if isinstance(value, dict):
        if "properties" in value:
            names = value["properties"].get("name")
            if names:
                return _mf_text(names[0])
        return _mf_text(value.get("value"))
    return _as_text(value)


def _mf_first(props: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        values = props.get(key)
        if values:
            return values[0]
    return None


def _mf2_event(item: dict[str, Any], source: SourceConfig, base: str, ctx: ParseContext,
               warnings: list[str]) -> EventItem | None:
    props = item.get("properties", {})
    title = _mf_text(_mf_first(props, "name", "summary"))
    start = parse_when(_mf_text(_mf_first(props, "start")), now=ctx.now)
    if not title or start is None:
        return None
    end_raw = _mf_text(_mf_first(props, "end"))
    end = parse_when(end_raw, default=start, now=ctx.now) if end_raw else None
    if end is None and isinstance(start, datetime):
        duration = _parse_duration(_mf_text(_mf_first(props, "duration")))
        end = start + duration if duration else None
    end = _fix_end(start, end, warnings, title)
    description = _mf_text(_mf_first(props, "description", "content", "summary"))
    event = EventItem(
        source=source.name,
        title=" ".join(title.split()),
        start=start,
        end=end,
        all_day=not isinstance(start, datetime),
        url=absolute_url(_mf_text(_mf_first(props, "url")), base),
        description=description,
        tags=_merge([t for t in (_mf_text(c) for c in props.get("category", [])) if t],
                    source.tags),
        industries=list(source.industries),
        group=source.group,
    )
    location = _mf_first(props, "location")
    if isinstance(location, dict) and "properties" in location:
        lp = location["properties"]
        adr = _mf_first(lp, "adr")
        if isinstance(adr, dict) and "properties" in adr:
            lp = {**adr["properties"], **lp}
        event.venue = _mf_text(_mf_first(lp, "name", "org"))
        event.city = _mf_text(_mf_first(lp, "locality"))
        event.country = _mf_text(_mf_first(lp, "country-name", "country"))
        street = _mf_text(_mf_first(lp, "street-address"))
        parts = [street, event.city, _mf_text(_mf_first(lp, "region")),
                 _mf_text(_mf_first(lp, "postal-code")), event.country]
        adr_text = _mf_text(adr) if isinstance(adr, dict) else None
        event.address = ", ".join(p for p in parts if p) or adr_text or None
        lat, lon = _mf_first(lp, "latitude"), _mf_first(lp, "longitude")
        if lat is not None and lon is not None:
            lat_n, lon_n = _number(lat), _number(lon)
            if lat_n is not None and lon_n is not None:
                event.latitude, event.longitude = float(lat_n), float(lon_n)
        if event.venue and _ONLINE_WORD.match(event.venue):
            event.online = True
    elif location is not None:
        where = split_location(_mf_text(location))
        event.venue, event.address, event.city = where.venue, where.address, where.city
        event.online = where.online
    organizer = _mf_first(props, "organizer")
    if organizer is not None:
        event.organizer = _mf_text(organizer)
    event.cfp_deadline = _deadline_from_text(description)
    return event


_ONLINE_WORD = re.compile(r"^\s*(online|virtual)\b", re.I)


# --------------------------------------------------------------------------- the parser


def _links(text: str, expr: str, base: str, page_url: str) -> list[str]:
    page = Selector(text=text, type="html")
    out: list[str] = []
    for result in select(page, expr, "follow"):
        root = result.root
        value: str | None = None
        if isinstance(root, str):
            value = root
        elif isinstance(root, etree._Element):
            # the link itself, or the first link inside a selected card
            value = root.get("href") or next(iter(root.xpath(".//a/@href")), None)
        link = absolute_url(value, base)
        link = urldefrag(link)[0] if link else None
        if link and not same_page(link, page_url) and link not in out:
            out.append(link)
    return out


def _dedupe(events: list[EventItem]) -> Iterator[EventItem]:
    seen: set[tuple[str, str]] = set()
    for event in events:
        key = (event.title.casefold(), str(event.start))
        if key in seen:
            continue
        seen.add(key)
        yield event


def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext) -> ParseResult:
    """Events and groups from a page's structured data; listing links in ``follow``."""
    result = ParseResult()
    nodes = _Nodes()
    text = decode_html(body, ctx.headers)
    stripped = text.lstrip("\ufeff \t\r\n")
    data: list[Any] = []
    mf2_items: list[dict[str, Any]] = []
    base = url
    if stripped[:1] in ("{", "["):
        try:
            data.append(_load_json(stripped))
        except _JSON_ERRORS as exc:
            raise SourceError(f"not an HTML page and not valid JSON-LD: {exc}") from exc
    else:
        if not looks_like_markup(text):
            raise SourceError("not an HTML page: no markup found")
        try:
            from extruct.utils import parse_xmldom_html

            tree = parse_xmldom_html(text.encode("utf-8"), "utf-8")
        except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
            raise SourceError(f"not an HTML page: {exc}") from exc
        if tree is None:
            raise SourceError("not an HTML page: nothing could be parsed")
        base_href = tree.xpath("//base/@href")
        if base_href:
            base = absolute_url(str(base_href[0]), url) or url
        lowered = text.lower()     # which syntaxes to look for: the page's words say (cheaply)
        if "ld+json" in lowered:
            data.extend(_jsonld_blocks(tree, result.warnings))
        if "itemscope" in lowered:
            data.extend(_microdata(tree, base, result.warnings))
        if "typeof" in lowered and re.search(r"\btypeof\s*=", lowered):
            data.extend(_rdfa(tree, base, result.warnings))
        if "h-event" in lowered or "vevent" in lowered:
            mf2_items = _microformats(text, base, result.warnings)

    compacted = [_compact(block) for block in data]
    nodes.index(compacted)
    reader = _Reader(nodes, source, base, ctx, result)
    for block in compacted:
        reader.walk(block)
    for item in mf2_items:
        event = _mf2_event(item, source, base, ctx, result.warnings)
        if event is None:
            reader.skipped += 1
        else:
            result.events.append(event)
    if reader.skipped:
        result.warnings.append(f"{reader.skipped} events without a name or start date skipped")

    result.events = list(_dedupe(result.events))
    # a single event page names itself; a URL shared by several events is nobody's own
    if len(result.events) == 1 and result.events[0].url is None:
        result.events[0].url = url
    shared = _shared_urls(result.events)
    for event in result.events:
        if event.url in shared:
            event.url = None
    if len(result.events) > ctx.max_items:
        result.warnings.append(f"stopped at {ctx.max_items} items")
        result.events = result.events[: ctx.max_items]

    if source.follow and not ctx.followed and stripped[:1] not in ("{", "["):
        result.follow = _links(text, source.follow, base, url)
    if not result.events and not result.groups and not result.follow:
        result.warnings.append("no schema.org Event or Organization and no h-event on the page")
    return result


def _shared_urls(events: list[EventItem]) -> set[str]:
    seen: dict[str, set[str]] = {}
    for event in events:
        if event.url:
            seen.setdefault(event.url, set()).add(f"{event.title.casefold()}|{event.start}")
    return {u for u, keys in seen.items() if len(keys) > 1}
