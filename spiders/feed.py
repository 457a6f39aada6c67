"""The ``feed`` source type: RSS 0.9x/1.0/2.0, Atom and JSON Feed.

XML feeds are read the way feedparser reads them, and by feedparser whenever in doubt. It
reads every XML flavour (it never raises, flags ``bozo`` and keeps what it could read,
defuses entity declarations and never fetches external entities) but spends nearly all its
time in per-element Python handlers: about 2,000 entries/s. So a well-formed RSS 2.0/0.9x,
RSS 1.0 or Atom 1.0 document made of elements whose feedparser handling is reproduced here
(titles, links, guids, descriptions and content, authors, categories, dates, the ev:, xCal:
and Google Base extensions ...) is read with lxml instead (``_read_xml_fast``, about ten
times faster), into the very values feedparser would give: tests/spiders/test_feed_fastpath.py
compares both on the corpus, the eval set, the synthetic benchmark and random documents.
lxml never resolves entities nor reads the network there (resolve_entities=False,
no_network=True, huge_tree=False). Anything else goes to feedparser: broken XML (its loose
parser keeps what it can), a DOCTYPE or entity declarations, a charset the HTTP header and the
prolog disagree on, Atom 0.3, XHTML or base64 content, GeoRSS, Media RSS groups, xml:base
without a document URL ... JSON Feed is read with :mod:`json`. fastfeedparser is fast too,
but drops extension elements such as ``ev:startdate`` and ``xCal:dtstart`` (see
``bench/feed_parsers.py``), so it is not used.

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

import codecs
import functools
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html
from dateutil import parser as dateutil_parser
from feedparser.api import StrictFeedParser
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict

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
_HYBRID_WORDS = ("online", "virtual", "livestream")     # one is in every _HYBRID_PLACE match
# textdates.find_deadline scans the whole text with a slow case-insensitive expression, and
# finds nothing in a text without one of the words its phrases start with ("Call for
# speakers closes ...", "CFP deadline ...", "Nominations close ...": textdates._DEADLINE_PHRASE;
# tests/spiders/test_feed_fastpath.py fails if that list changes)
_DEADLINE_WORDS = ("call", "cfp", "nomination", "entries", "submission", "application", "proposal")
_ONLINE_TEXT = re.compile(
    r"\b(?:online event|virtual event|live online|online only|online-only|webinar|"
    r"streamed (?:live )?online|also streamed|in person and online|hybrid event|"
    r"evento en l[ií]nea|seminario web|online-sessie|online-veranstaltung)\b",
    re.IGNORECASE,
)
# _ONLINE_TEXT is slow (a case-insensitive alternation tried at every word); each of its
# phrases contains one of these words
_ONLINE_WORDS = ("online", "virtual", "webinar", "streamed", "hybrid", "evento", "seminario")
# characters re.IGNORECASE matches to an ASCII letter although str.lower() does not map them
# to it (dotted/dotless i, long s; "İ".lower() is even two characters long)
_CASE_ODDITIES = ("\u0130", "\u0131", "\u017f")
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
# runs of blanks but a lone space (replacing each space by itself costs a match per word)
_BLANKS = re.compile(r"(?: [ \t\u00a0]|[\t\u00a0])[ \t\u00a0]*")
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
    fast = _read_xml_fast(body, url, ctx)
    if fast is not None:
        return fast
    headers = _feedparser_headers(url, ctx)
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
    keys = _extension_keys(parsed.get("namespaces") or {})
    channel = _xml_channel(parsed)
    return [_xml_entry(e, keys, channel) for e in entries], channel


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


# the extension values an entry may carry, by extension; and where its times come from, in order
_EXTENSION_FIELDS = {
    "ev": ("startdate", "enddate", "location", "organizer", "type"),
    "xcal": ("dtstart", "dtend", "location", "organizer", "categories"),
    "gbase": ("start", "end", "event_date_range", "location"),
}
_EXTENSION_TIMES = (
    ("ev", "ev:startdate", "ev:enddate"), ("xcal", "xcal:dtstart", "xcal:dtend"), ("gbase", "gbase:start", "gbase:end"),
)


def _extension_keys(namespaces: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """For each extension value ("xcal:dtstart"), the feedparser keys that may hold it, in
    order ("xcal_dtstart", "dtstart"): worked out once per document."""
    prefixes = _extension_prefixes(namespaces)
    return {
        f"{kind}:{name}": tuple(prefix + name for prefix in prefixes[kind])
        for kind, names in _EXTENSION_FIELDS.items()
        for name in names
    }


def _first(entry: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _xml_entry(e: Mapping[str, Any], keys: dict[str, tuple[str, ...]], channel: dict) -> _Entry:
    # (feedparser's values are FeedParserDicts, the fast path's plain dicts)
    content = [c.get("value", "") for c in (e.get("content") or []) if isinstance(c, dict)]
    summary = e.get("summary") or ""
    body_html = max([*content, summary], key=len) if content else summary
    start = end = start_from = None
    for kind, start_key, end_key in _EXTENSION_TIMES:
        start = _first(e, keys[start_key])
        if start:
            end, start_from = _first(e, keys[end_key]), kind
            break
    if not start:          # older Google Base: "<g:event_date_range>START END</...>"
        rng = _first(e, keys["gbase:event_date_range"])
        if rng and len(rng.split()) == 2:
            (start, end), start_from = rng.split(), "gbase"
    location = (
        _first(e, keys["ev:location"]) or _first(e, keys["xcal:location"]) or _first(e, keys["gbase:location"])
    )
    organizer = _first(e, keys["ev:organizer"]) or _first(e, keys["xcal:organizer"])
    if organizer and organizer.lower().startswith("mailto:"):
        organizer = None
    author = (e.get("author_detail") or {}).get("name") or e.get("author") or channel["author"]
    detail = e.get("title_detail") or {}
    language = e.get("language") or e.get("dc_language") or detail.get("language")
    tags = [t.get("term") for t in (e.get("tags") or []) if isinstance(t, dict)]
    return _Entry(
        title=_text_of(e.get("title") or ""),
        link=e.get("link") or _guid_link(e),
        uid=e.get("id") or e.get("link"),
        html=body_html,
        start_raw=start,
        end_raw=end,
        location=location,
        organizer=organizer,
        kind_text=_first(e, keys["ev:type"]) or _first(e, keys["xcal:categories"]),
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


# --- the lxml fast path ---------------------------------------------------------------------
#
# feedparser spends almost all its time in its per-element SAX handlers. For a well-formed
# document made only of elements whose handling we can reproduce exactly, _read_xml_fast
# reads the lxml tree instead and builds the same entry and feed mappings that feedparser
# would (same keys, same values), then hands them to _xml_entry/_xml_channel like the
# feedparser path does. Anything else (a DOCTYPE, an element feedparser treats specially
# that is not reproduced here, XHTML content, base64 ...) makes it give up: the caller then
# uses feedparser. tests/spiders/test_feed_fastpath.py checks the two paths give identical
# results on the corpus, the eval set, the synthetic benchmark and random documents.

# feedparser's own tables, so that the fast path follows the installed version
_FP_NAMESPACES = {uri.lower(): prefix for uri, prefix in StrictFeedParser.namespaces.items()}
_FP_HANDLED = frozenset(
    name.split("_", 2)[2] for name in dir(StrictFeedParser) if name.startswith(("_start_", "_end_"))
)
_FP_KEYMAP = FeedParserDict.keymap
_FP_RELATIVE = frozenset(StrictFeedParser.can_be_relative_uri)
_FP_HTML_TYPES = frozenset(StrictFeedParser.html_types)
_FP_MAP_TYPE = StrictFeedParser.map_content_type
_FP_CP1252 = str.maketrans(_cp1252)
_C1_CONTROLS = re.compile("[\x80-\x9f]")      # what _FP_CP1252 maps (str.translate is slow)
_FP_EMAIL = re.compile(      # feedparser's _sync_author_detail pattern, verbatim
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_FP_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_ATOM_NS = "http://www.w3.org/2005/Atom"
_FIRST_ELEMENT = re.compile(rb"<\w")

# element keys (feedparser's names: "title", "dc_creator", "ev_startdate") by what they do
_TITLES = frozenset({"title", "dc_title", "media_title"})
_IDS = frozenset({"id", "guid"})
# (key: the content type feedparser assumes)
_SUMMARIES = {"description": "text/html", "dc_description": "text/html", "media_description": "text/html",
              "summary": "text/plain", "itunes_summary": "text/plain"}
_CONTENTS = {"content": "text/plain", "content_encoded": "text/html", "fullitem": "text/html"}
_SUBTITLES = frozenset({"subtitle", "tagline", "itunes_subtitle"})
_AUTHORS = frozenset({"author", "managingeditor", "dc_author", "dc_creator", "itunes_author"})
_PERSON_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
_CATEGORIES = frozenset({"category", "dc_subject", "keywords", "media_category", "itunes_category"})
_KEYWORDS = {"media_keywords": None, "itunes_keywords": "http://www.itunes.com/"}     # key: tag scheme
_LANGUAGES = frozenset({"language", "dc_language"})
# handled by feedparser, but only into keys nobody here reads (dates, enclosures, media ...)
_INERT = frozenset({
    "pubdate", "published", "issued", "updated", "modified", "lastbuilddate", "created",
    "dc_date", "dcterms_created", "dcterms_issued", "dcterms_modified", "expirationdate",
    "enclosure", "generator", "cloud", "newlocation", "webmaster", "dc_publisher",
    "rights", "copyright", "dc_rights", "info", "feedburner_browserfriendly",
    "itunes_image", "itunes_link", "itunes_explicit", "itunes_block", "media_thumbnail",
    "media_content", "media_credit", "media_rating", "media_restriction", "media_license",
    "media_player",
})
_INERT_IN_FEED = _INERT | _LANGUAGES | _TITLES | _CATEGORIES | frozenset(
    {"itunes_keywords", "media_keywords"}
)
# what each element feedparser knows means inside an entry (the others are unsure; the
# elements it does not know are "extension")
_ENTRY_ROLES: dict[str, str] = {
    **dict.fromkeys(_TITLES, "title"), "link": "link", **dict.fromkeys(_IDS, "id"),
    **dict.fromkeys(_SUMMARIES, "summary"), **dict.fromkeys(_CONTENTS, "content"),
    **dict.fromkeys(_AUTHORS, "author"), **dict.fromkeys(_CATEGORIES, "category"),
    **dict.fromkeys(_KEYWORDS, "keywords"), **dict.fromkeys(_LANGUAGES, "language"),
    "contributor": "contributor", "source": "source", **dict.fromkeys(_INERT | _SUBTITLES, "inert"),
}
_TEXT_ATTRS = frozenset({"type", "xml:lang", "lang", "xml:base", "base"})
_CONTENT_ATTRS = frozenset({"src"})       # and on Atom's content
_IMAGE_PARTS = frozenset({"title", "link", "url", "width", "height"})
_TEXTINPUT_PARTS = frozenset({"title", "description", "name", "link"})
# feedparser keeps these as structures: an unknown element of that name would break them
_RESERVED = frozenset({"title_detail", "author_detail", "authors", "links", "tags", "content"})


class _Unsure(Exception):
    """The fast reader met something it does not read exactly as feedparser does."""


def _feedparser_headers(url: str, ctx: ParseContext) -> dict[str, str]:
    # An HTTP charset is authoritative; without one, "text/xml" would mean US-ASCII
    # (RFC 3023) and spoil a feed whose XML prolog names its encoding: let the prolog speak.
    content_type = ctx.headers.get("content-type", "")
    headers = {
        "content-type": content_type if "charset=" in content_type.lower() else "application/xml"
    }
    if url:
        headers["content-location"] = url
    return headers


def _read_xml_fast(
    body: bytes, url: str, ctx: ParseContext
) -> tuple[list[_Entry], dict[str, str]] | None:
    """The entries and channel feedparser would give, read with lxml; None when not sure."""
    headers = _feedparser_headers(url, ctx)
    info: dict[str, Any] = {}
    try:
        # feedparser's own decoding step: the same text, re-encoded as UTF-8
        data = convert_to_utf8(headers, body, info)
    except (UnicodeError, LookupError, ValueError):
        return None
    if info.get("bozo") or not _charset_agrees(headers, body, info.get("encoding") or ""):
        return None
    first = _FIRST_ELEMENT.search(data)
    head = data[: first.start()] if first else data
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        return None
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
        remove_comments=True, remove_pis=True,
    )
    try:
        root = lxml.etree.fromstring(data, parser)
    except (lxml.etree.LxmlError, ValueError):
        return None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return None
    declarations: dict[Any, list[tuple[str | None, str]]] | None = None
    if data.count(b"xmlns") != len(root.nsmap):
        # namespaces declared below the root (Blogger's <media:thumbnail xmlns:media=...>):
        # feedparser takes them in when it meets them, so the walk needs to know where they are
        root, declarations = _declarations(data)
        if root is None:
            return None
    try:
        reader = _FastReader(url, root, declarations)
        reader.read(root)
    except _Unsure:
        return None
    entries = [e for e in reader.entries if e.get("title") or e.get("link") or e.get("id")]
    if not entries:         # let feedparser tell an empty feed from an HTML page
        return None
    channel = _xml_channel({"feed": FeedParserDict(reader.feed)})     # "description" is an alias there
    keys = _extension_keys(reader.in_use)
    return [_xml_entry(e, keys, channel) for e in entries], channel


def _declarations(data: bytes) -> tuple[Any, dict[Any, list[tuple[str | None, str]]]]:
    """The tree again, with the namespace declarations of each element, in document order."""
    found: dict[Any, list[tuple[str | None, str]]] = {}
    pending: list[tuple[str | None, str]] = []
    root = None
    try:
        for event, item in lxml.etree.iterparse(
            io.BytesIO(data), events=("start-ns", "start"), resolve_entities=False, no_network=True,
            huge_tree=False, load_dtd=False, remove_comments=True, remove_pis=True,
        ):
            if event == "start-ns":
                pending.append((item[0] or None, item[1]))
            else:
                if root is None:
                    root = item
                if pending:
                    found[item], pending = pending, []
    except (lxml.etree.LxmlError, ValueError):
        return None, found
    return root, found


def _charset_agrees(headers: Mapping[str, str], body: bytes, used: str) -> bool:
    """False when an HTTP charset overrode a different encoding named in the XML prolog."""
    if "charset=" not in headers["content-type"].lower():
        return True
    m = re.match(rb"""(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", body)
    declared = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return codecs.lookup(declared).name == codecs.lookup(used).name
    except LookupError:
        return False


class _FastReader:
    """Walks an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom 1.0 tree the way feedparser's handlers
    would, into ``feed`` and ``entries`` mappings; raises _Unsure where it cannot."""

    def __init__(
        self, url: str, root: Any, declarations: dict[Any, list[tuple[str | None, str]]] | None
    ) -> None:
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.has_content = False            # feedparser's hasContent, reset after each entry
        self._url = url                     # feedparser's base URI: the Content-Location
        self._bases: dict[tuple[str, str | None], str] = {}
        self._keys: dict[str, str] = {}
        self._stored: dict[str, str] = {}   # extension element key: the key it is stored under
        self._text_attrs: dict[tuple[Any, ...], dict[str, str]] = {}
        # feedparser's namespaces_in_use and namespacemap, grown as declarations are met
        self.in_use: dict[str, str] = {}
        self._prefix_map: dict[str | None, str] = {}
        self._declarations = declarations
        self._declare(
            list(root.nsmap.items()) if declarations is None else declarations.get(root, []), below_root=False
        )

    # --- names ------------------------------------------------------------------------------

    def _declare(self, declarations: list[tuple[str | None, str]], below_root: bool = True) -> None:
        """feedparser's startPrefixMapping/track_namespace, for one element's declarations."""
        for prefix, uri in declarations:
            if not uri:
                continue
            if prefix and uri == "http://www.w3.org/1999/xlink" and below_root:
                raise _Unsure("an XLink declaration below the root (feedparser adds an attribute)")
            lower = uri.lower()
            if "backend.userland.com/rss" in lower:
                uri = lower = "http://backend.userland.com/rss"
            known = _FP_NAMESPACES.get(lower)
            if known is not None:
                self._prefix_map[prefix] = known
                self.in_use[known] = uri
            else:
                self.in_use[prefix or ""] = uri
        self._keys.clear()

    def key(self, el: Any) -> str:
        """feedparser's name for an element: "title", "ev_startdate", "xcal_dtstart".
        Call it once per element, in document order (it takes in the element's declarations)."""
        if self._declarations:
            declared = self._declarations.get(el)
            if declared:
                self._declare(declared)
        found = self._keys.get(el.tag)
        if found is None:
            found = self._keys[el.tag] = self._key(el.tag)
        return found

    def _key(self, tag: Any) -> str:
        if not isinstance(tag, str) or not tag.isascii():
            raise _Unsure("not a plain element name")
        ns, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        lower = ns.lower()
        if "backend.userland.com/rss" in lower:
            ns = lower = "http://backend.userland.com/rss"
        prefix = _FP_NAMESPACES.get(lower)
        name = local.lower()
        if prefix:
            name = f"{prefix}:{name}"
        elif ns:     # an unknown namespace goes by the first prefix declared for it
            declared = next((p for p, uri in self.in_use.items() if p and uri == ns), None)
            if declared:
                name = f"{declared}:{name}"
        name = name.lower()
        prefix, _, suffix = name.partition(":") if ":" in name else ("", "", name)
        prefix = self._prefix_map.get(prefix, prefix)
        return f"{prefix}_{suffix}" if prefix else suffix

    # --- attributes and values ----------------------------------------------------------------

    @staticmethod
    def attrs(el: Any) -> dict[str, str]:
        """The attributes as feedparser's strict parser hands them to its handlers."""
        items = el.items()
        if not items:
            return {}
        out: dict[str, str] = {}
        for name, value in items:
            if name[0] == "{" or not name.isascii():
                return _FastReader._qualified_attrs(items)
            out[name.lower()] = value
        if len(out) != len(items):
            raise _Unsure("two attributes with one name")
        for k in ("rel", "type"):
            if k in out:
                out[k] = out[k].lower()
        return out

    @staticmethod
    def _qualified_attrs(items: list[tuple[str, str]]) -> dict[str, str]:
        """attrs() with namespaced attributes: under "prefix:name" and under "name" too."""
        out: dict[str, str] = {}
        locals_: list[tuple[str, str]] = []
        for name, value in items:
            if not name.isascii():
                raise _Unsure("not a plain attribute name")
            if name[0] == "{":
                ns, _, local = name[1:].partition("}")
                prefix = _FP_NAMESPACES.get(ns.lower(), "")
                out[(f"{prefix}:{local}" if prefix else local).lower()] = value
            else:
                local = name
                out[local.lower()] = value
            locals_.append((local.lower(), value))
        if len({n for n, _ in locals_}) != len(locals_):
            raise _Unsure("two attributes with one local name")
        out.update(locals_)
        for k in ("rel", "type"):
            if k in out:
                out[k] = out[k].lower()
        return out

    def rebase(self, base: str, attrs: Mapping[str, str]) -> str:
        """feedparser's base URI inside an element (its xml:base, made absolute)."""
        given = attrs.get("xml:base", attrs.get("base")) or None if attrs else None
        found = self._bases.get((base, given))
        if found is None:
            if base:
                found = make_safe_absolute_uri(base, given or base) or base
            elif given:       # feedparser would not restore an empty base after the element
                raise _Unsure("xml:base in a document without a URL")
            else:
                found = ""
            self._bases[(base, given)] = found
        return found

    @staticmethod
    def lang(attrs: Mapping[str, str], inherited: str | None) -> str | None:
        value = attrs.get("xml:lang", attrs.get("lang"))
        if value == "":
            return None
        return inherited if value is None else value

    @staticmethod
    def value(raw: str | None, base: str | None = None) -> str:
        """What feedparser's pop() makes of an element's text (resolved against ``base``
        for the elements feedparser reads as URIs)."""
        out = (raw or "").strip()
        if base is not None and out:
            out = _fp_urljoin(base, out)
        if not out.isascii():
            try:    # feedparser's repair of UTF-8 read as Latin-1
                out = out.encode("iso-8859-1").decode("utf-8")
            except UnicodeError:
                pass
            if _C1_CONTROLS.search(out):
                out = out.translate(_FP_CP1252)
        return out

    @staticmethod
    def leaf(el: Any) -> None:
        if len(el):
            raise _Unsure("child elements where feedparser expects text")

    def text_attrs(self, el: Any, default_type: str, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
        """Attributes of a text construct (title, summary, content) that stays plain text
        (the result is shared between elements with the same attributes: read it only)."""
        self.leaf(el)
        items = el.items()
        if not items:
            return {}
        cache_key = (default_type, allowed, *items)
        attrs = self._text_attrs.get(cache_key)
        if attrs is None:
            attrs = self.attrs(el)
            if not _FP_MAP_TYPE(attrs.get("type", default_type)).startswith("text/"):
                raise _Unsure("a non-text content type (XHTML, base64)")
            if any(name not in _TEXT_ATTRS and name not in allowed for name in attrs):
                raise _Unsure("unexpected attributes on a text construct")
            self._text_attrs[cache_key] = attrs
        return attrs

    def inert_subtree(self, el: Any) -> None:
        """An element feedparser handles with its generic code only, down to every leaf."""
        for sub in el.iterdescendants():
            key = self.key(sub)
            if key in _FP_HANDLED or _reserved(key):
                raise _Unsure("a known element inside an unknown one")

    def parts(self, el: Any, allowed: frozenset[str]) -> None:
        for sub in el:
            self.leaf(sub)
            if self.key(sub) not in allowed:
                raise _Unsure("unexpected part of an image, text input or contributor")

    # --- document structure -----------------------------------------------------------------

    def read(self, root: Any) -> None:
        kind = root.tag
        attrs = self.attrs(root)
        lang = self.lang(attrs, None)
        base = self.rebase(self._url, attrs)
        if kind == "rss":
            channels = 0
            for child in root:
                key = self.key(child)
                if key == "channel":
                    channels += 1
                    self.channel(child, lang, base)
                else:
                    self.outside_feed(child, key)
            if channels != 1:
                raise _Unsure("not one channel")
        elif kind == "{" + _ATOM_NS + "}feed":
            self.children(root, lang, base)
        elif kind == "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF" and self.key(root) == "rdf_rdf":
            for child in root:
                key = self.key(child)
                if key == "channel":
                    self.channel(child, lang, base)
                elif key == "item":
                    self.entry(child, lang, base)
                else:
                    self.outside_feed(child, key)
        else:
            raise _Unsure("not an RSS, RDF or Atom 1.0 root")

    def outside_feed(self, el: Any, key: str) -> None:
        """RSS 1.0 image/textinput, or extension elements, next to the channel: inert."""
        if key == "image":
            self.parts(el, _IMAGE_PARTS)
        elif key == "textinput":
            self.parts(el, _TEXTINPUT_PARTS)
        elif key in _FP_HANDLED or _reserved(key):
            raise _Unsure(f"{key} outside the channel")
        else:
            self.inert_subtree(el)

    def channel(self, el: Any, lang: str | None, base: str) -> None:
        attrs = self.attrs(el)
        if "href" in attrs or "lastmod" in attrs:
            raise _Unsure("CDF channel attributes")
        self.children(el, self.lang(attrs, lang), self.rebase(base, attrs))

    def children(self, el: Any, lang: str | None, base: str) -> None:
        """The channel's (or Atom feed's) child elements, in document order."""
        feed = self.feed
        for child in el:
            key = self.key(child)
            if key in ("item", "entry"):
                self.entry(child, lang, base)
            elif key == "link":
                self.link(child, feed, base, in_entry=False)
            elif key in _IDS:
                self.guid(child, feed, base)
            elif key in _SUMMARIES:
                self.text_attrs(child, _SUMMARIES[key])
                value = self.value(child.text)
                if "summary" in feed and not self.has_content:
                    self.has_content = True          # feedparser reads it as content
                    feed["content"] = value
                elif key in ("summary", "itunes_summary"):
                    feed["summary"] = value
                else:
                    feed["subtitle"] = value
            elif key in _SUBTITLES:
                self.text_attrs(child, "text/plain")
                feed["subtitle"] = self.value(child.text)
            elif key in _AUTHORS:
                self.author(child, feed, base)
            elif key == "contributor":
                self.parts(child, _PERSON_PARTS)
            elif key == "image":
                self.parts(child, _IMAGE_PARTS)
            elif key == "textinput":
                self.parts(child, _TEXTINPUT_PARTS)
            elif key == "itunes_category":
                for sub in child.iterdescendants():
                    if self.key(sub) != "itunes_category":
                        raise _Unsure("unexpected part of an iTunes category")
            elif key in _INERT_IN_FEED:
                self.leaf(child)
            elif key in _FP_HANDLED or _reserved(key):
                raise _Unsure(f"feed element {key}")
            else:
                self.inert_subtree(child)

    # --- one entry --------------------------------------------------------------------------

    def entry(self, el: Any, lang: str | None, base: str) -> None:
        e: dict[str, Any] = {}
        attrs = self.attrs(el)
        if "href" in attrs or "lastmod" in attrs:
            raise _Unsure("CDF item attributes")
        about = attrs.get(self._prefix_map.get("rdf", "rdf") + ":about")
        if about:
            e["id"] = about
        lang = self.lang(attrs, lang)
        base = self.rebase(base, attrs)
        title_done = False      # feedparser keeps the first non-empty title
        keys = None if self._declarations else self._keys     # (the common case, inlined)
        value = self.value
        for child in el:
            key = keys.get(child.tag) if keys is not None else None
            if key is None:
                key = self.key(child)
            role = _ENTRY_ROLES.get(key) or ("unsure" if key in _FP_HANDLED else "extension")
            if role == "extension":
                stored = self._stored.get(key)
                if stored is None or len(child) or child.items() or key in _FP_RELATIVE:
                    self.extension(child, e, key, base)
                else:           # the common case of extension(), inlined
                    text = child.text
                    e[stored] = value(text) if text else ""
                continue
            if len(child) and role not in ("author", "contributor"):
                raise _Unsure("child elements where feedparser expects text")
            if role == "title":
                attrs = self.text_attrs(child, "text/plain")
                if title_done:
                    continue
                text = value(child.text)
                e["title"] = text
                language = self.lang(attrs, lang) if attrs else lang
                e["title_detail"] = {"language": language.replace("_", "-") if language else language}
                # media:title does not count as the entry's title for the ones that follow
                title_done = bool(text) and key != "media_title"
            elif role == "link":
                self.link(child, e, base, in_entry=True)
            elif role == "id":
                self.guid(child, e, base)
            elif role == "summary":
                self.text_attrs(child, _SUMMARIES[key])
                text = value(child.text)
                if "summary" in e and not self.has_content:
                    self.has_content = True      # a second description: feedparser's content
                    e.setdefault("content", []).append({"value": text})
                else:
                    e["summary"] = text
            elif role == "content":
                attrs = self.text_attrs(child, _CONTENTS[key], _CONTENT_ATTRS)
                text = value(child.text)
                self.has_content = True
                e.setdefault("content", []).append({"value": text})
                content_type = _FP_MAP_TYPE(attrs.get("type", _CONTENTS[key]))
                if content_type == "text/plain" or content_type in _FP_HTML_TYPES:
                    e.setdefault("summary", text)
            elif role == "category":
                self.category(child, e, key)
            elif role == "inert":
                pass
            elif role == "author":
                self.author(child, e, base)
            elif role == "keywords":
                if child.items():
                    raise _Unsure("attributes on a keywords element")
                for term in value(child.text).split(","):
                    if term.strip():
                        _add_tag(e.setdefault("tags", []), term.strip(), _KEYWORDS[key], None)
            elif role == "language":
                e["language"] = value(child.text)
            elif role == "contributor":
                self.parts(child, _PERSON_PARTS)
            elif role == "source":
                title_done = False       # an RSS <source>: feedparser forgets the title depth
            else:
                raise _Unsure(f"entry element {key}")
        self.has_content = False
        self.entries.append(e)

    def extension(self, el: Any, ctx: dict[str, Any], key: str, base: str) -> None:
        """An element feedparser does not know (ev:startdate, xCal:dtstart, g:location ...):
        its text under its key, or its attributes when it has any."""
        if len(el):
            raise _Unsure("child elements in an extension element")
        stored = self._stored.get(key)
        if stored is None:
            if _reserved(key):
                raise _Unsure(f"an element named like a structure: {key}")
            stored = self._stored[key] = _stored_key(key)
        if el.items():
            attrs = self.attrs(el)
            if stored in ("language", "dc_language"):
                raise _Unsure("attributes on a language element")
            ctx[stored] = attrs
        elif key in _FP_RELATIVE:
            ctx[stored] = self.value(el.text, self.rebase(base, {}))
        else:
            ctx[stored] = self.value(el.text)

    def link(self, el: Any, ctx: dict[str, Any], base: str, in_entry: bool) -> None:
        """feedparser's _start_link/_end_link."""
        self.leaf(el)
        attrs = self.attrs(el)
        base = self.rebase(base, attrs)
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = href
        if "href" in attrs:
            if attrs["rel"] == "alternate" and _FP_MAP_TYPE(attrs["type"]) in _FP_HTML_TYPES:
                ctx["link"] = _fp_urljoin(base, attrs["href"])
            return
        value = self.value(el.text, base)
        if "&" in value:
            if in_entry:
                value = value.replace("&amp;", "&")
            value = _FP_LINK_ENTITY.sub(r"&\g<1>", value)
        ctx["link"] = value

    def guid(self, el: Any, ctx: dict[str, Any], base: str) -> None:
        """feedparser's _start_guid/_end_guid (and Atom's id): a permalink is also the link."""
        self.leaf(el)
        attrs = self.attrs(el)
        is_link = attrs.get("ispermalink", "true") == "true"
        value = self.value(el.text, self.rebase(base, attrs) if is_link else None)
        ctx["id"] = value
        if is_link:
            ctx.setdefault("link", value)

    def category(self, el: Any, ctx: dict[str, Any], key: str) -> None:
        """feedparser's _start_category/_end_category (tags deduplicated as it does)."""
        self.leaf(el)
        attrs = self.attrs(el)
        tags = ctx.setdefault("tags", [])
        if key == "itunes_category":
            _add_tag(tags, attrs.get("text"), "http://www.itunes.com/", None)
        else:
            if key == "media_category":
                attrs.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
            _add_tag(tags, attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
        value = self.value(el.text)
        if not value:
            return
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            _add_tag(tags, value, None, None)

    def author(self, el: Any, ctx: dict[str, Any], base: str) -> None:
        """feedparser's author handling: an RSS "mail (Name)" text or Atom name/email/uri."""
        attrs = self.attrs(el)
        base = self.rebase(base, attrs)
        ctx.setdefault("authors", []).append({})
        text = [el.text or ""]           # the author's own text, as feedparser collects it
        for part in el:
            self.leaf(part)
            key = self.key(part)
            if key in ("name", "email"):
                _save_author(ctx, key, (part.text or "").strip())
            elif key in ("uri", "url", "homepage"):
                _save_author(ctx, "href", self.value(part.text, self.rebase(base, self.attrs(part))))
            elif key not in _FP_HANDLED and self.attrs(part):
                self.extension(part, ctx, key, base)    # Blogger's <gd:image src=.../>
                text.append(part.text or "")             # not pushed: its text is the author's
            else:
                raise _Unsure(f"author part {key}")
            text.append(part.tail or "")
        ctx["author"] = self.value("".join(text))
        _sync_author_detail(ctx)


def _stored_key(key: str) -> str:
    """The key a FeedParserDict stores ``key`` under ("date" is kept as "updated")."""
    stored = _FP_KEYMAP.get(key, key)
    return stored[0] if isinstance(stored, list) else stored


def _reserved(key: str) -> bool:
    return key in _RESERVED or _stored_key(key) in _RESERVED


def _add_tag(tags: list[dict[str, Any]], term: Any, scheme: Any, label: Any) -> None:
    if not term and not scheme and not label:
        return
    value = {"term": term, "scheme": scheme, "label": label}
    if value not in tags:
        tags.append(value)


def _save_author(ctx: dict[str, Any], key: str, value: str) -> None:
    """feedparser's _save_author, on plain dicts (the shared detail objects included)."""
    ctx.setdefault("author_detail", {})
    ctx["author_detail"][key] = value
    _sync_author_detail(ctx)
    ctx.setdefault("authors", [{}])
    ctx["authors"][-1][key] = value


def _sync_author_detail(ctx: dict[str, Any]) -> None:
    """feedparser's _sync_author_detail: "author" from the detail, or the detail from a
    "jo@example.org (Jo)" author string."""
    detail = ctx.get("authors", [{}])[-1]
    if detail:
        name, email = detail.get("name"), detail.get("email")
        if name and email:
            ctx["author"] = f"{name} ({email})"
        elif name:
            ctx["author"] = name
        elif email:
            ctx["author"] = email
        return
    author, email = ctx.get("author"), None
    if not author:
        return
    match = _FP_EMAIL.search(author)
    if match:
        email = match.group(0)
        author = author.replace(email, "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    if author or email:
        ctx.setdefault("author_detail", detail)
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email


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
    if city is None and not online and " - " in text:
        meetup = _MEETUP_CITY.search(text)
        if meetup:
            city = meetup.group("city").strip()
            if location is None:
                venue, address = _meetup_address(text, meetup.start())
    # (no phrase spans a line break: one search over both is a search over each)
    if _mentions_online(f"{text}\n{entry.title}"):
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
        cfp_deadline=(
            None if _lacks_words(text, _DEADLINE_WORDS) else textdates.find_deadline(text, source.timezone, ctx.now)
        ),
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


_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def _parse_when(value: str | None) -> datetime | date | None:
    """An ISO 8601 / RFC 822 / xCal basic value: a datetime (aware when it has an offset),
    or a date for a date-only value."""
    if not value:
        return None
    value = value.strip()
    if _DATE_ONLY.fullmatch(value):
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
    if "<" in fragment:
        fragment = _ANY_TAG.sub("", _BLOCK_TAGS.sub("\n", fragment))
    text = html.unescape(fragment)
    if "  " in text or "\t" in text or "\u00a0" in text:
        # runs of blanks never span a line break: one pass over the whole text will do
        text = _BLANKS.sub(" ", text)
    return "\n".join(line for raw in text.splitlines() if (line := raw.strip()))


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
    if "class=" not in fragment:       # (what _hcal_root needs, and a quicker test)
        return []
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


def _lacks_words(text: str, words: tuple[str, ...]) -> bool:
    """True when ``text`` contains none of ``words`` (lower-case ASCII) even the way a
    case-insensitive regular expression reads it: a cheap test before a slow search."""
    if not text.isascii() and any(c in text for c in _CASE_ODDITIES):
        return False
    lowered = text.lower()
    for word in words:
        if word in lowered:
            return False
    return True


def _mentions_online(text: str) -> bool:
    """``_ONLINE_TEXT.search(text)``, without scanning the text where it cannot match."""
    if not text.isascii() and any(c in text for c in _CASE_ODDITIES):
        return _ONLINE_TEXT.search(text) is not None
    lowered = text.lower()         # same length and positions as ``text`` here
    found = [at for word in _ONLINE_WORDS if (at := lowered.find(word)) >= 0]
    if not found:
        return False
    # a phrase starts at most 14 characters before its first such word ("in person and online")
    return _ONLINE_TEXT.search(text, max(0, min(found) - 14)) is not None


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
    stripped = location if _lacks_words(location, _HYBRID_WORDS) else _HYBRID_PLACE.sub("", location)
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
        return _join(base, link) if base else link
    except ValueError:
        return link


# Links urljoin returns unchanged whatever the (valid) base, and that feedparser's URI fix-up
# leaves alone: most links are like this, and urljoin costs more than the rest of an entry's
# link handling. An absolute http(s) URL (lower-case scheme, a plain host, no ";params", no
# empty "?" or "#", no blank or control character) ...
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[^;?#\x00-\x20\x7f]*)?(?:\?[^#\x00-\x20\x7f]+)?"
    r"(?:#[^\x00-\x20\x7f]+)?"
)
# ... or a URI whose scheme is not the base's and has no "//" authority ("tag:x.org,2026:1")
_OTHER_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(?!//)[^\t\r\n]*")


@functools.lru_cache(maxsize=64)
def _base_scheme(base: str) -> str | None:
    """The scheme urljoin reads in ``base``; None when it cannot parse it (it raises then)."""
    try:
        return urlsplit(base).scheme
    except ValueError:
        return None


def _joins_to_itself(base: str, link: str) -> bool:
    scheme = _base_scheme(base) if base else ""
    if scheme is None:
        return False
    if _PLAIN_URL.fullmatch(link):
        return True
    other = _OTHER_SCHEME.fullmatch(link)
    return other is not None and (not base or other.group(1).lower() != scheme)


def _join(base: str, link: str) -> str:
    """``urljoin(base, link)``, skipping the work when it would return ``link`` itself."""
    return link if _joins_to_itself(base, link) else urljoin(base, link)


def _fp_urljoin(base: str, uri: str) -> str:
    """feedparser's ``_urljoin`` (URI fix-up, '' on a ValueError), likewise."""
    return uri if _joins_to_itself(base, uri) else _urljoin(base, uri)


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
