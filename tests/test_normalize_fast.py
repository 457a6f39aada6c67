"""The fast paths of aggregator.normalize and aggregator.classify give what the plain versions gave.

clean_text reads HTML with lxml's tree where it used BeautifulSoup; canonical_url skips w3lib for
plain URLs; industries_for tries its regexes only where a word can start; the kind regexes are
regrouped. Each old version is kept here as the reference, and both are run over every
description-like string of the shared corpus and the eval mini-web (skipped when absent) and
over hostile strings.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path

import pytest
from helpers import require_corpus, require_eval

from aggregator import classify, normalize
from aggregator.config import default_industries
from aggregator.config_types import Industry

# ------------------------------------------------------------------ the old versions

_OLD_MARKUP = re.compile("[<\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff\ud800-\udfff]|&[#A-Za-z]")
_OLD_BLANKS = re.compile(r"[ \t\u00a0]+")


def old_clean_text(value: str | None, *, limit: int = 20000) -> str | None:
    from bs4 import BeautifulSoup

    if value is None:
        return None
    value = str(value)
    if _OLD_MARKUP.search(value):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            soup = BeautifulSoup(value, "lxml")
        for tag in soup(["script", "style", "noscript", "template"]):
            tag.decompose()
        for br in soup.find_all(["br"]):
            br.replace_with("\n")
        for block in soup.find_all(["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"]):
            block.insert_after("\n")
        value = soup.get_text()
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    value = normalize._CONTROL.sub("", value)
    lines = [_OLD_BLANKS.sub(" ", line).strip() for line in value.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return out[:limit] or None


def old_clean_line(value: str | None, *, limit: int = 500) -> str | None:
    text = old_clean_text(value, limit=limit * 4)
    if not text:
        return None
    return re.sub(r"\s+", " ", text).strip()[:limit] or None


def old_canonical_url(url: str | None) -> str | None:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    from w3lib.url import canonicalize_url

    if not url:
        return None
    url = url.strip()
    if not re.match(r"^(https?|file)://", url, re.I):
        return None
    try:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if not normalize._TRACKING.match(k)]
        url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/",
                          urlencode(query), ""))
        return canonicalize_url(url, keep_fragments=False)
    except ValueError:
        return None


def old_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def old_normalize_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower().strip()


_TOKEN = re.compile(r"[\w-]+")


_OLD_MATCHERS: dict[int, tuple[Mapping[str, Industry], list[tuple[str, re.Pattern[str], frozenset[str]]]]] = {}


def old_industries_for(title: str, description: str | None, tags: Iterable[str],
                       taxonomy: Mapping[str, Industry], hints: Iterable[str] = ()) -> list[str]:
    cached = _OLD_MATCHERS.get(id(taxonomy))
    if cached is None or cached[0] is not taxonomy:
        matchers = []
        for slug, ind in sorted(taxonomy.items()):
            words = {old_fold(w) for w in [*ind.keywords, *ind.synonyms, ind.label] if w.strip()}
            alts = sorted((re.escape(w) for w in words), key=len, reverse=True)
            firsts = frozenset(t[0] for t in (_TOKEN.findall(w) for w in words) if t)
            if alts:
                matchers.append((slug, re.compile(r"(?<![\w-])(" + "|".join(alts) + r")(?![\w-])"), firsts))
        cached = _OLD_MATCHERS[id(taxonomy)] = (taxonomy, matchers)
    patterns = cached[1]
    head = old_fold(" ".join([title, *tags]))
    body = old_fold((description or "")[:3000])
    head_tokens, body_tokens = set(_TOKEN.findall(head)), set(_TOKEN.findall(body))
    found = [h for h in hints if h in taxonomy]
    for slug, rx, firsts in patterns:
        if (not firsts.isdisjoint(head_tokens) and rx.search(head)) or (
                not firsts.isdisjoint(body_tokens) and len(rx.findall(body)) >= 2):
            found.append(slug)
    return classify.with_parents(found, taxonomy)    # not what changed: the matching above


_OLD_KIND_WORDS = [
    r"\bcall for (speakers|papers|proposals|talks)\b|\bcfp\b|\bspeak at\b|\bsubmit (a|your) talk\b",
    r"\b(career|job|jobs|hiring|recruit\w*|employer)s? (fair|expo|day|night|event)\b|\bjob fair\b|"
    r"\bferia de empleo\b|\bbanenmarkt\b|\bjobmesse\b|\bcareer fair\b",
    r"\bhack(athon|day| day| night)\b|\bdatathon\b|\bgame jam\b|\bbuildathon\b",
    r"\bawards?\b|\bnominations?\b|\bprize\b|\bpremios?\b|\bpreis\b",
    r"\bvolunteer\w*\b|\bvoluntari\w*\b",
    r"\bmentor\w*\b|\bmentoría\b|\bcoaching circle\b|\boffice hours\b",
    r"\bwebinar\b|\bwebcast\b|\bonline talk\b|\bseminario web\b",
    r"\bmixer\b|\bnetworking\b|\b(pitch|demo) night\b|\bshowcase\b|\bhappy hour\b|\bdialog(ue)?\b|"
    r"\bdialog\w+\b",
    r"\bworkshop\b|\bhands-on\b|\btraining\b|\bbootcamp\b|\bmasterclass\b|\btutorial\b|\bclinic\b|"
    r"\btaller\b|\bcursus\b|\bkurs\b|\blab\b|\bcourse\b|\binstitute\b|\bintensive\b|"
    r"\bbootcamp\b|\bacademy\b",
    r"\bconf(erence)?\b|\bsummit\b|\bcongress\b|\bsymposium\b|\bcon \d{4}\b|\bexpo\b|\bforum\b|"
    r"\bcongreso\b|\bconferencia\b|\bkonferenz\b|\bcongres\b|\bconvention\b|\bfestival\b|"
    r"\bjornadas?\b|\bweek\b|\bdays?\s+\d{4}\b|\bpycon\b|\w+conf\b|"
    r"(?<!open )\bday\b(?! of)|\bcumbre\b",
    r"\bmeetup\b|\bmeet-up\b|\buser group\b|\bencuentro\b|\bstammtisch\b|\bmeet ?&? ?greet\b|"
    r"\bbijeenkomst\b|\btreffen\b|\bmonthly\b|\bnight\b|\blightning talks\b|\bbook club\b|"
    r"\bcircle\b|\bcommunity call\b",
    r"\bnetworking\b|\bmixer\b|\bhappy hour\b|\bbreakfast\b|\bdrinks\b|\bsocial\b|\bmeet the\b|"
    r"\blunch\b|\bluncheon\b|\broundtable\b|\breception\b|\bopen day\b|\bopen house\b|\bevening\b|"
    r"\bafterwork\b|\bborrel\b|\bpitch night\b",
]
_OLD_KIND_RE = [re.compile(p, re.I) for p in _OLD_KIND_WORDS]


def old_first_kind(text: str, allowed: set[str] | None = None) -> str | None:
    for rx, (_, kind) in zip(_OLD_KIND_RE, classify._KIND_WORDS, strict=True):
        if (allowed is None or kind in allowed) and rx.search(text):
            return kind
    return None


# ------------------------------------------------------------------ real inputs

_INTERESTING = re.compile(r"[<&]")


def _json_strings(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        if _INTERESTING.search(value):
            out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _json_strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _json_strings(item, out)


def _feed_strings(path: Path, out: list[str]) -> None:
    import feedparser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = feedparser.parse(path.read_bytes(), resolve_relative_uris=False, sanitize_html=False)
        except Exception:     # feedparser's own bugs on the broken test feeds
            return
    for entry in parsed.entries:
        for key in ("title", "summary", "author", "location"):
            if isinstance(entry.get(key), str):
                out.append(entry[key])
        for content in entry.get("content") or ():
            if isinstance(content.get("value"), str):
                out.append(content["value"])
    for key in ("title", "subtitle"):
        if isinstance(parsed.feed.get(key), str):
            out.append(parsed.feed[key])


def _ical_strings(path: Path, out: list[str]) -> None:
    text = re.sub(r"\r?\n[ \t]", "", path.read_bytes().decode("utf-8", "replace"))
    for line in text.splitlines():
        if re.match(r"(SUMMARY|DESCRIPTION|LOCATION|X-ALT-DESC|COMMENT)[;:]", line, re.I) and ":" in line:
            value = line.split(":", 1)[1]
            out.append(value.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";"))


def _html_strings(path: Path, out: list[str]) -> None:
    """The page itself, and the markup of up to 150 of its text elements."""
    from lxml import etree, html

    text = path.read_bytes().decode("utf-8", "replace")
    out.append(text)
    try:
        doc = html.document_fromstring(text.encode("utf-8"))
    except (etree.ParserError, ValueError):
        return
    tags = ("p", "div", "section", "article", "li", "td", "span", "a", "h1", "h2", "h3", "dd", "pre", "ul",
            "table")
    fragments = (etree.tostring(el, encoding=str, method="html", with_tail=False) for el in doc.iter(*tags))
    out.extend([f for f in fragments if 10 <= len(f) <= 20000][:150])


@lru_cache(maxsize=2)
def strings_of(root: Path) -> tuple[str, ...]:
    """Feed titles and descriptions, calendar texts, pages and fragments of pages, and JSON
    strings with markup, of every file under root."""
    out: list[str] = []
    for path in sorted(root.rglob("*")):
        suffix = path.suffix.lower()
        if not path.is_file():
            continue
        if suffix in (".xml", ".rss", ".atom", ".rdf"):
            _feed_strings(path, out)
        elif suffix in (".ics", ".ical"):
            _ical_strings(path, out)
        elif suffix in (".html", ".htm"):
            _html_strings(path, out)
        elif suffix in (".json", ".jsonld", ".jsonl"):
            lines = path.read_text("utf-8", "replace").splitlines() if suffix == ".jsonl" else [path.read_text(
                "utf-8", "replace")]
            for line in lines:
                try:
                    _json_strings(json.loads(line), out)
                except ValueError:
                    pass
    return tuple(dict.fromkeys(out))


def _data_roots() -> list:
    return [pytest.param(require_corpus, id="corpus"), pytest.param(require_eval, id="eval")]


# ------------------------------------------------------------------ hostile inputs

HOSTILE = [
    "", " ", "\x00", "a\x00b<b>c</b>", "<p>a\x00b</p>", "&#0;x<b>", "\ufeff<p>x</p>", "x\ufeff<b>y</b>",
    "\ufffe\uffff<i>z</i>", "<b>a</b>\ud800x", "\udfff", "<p>\ud83d</p>", "<![CDATA[x<y]]>z", "<!-- c -->a<b>b",
    "<!-->a", "<!--", "<p>unclosed <b>bold <i>italic", "<", "<>", "</>", "a < b && c > d", "&", "&amp;&lt;&bogus;",
    "&#x1F600;&#xD800;&#55296;", "<div>" * 5000 + "deep" + "</div>" * 5000, "<b>" * 3000 + "x",
    "<div>" * 254 + "deep" + "</div>" * 254 + "after", "<b><i>" * 127 + "x" + "</i></b>" * 127 + "y",
    "<span>" * 199 + "x" + "</span>" * 199 + "y",
    "<script>alert(1)</script>after", "<style>p{}</style><p>x</p>", "<noscript>no</noscript>yes",
    "<template><p>t</p></template>shown", "<ruby>漢<rt>kan</rt><rp>(</rp></ruby>字", "<pre>  a\n\n  b  </pre>",
    "<textarea>\n\n</textarea><b>x</b>", "<b>a</b>\n\n\n<b>b</b>", "<b>a</b>\r\n\r\n<b>b</b>", "a<b></b>\x0c<b></b>b",
    "a<b></b>\r<b></b>b", "<p>a</p></body></html>\n\nxyz", "<html><body>a</body></html>\n<br>q",
    "x<!DOCTYPE html>\n\n<p>y", "<!DOCTYPE html><title>T</title><p>x", "<?php echo 1 ?>hi",
    "<?xml version='1.0'?><a>b</a>",
    "<html><head><meta charset=latin1></head><body>é</body></html>", "\x85x<b>y</b>", "e\x01\u0301<b>x</b>",
    "e\u0301<br>e\u0301", "<svg><text>s</text></svg>t", "<table><tr><td>a<td>b<tr><td>c</table>",
    "<select><option>o</select>", "<plaintext><b>x", "<xmp><b>x</b></xmp>", "<iframe><b>x</b></iframe>y",
    "<frameset><p>x", "tab\there<br>\u00a0\u00a0nbsp", "\u2028line\u2029sep<b>x</b>", "a" * 30000 + "<b>b</b>",
    "<p>" + "word " * 5000 + "</p>",
]

_TOKENS = [
    "<p>", "</p>", "<div>", "</div>", "<br>", "<br/>", "</br>", "<pre>", "</pre>", "<textarea>", "</textarea>",
    "<rt>", "</rt>", "<rp>", "</rp>", "<ruby>", "<script>", "</script>", "<style>", "</style>", "<noscript>",
    "</noscript>", "<template>", "</template>", "<b>", "</b>", "<li>", "</li>", "<tr>", "<td>", "</tr>", "<h1>",
    "</h1>", "<html>", "<body>", "</body>", "</html>", "<head>", "<title>", "</title>", "<!-- c -->",
    "<!DOCTYPE html>", "<?php x ?>", "<![CDATA[x<y]]>", "&amp;", "&nbsp;", "&#0;", "&#10;", "&bogus;", "&", "<",
    ">", "\x00", "\x0c", "\r\n", "\r", "\n", "\n\n", " ", "  ", "\t", "word", "Wörd", "日本", "\u00a0", "\x85",
    "<xmp>", "</xmp>", "<plaintext>", "<iframe>", "</iframe>", "<table>", "</table>", "<select>", "<option>",
    "<frameset>", "<p", "<!--", "-->", "\ufeff", "e\u0301", "<P>", "<BR>", "<svg><text>s</text></svg>",
]


def token_soup(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_TOKENS) for _ in range(rnd.randint(1, 25))) for _ in range(count)]


# ------------------------------------------------------------------ clean_text


def _same_text(values: Iterable[str]) -> Iterator[tuple[str, str | None, str | None]]:
    """(value, old, new) for each value where the two differ; a value the old version could not
    read (a lone surrogate) is compared as U+FFFD, which the new one reads it as."""
    for value in values:
        try:
            old = old_clean_text(value)
        except UnicodeEncodeError:
            old = old_clean_text(re.sub("[\ud800-\udfff]", "\ufffd", value))
        new = normalize.clean_text(value)
        if old != new:
            yield value, old, new


@pytest.mark.parametrize("root", _data_roots())
def test_clean_text_reads_real_markup_as_beautifulsoup_did(root) -> None:  # type: ignore[no-untyped-def]
    strings = strings_of(root())
    # (pages with an </html> are read by BeautifulSoup itself: comparing them would only cost time)
    markup = [s for s in strings if _OLD_MARKUP.search(s) and not normalize._tree_differs(s)]
    assert len(markup) > 500, "too few description-like strings were found"
    differ = list(_same_text(markup))
    assert not differ, f"{len(differ)} of {len(markup)} differ, e.g. {differ[0][0][:300]!r}: {differ[0][1:]!r}"


def test_clean_text_reads_hostile_markup_as_beautifulsoup_did() -> None:
    differ = list(_same_text(HOSTILE + token_soup(seed=7, count=3000)))
    assert not differ, f"{len(differ)} differ, e.g. {differ[0]!r}"


def test_clean_text_never_fails_on_a_lone_surrogate() -> None:
    # BeautifulSoup raised UnicodeEncodeError here: the surrogate now reads as U+FFFD
    assert normalize.clean_text("<b>a</b>\ud800x") == "a\ufffdx"
    assert normalize.clean_line("<i>\udfff</i>") == "\ufffd"


def test_clean_line_folds_as_before() -> None:
    values = [*(h for h in HOSTILE if len(h) < 1000), "  Data   Day\t2027 ", "Café\u2003Berlin", "x" * 2000 + " y",
              "a\nb", "<b>T</b>itle"]
    for limit in (500, 60, 3):
        for value in values:
            try:
                old = old_clean_line(value, limit=limit)
            except UnicodeEncodeError:
                continue
            assert normalize.clean_line(value, limit=limit) == old, (value[:100], limit)


def test_clean_text_html_fast_path_output() -> None:
    """What the lxml reading does, by example (BeautifulSoup's rules)."""
    assert normalize.clean_text("<p>One &amp; two</p><p>Three<br>four</p>") == "One & two\nThree\nfour"
    assert normalize.clean_text("<b>a</b>\n\n<b>b</b>") == "a\nb"           # blanks alone: one newline
    assert normalize.clean_text("<pre>a\n\n\nb</pre>") == "a\n\nb"
    assert normalize.clean_text("<ruby>漢<rt>kan</rt></ruby>字<script>x()</script>") == "漢字"
    assert normalize.clean_text("<p>a</p></html>\n\nafter") == "a\n\nafter"  # read by BeautifulSoup


# ------------------------------------------------------------------ canonical_url

URLS = [
    "http://Example.COM/Path/To?utm_source=x&b=2&a=1#frag", "HTTPS://EXAMPLE.com", "http://a.com:80/x",
    "http://a.com:080/x", "http://a.com:65535/x", "http://a.com:65536/", "http://a.com:0/", "http://a.com:/",
    "http://a.com./x", "http://a..com/x", "http://xn--bcher-kva.de/x", "http://bücher.de/x", "http://a.com//x",
    "http://a.com/a/./b", "http://a.com/a/../b", "http://a.com/.well-known/x", "http://a.com/a;b=c",
    "http://a.com/x%7e%2F", "http://a.com/'(x)*!$,=:@&+", "http://a.com", "http://a.com/x~y_z-1.html",
    "http://user:pw@A.com/", "http://a.com/|x", "http://a.com/ä", "http://[::1]:8080/x", "file:///tmp/x",
    "ftp://a.com/x", "javascript:alert(1)", "http://a.com/ſ", "http://\u212aelvin.com/", "http://a.com/x y",
    " http://a.com/x ", "http://a.com/x\t", "http://" + "a" * 70 + ".com/", "http://a.com/?", "http://a.com/#",
    "http://127.0.0.1:58697/e/global-retail-feed-0001/x-000014.html", "https://www.meetup.com/pydata-berlin/events/1/",
]


@lru_cache(maxsize=2)
def urls_of(root: Path) -> tuple[str, ...]:
    """Every URL written in a file under root (the eval site's {BASE} as a host)."""
    found = re.compile(r"(?:https?|file)://[^\s\"'<>)\]]+", re.I)
    urls: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.stat().st_size < 5_000_000:
            text = path.read_bytes().decode("utf-8", "replace").replace("{BASE}", "http://127.0.0.1:8000")
            urls.extend(found.findall(text))
    return tuple(dict.fromkeys(urls))


@pytest.mark.parametrize("root", _data_roots())
def test_canonical_url_is_as_before_on_real_urls(root) -> None:  # type: ignore[no-untyped-def]
    urls = urls_of(root())
    assert len(urls) > 300
    differ = [(u, old_canonical_url(u), normalize.canonical_url(u)) for u in urls
              if old_canonical_url(u) != normalize.canonical_url(u)]
    assert not differ, f"{len(differ)} of {len(urls)} differ, e.g. {differ[:3]!r}"


def test_canonical_url_is_as_before_on_odd_urls() -> None:
    for url in URLS:
        assert normalize.canonical_url(url) == old_canonical_url(url), url


# ------------------------------------------------------------------ classify

ODD_TAXONOMY = {
    "dotnet": Industry("dotnet", ".NET", [".net", "c#", "asp.net core"]),
    "cpp": Industry("cpp", "C++", ["c++", "++", "data"], parent="dotnet"),
    "data": Industry("data", "Data", ["data", "data science", "big data", "data-driven", "données", "ai/ml"]),
    "symbols": Industry("symbols", "&", ["&", "#hashtag", "--x"]),
    "empty": Industry("empty", " ", []),
}

TEXTS = [
    "Data Science meetup: big data and data", "data data", "big data big data", ".NET Conf and .net core",
    "ASP.NET Core .NET", "C++ and c++ and C#", "cafe & data", "#hashtag #hashtag", "--x --x", "données données",
    "Donne\u0301es and DONNÉES", "datadata data-driven-x data_x", "ai/ml, AI/ML", "ſcience Kelvin \u212a",
    "İstanbul data Data", "",
]


def _texts(strings: Iterable[str]) -> list[str]:
    """The hand-written texts, and each string's text as clean_text gives it (the first 3,000
    characters: all that industries_for reads)."""
    return list(dict.fromkeys([*TEXTS, *((normalize.clean_text(s) or "")[:3000] for s in strings)]))


def _check_classify(texts: list[str], taxonomy: Mapping[str, Industry]) -> None:
    for i, text in enumerate(texts):
        title, description = texts[i - 1][:200], text
        tags = [t for t in texts[i - 2][:60].split(",") if t]
        assert classify._fold(text) == old_fold(text), text[:200]
        assert classify._tokens(text) == set(_TOKEN.findall(text)), text[:200]
        assert normalize._fold(text) == old_normalize_fold(text), text[:200]
        assert classify.industries_for(title, description, tags, taxonomy) == old_industries_for(
            title, description, tags, taxonomy), (title, description[:300], tags)
        for allowed in (None, classify._DESCRIPTION_KINDS):
            assert classify._first_kind(text[:600], allowed) == old_first_kind(text[:600], allowed), text[:300]
            assert classify._first_kind(title, allowed) == old_first_kind(title, allowed), title


@pytest.mark.parametrize("root", _data_roots())
def test_classification_is_as_before_on_real_texts(root) -> None:  # type: ignore[no-untyped-def]
    texts = _texts(s for s in strings_of(root()) if len(s) < 50000)
    _check_classify(texts, default_industries())


def test_classification_is_as_before_on_odd_words_and_texts() -> None:
    texts = [*TEXTS, *HOSTILE[:40], *token_soup(seed=3, count=300)]
    _check_classify(texts, ODD_TAXONOMY)
    _check_classify(texts, default_industries())
    for text in TEXTS:
        upper = text.upper()
        assert classify._first_kind(upper) == old_first_kind(upper)


def test_case_sensitive_kind_patterns_only_without_capitals() -> None:
    assert not classify._case_sensitive(r"\bfoo\b|\Bbar\W").flags & re.I
    assert classify._case_sensitive(r"\bFoo\b").flags & re.I
    assert classify._case_sensitive(r"[A-Z]+").flags & re.I
