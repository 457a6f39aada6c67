"""spiders/feed.py's lxml reader gives what feedparser gives.

The feed parser reads well-formed RSS 2.0/0.9x, RSS 1.0 and Atom 1.0 documents with its own
lxml walk (``_read_xml_fast``) and falls back to feedparser for anything else. Every document
here is read both ways (the fast path, and feedparser with the fast path switched off);
wherever the fast path took a document, the two must agree: the same ``_Entry`` values and
channel, and the same ParseResult (events, groups, warnings, compared by repr so that an aware
datetime keeps its zone). The inputs: edge cases written here, feeds generated at random from
snippets of feedparser's quirks, the hostile feeds of tests/reliability, a synthetic benchmark
corpus (bench/synth.py), the eval mini-web's feeds and every XML feed of the shared corpus.
The shortcuts taken on the way (URL joins, online and deadline phrases, HTML to text) are
checked against what they replace.
"""

from __future__ import annotations

import html
import random
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from feedparser.urls import _urljoin as feedparser_urljoin
from helpers import load_module, require_corpus, require_eval, synth_documents
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aggregator import textdates
from aggregator.config_types import SourceConfig
from spiders import feed
from spiders.base import ParseContext, ParseResult, SourceError

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
SOURCE = SourceConfig(name="fast-path", type="feed", url="http://example.org/feeds/events.xml",
                      group="A group", timezone="Europe/Berlin")


def read_both(body: bytes, url: str = SOURCE.url, headers: dict[str, str] | None = None) -> tuple[Any, Any]:
    """(the fast path's (entries, channel) or None, feedparser's (entries, channel) or its error)."""
    ctx = ParseContext(now=NOW, headers=headers or {})
    fast = feed._read_xml_fast(body, url, ctx)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feed, "_read_xml_fast", lambda *args: None)
        try:
            slow = feed._read_xml_feed(body, url, ctx, ParseResult())
        except SourceError as error:
            slow = f"SourceError: {error}"
    return fast, slow


def parse_both(body: bytes, source: SourceConfig = SOURCE, headers: dict[str, str] | None = None,
               ) -> tuple[str, str, bool]:
    """(the fast path's result, feedparser's result, whether the fast path took the document),
    each result as the repr of (events, groups, warnings) or the SourceError's message."""
    ctx = ParseContext(now=NOW, headers=headers or {})
    taken = feed._read_xml_fast(body, source.url, ctx) is not None
    fast = outcome(body, source, ctx)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feed, "_read_xml_fast", lambda *args: None)
        slow = outcome(body, source, ctx)
    return fast, slow, taken


def outcome(body: bytes, source: SourceConfig, ctx: ParseContext) -> str:
    try:
        result = feed.parse(body, source.url, source, ctx)
    except SourceError as error:
        return f"SourceError: {error}"
    return repr((result.events, result.groups, result.warnings))


# --- edge cases -----------------------------------------------------------------------------

NS = ('xmlns:ev="http://purl.org/rss/1.0/modules/event/" xmlns:xCal="urn:ietf:params:xml:ns:xcal" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0"')


def rss(items: str, channel: str = "<title>c</title><link>/home</link>", prolog: str = "",
        encoding: str = "utf-8") -> bytes:
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n{prolog}<rss version="2.0" {NS}><channel>'
            f"{channel}{items}</channel></rss>").encode(encoding, "xmlcharrefreplace")


def atom(entries: str, feed_head: str = '<title>f</title><link href="/"/>', root_attrs: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            f'xmlns:xCal="urn:ietf:params:xml:ns:xcal"{root_attrs}>{feed_head}{entries}</feed>').encode()


EV = "<ev:startdate>2027-02-02T10:00:00</ev:startdate>"
XC = "<xCal:dtstart>20270203T100000Z</xCal:dtstart>"

CASES = [
    ("rss with the event module", rss(f"<item><title>T &amp; U</title><link>/e/1</link>{EV}"
                                      "<ev:location>Hall 1, Berlin</ev:location></item>"), True),
    ("atom with xcal", atom(f'<entry><title type="html">A &lt;b&gt;B&lt;/b&gt;</title>'
                            f'<link href="/a"/><id>tag:x,2026:1</id>{XC}</entry>'), True),
    ("rss 1.0", b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                b'xmlns="http://purl.org/rss/1.0/" xmlns:ev="http://purl.org/rss/1.0/modules/event/">'
                b'<channel rdf:about="/"><title>c</title><link>/</link><description>d</description>'
                b'<items><rdf:Seq><rdf:li resource="/1"/></rdf:Seq></items></channel>'
                b'<item rdf:about="/1"><title>One</title>' + EV.encode() + b"</item></rdf:RDF>", True),
    ("guid permalinks", rss(f"<item><guid>123</guid>{EV}</item><item><guid isPermaLink=\"false\">abc</guid>"
                            f"{EV}</item><item><guid isPermaLink=\"False\">/x</guid>{EV}</item>"), True),
    ("first non-empty title", rss(f"<item><title></title><title>Two</title><title>Three</title>{EV}</item>"),
     True),
    ("a source resets the title", rss(f"<item><title>One</title><source url=\"http://s/\">S</source>"
                                      f"<title>Two</title>{EV}</item>"), True),
    ("two descriptions", rss(f"<item><title>t</title><description>short</description>"
                             f"<description>the longer one</description>{EV}</item>"), True),
    ("content:encoded", rss(f"<item><title>t</title><content:encoded><![CDATA[<p>x</p>]]></content:encoded>"
                            f"<description>d</description>{EV}</item>"), True),
    ("authors", rss(f"<item><title>t</title><author>jo@example.org (Jo)</author>{EV}</item>"
                    f"<item><title>u</title><dc:creator>Creator</dc:creator>{EV}</item>",
                    channel="<title>c</title><managingEditor>ed@example.org</managingEditor>"), True),
    ("atom authors", atom(f"<entry><title>t</title><author><name>N</name><email>n@x.org</email></author>"
                          f"<author><name>M</name></author>{XC}</entry>"
                          f'<entry><title>u</title><author><name>G</name><gd:image xmlns:gd="urn:gd" '
                          f'src="/i"/></author>{XC}</entry>'), True),
    ("categories", rss(f"<item><title>t</title><category>A</category><category>A</category>"
                       f'<category domain="d">B</category><dc:subject>S</dc:subject>{EV}</item>'), True),
    ("mojibake and cp1252", rss(f"<item><title>Ã©tÃ© &#x93;q&#x94;</title>{EV}</item>"), True),
    ("xml:base", atom(f'<entry xml:base="http://other.example/d/"><title>t</title><link href="rel"/>'
                      f"<id>rel-id</id>{XC}</entry>", root_attrs=' xml:base="/base/"'), True),
    ("namespaces declared below the root", atom(
        '<entry><title>t</title><x:dtstart xmlns:x="urn:ietf:params:xml:ns:xcal">2027-02-05</x:dtstart>'
        '<media:thumbnail xmlns:media="http://search.yahoo.com/mrss/" url="/t"/></entry>'), True),
    ("the xcal namespace as the default", rss(
        '<item><title>t</title><dtstart xmlns="urn:ietf:params:xml:ns:xcal">2027-02-05</dtstart></item>'), True),
    ("an extension element with attributes", rss(
        f'<item><title>t</title><ev:startdate tz="x">2027-02-02</ev:startdate>{EV}</item>'), True),
    ("an http charset", rss(f"<item><title>Café</title>{EV}</item>"), True),
    ("latin-1 declared", rss(f"<item><title>Café</title>{EV}</item>", encoding="iso-8859-1"), True),
    # declined: feedparser's way is too odd to copy, or the document is not plain
    ("a doctype", rss(f"<item><title>t</title>{EV}</item>", prolog='<!DOCTYPE rss [<!ENTITY e "x">]>\n'),
     False),
    ("not well-formed", rss(f"<item><title>a & b</title>{EV}</item>"), False),
    ("an html entity", rss(f"<item><title>a&nbsp;b</title>{EV}</item>"), False),
    ("xhtml content", atom('<entry><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/'
                           f'xhtml">x</div></content>{XC}</entry>'), False),
    ("base64 content", atom(f'<entry><title>t</title><content type="image/png">eA==</content>{XC}</entry>'),
     False),
    ("markup in a title", rss(f"<item><title>a<b>c</b></title>{EV}</item>"), False),
    ("an unknown element with children", rss(f"<item><title>t</title><g:x><g:start>2027-03-01"
                                             f"</g:start></g:x>{EV}</item>"), False),
    ("georss", rss(f'<item><title>t</title><georss:point xmlns:georss="http://www.georss.org/georss">'
                   f"1 2</georss:point>{EV}</item>"), False),
    ("atom 0.3", b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>f</title><entry>'
                 b"<title>t</title><issued>2027-01-01T00:00:00Z</issued></entry></feed>", False),
    ("no entries", rss(""), False),
    ("an html page", b"<html><body><p>hello</p></body></html>", False),
]


@pytest.mark.parametrize("name, body, taken", CASES, ids=[case[0] for case in CASES])
def test_edge_cases_give_the_same_result(name: str, body: bytes, taken: bool) -> None:
    fast, slow, was_taken = parse_both(body)
    assert was_taken == taken, f"{name}: the fast path {'took' if was_taken else 'refused'} it"
    assert fast == slow
    fast_read, slow_read = read_both(body)
    assert fast_read is None or fast_read == slow_read


@pytest.mark.parametrize(
    "headers, taken",
    [({}, True), ({"content-type": "text/xml"}, True), ({"content-type": "application/rss+xml; charset=utf-8"}, True),
     ({"content-type": "application/rss+xml; charset=iso-8859-1"}, False),    # disagrees with the prolog
     ({"content-type": "text/html; charset=utf-8"}, False)],                  # feedparser: not XML (bozo)
)
def test_http_headers(headers: dict[str, str], taken: bool) -> None:
    body = rss(f"<item><title>Caf\u00e9 \u2013 Z\u00fcrich</title>{EV}</item>")
    fast, slow, was_taken = parse_both(body, headers=headers)
    assert was_taken == taken
    assert fast == slow


def test_the_xml_is_read_safely() -> None:
    """No entity is expanded nor fetched: a DOCTYPE anywhere sends the document to feedparser,
    whose defused reading the feed tests check."""
    bomb = rss(f"<item><title>&l2;</title>{EV}</item>", prolog=(
        '<!-- <x> --><!DOCTYPE rss [<!ENTITY l0 "lol"><!ENTITY l1 "&l0;&l0;&l0;&l0;">'
        '<!ENTITY l2 "&l1;&l1;&l1;&l1;">]>\n'))
    assert feed._read_xml_fast(bomb, SOURCE.url, ParseContext(now=NOW)) is None
    external = rss(f"<item><title>&xxe;</title>{EV}</item>",
                   prolog='<!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>\n')
    assert feed._read_xml_fast(external, SOURCE.url, ParseContext(now=NOW)) is None


@given(st.binary(max_size=300) | st.sampled_from([c[1] for c in CASES]).flatmap(
    lambda body: st.integers(0, len(body)).map(lambda cut: body[:cut])))
def test_any_bytes_give_a_reading_or_none(body: bytes) -> None:
    read = feed._read_xml_fast(body, SOURCE.url, ParseContext(now=NOW))
    assert read is None or isinstance(read, tuple)


# --- feedparser's quirks, at random -----------------------------------------------------------

TEXTS = ["Plain", "T &amp; U", "  spaced\n text  ", "", "Ã©tÃ© mojibake", "&#x93;cp&#x94; &#x80;",
         "<![CDATA[C <b>x</b> & y]]>", "caf\u00e9 \u2013 \u4e2d", "&lt;b&gt;bold&lt;/b&gt; &amp;amp;",
         "When: 3 March 2027, 18:00\nWhere: Hall 1, Berlin", "a<!-- c -->b", "Online webinar"]
DATES = ["2027-02-02T10:00:00", "2027-02-03T10:00:00+01:00", "20270204T100000Z", "2027-02-05", " 2027-02-06 ", ""]
URLS = ["/rel/1", "rel2", "http://a.example/x?a=1&amp;b=2", "http://a.example/x?a=1&amp;amp;b;", "",
        "  http://b.example/y  ", "https://c.example/z#f", "tag:x.example,2026:1", "//proto.example/p",
        "http:///three/slashes", "javascript:alert(1)", "HTTP://UPPER.example/", "http://a.example/p;q?"]
XCAL = "urn:ietf:params:xml:ns:xcal"


def _rss_item(r: random.Random, p: dict[str, str]) -> str:
    """Children of an RSS item, feedparser-wise interesting ones mostly."""
    out = []
    for _ in range(r.randint(1, 12)):
        k = r.randrange(14)
        lang = r.choice(["", "", ' xml:lang="de_AT"', ' xml:lang=""', ' lang="fr"'])
        text, url = r.choice(TEXTS), r.choice(URLS)
        if k == 0:
            out.append(r.choice([f"<title{lang}>{text}</title>", f"<dc:title>{text}</dc:title>",
                                 f"<media:title>{text}</media:title>"]))
        elif k == 1:
            rel = r.choice(["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"'])
            typ = r.choice(["", ' type="text/html"', ' type="TEXT/HTML"', ' type="application/pdf"'])
            out.append(r.choice([f"<link>{url}</link>", f'<atom:link{rel}{typ} href="{url}"/>']))
        elif k == 2:
            perm = r.choice(["", ' isPermaLink="false"', ' isPermaLink="true"', ' isPermaLink="False"'])
            out.append(f"<guid{perm}>{r.choice([*URLS, '123', 'abc def'])}</guid>")
        elif k == 3:
            tag = r.choice(["description", "description", "dc:description", "itunes:summary", "media:description",
                            "content:encoded"])
            typ = r.choice(["", "", ' type="html"', ' type="text/plain"'])
            out.append(f"<{tag}{typ}>{text}</{tag}>")
        elif k == 4:
            tag = r.choice(["author", "dc:creator", "itunes:author", "managingEditor", "dc:author"])
            val = r.choice(["jo@example.org (Jo Smith)", "jo@example.org", "Jo Smith", "Jo &lt;jo@example.org&gt;",
                            "", "(Only Name)"])
            out.append(f"<{tag}>{val}</{tag}>")
        elif k == 5:
            tag = r.choice(["category", "category", "dc:subject", "media:category"])
            attr = r.choice(["", "", ' domain="d"', ' term="tt"', ' label="L"'])
            out.append(f"<{tag}{attr}>{r.choice(['A', 'B', '', ' A '])}</{tag}>")
            out.append(r.choice(["", '<itunes:category text="IT"/>', "<itunes:keywords>k1, k2,,k3</itunes:keywords>",
                                 "<media:keywords>m1,m2</media:keywords>"]))
        elif k == 6:
            out.append(r.choice(["<language>en-US</language>", "<dc:language>fr</dc:language>", "<language/>"]))
        elif k in (7, 8):
            name = r.choice(["startdate", "enddate", "location", "organizer", "type"])
            val = r.choice(DATES) if "date" in name else r.choice(["Hall 1, Berlin, Germany", "mailto:x@y.org",
                                                                   "Online", "workshop", ""])
            attr = r.choice(["", "", ' tz="UTC"'])
            out.append(f"<{p['ev']}:{name}{attr}>{val}</{p['ev']}:{name}>")
        elif k in (9, 10):
            name = r.choice(["dtstart", "dtend", "location", "organizer", "categories"])
            val = r.choice(DATES) if name.startswith("dt") else r.choice(["Room 2, Dublin", "mailto:o@x.org", "meetup"])
            attr = r.choice(["", "", ' value="DATE"'])
            out.append(f'<{name} xmlns="{XCAL}"{attr}>{val}</{name}>' if not p["xCal"]
                       else f"<{p['xCal']}:{name}{attr}>{val}</{p['xCal']}:{name}>")
        elif k == 11:
            name = r.choice(["start", "end", "location", "event_date_range"])
            val = ("2027-02-04T10:00:00 2027-02-04T12:00:00" if name == "event_date_range"
                   else r.choice(DATES) if name in ("start", "end") else "Expo, Madrid")
            out.append(f"<{p['g']}:{name}>{val}</{p['g']}:{name}>")
        elif k == 12:
            out.append(r.choice([
                "<location>Bare Place, Paris</location>", "<dtstart>2027-02-07T09:00:00</dtstart>",
                "<comments>/c/1</comments>", "<foo:bar>x</foo:bar>", '<foo:bar a="1">x</foo:bar>',
                "<date>2027-01-01</date>", "<foo:language>xx</foo:language>", "<Location>Upper</Location>",
                "<pubDate>Tue, 29 Dec 2026 18:55:00 +0000</pubDate>", '<enclosure url="/e.mp3" length="1"/>',
                '<source url="http://s.example/">Src</source>', '<media:thumbnail url="/t.jpg"/>',
                "<itunes:duration>1:00</itunes:duration>", "<itunes:subtitle>sub</itunes:subtitle>",
                '<foo:x xmlns:foo="http://example.com/foo2">inline</foo:x>',
                '<xc:dtstart xmlns:xc="urn:ietf:params:xml:ns:xcal">2027-03-02T10:00:00</xc:dtstart>',
                '<link xml:base="http://other.example/d/">rel</link>', '<guid xml:base="/base/">g</guid>',
                '<atom10:link xmlns:atom10="http://www.w3.org/2005/Atom" rel="alternate" href="/a10"/>',
                '<zz:location xmlns:zz="http://base.google.com/ns/1.0">ZZ Hall, Rome</zz:location>']))
        else:
            out.append(f"<title>{text}</title><link>{url}</link>")
    return "".join(out)


def _channel(r: random.Random) -> str:
    return "".join(r.choice([
        "<title>Chan</title>", f"<link>{r.choice(URLS)}</link>", f"<description>{r.choice(TEXTS)}</description>",
        f"<itunes:summary>{r.choice(TEXTS)}</itunes:summary>", f"<itunes:subtitle>{r.choice(TEXTS)}</itunes:subtitle>",
        "<managingEditor>ed@example.org (Ed)</managingEditor>", "<dc:creator>DC Creator</dc:creator>",
        '<atom:link rel="self" href="/self"/>', '<atom:link href="/alternate"/>', "<language>en</language>",
        "<image><title>I</title><url>/i.png</url><link>/home</link></image>", f"<guid>{r.choice(URLS)}</guid>",
        "<textInput><title>S</title><description>d</description><name>q</name><link>/s</link></textInput>",
        "<category>cat</category>", "<generator>gen</generator>", "<ttl>60</ttl>", "<author>Chan Author</author>",
        '<itunes:category text="A"><itunes:category text="B"/></itunes:category>',
        "<foo:meta><foo:x>1</foo:x></foo:meta>",
    ]) for _ in range(r.randint(0, 6)))


def _atom_entry(r: random.Random, p: dict[str, str]) -> str:
    out = []
    for _ in range(r.randint(1, 12)):
        k = r.randrange(9)
        text, url = r.choice(TEXTS), r.choice(URLS)
        if k == 0:
            typ = r.choice(["", ' type="text"', ' type="html"'])
            lang = r.choice(["", ' xml:lang="en_GB"', ' xml:lang=""'])
            out.append(f"<title{typ}{lang}>{text}</title>")
        elif k in (1, 2):
            rel = r.choice(["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"', ' rel="related"'])
            typ = r.choice(["", ' type="text/html"', ' type="application/xhtml+xml"', ' type="text/plain"'])
            attr = r.choice(["href", "href", "url", "uri"])
            out.append(f'<link{rel}{typ} {attr}="{url}"/>')
        elif k == 3:
            out.append(f"<id>{url}</id>")
        elif k == 4:
            tag = r.choice(["summary", "content", "content"])
            src = ' src="/src"' if tag == "content" and r.random() < 0.1 else ""
            typ = r.choice(["", ' type="text"', ' type="html"', ' type="text/html"'])
            out.append(f"<{tag}{typ}{src}>{text}</{tag}>")
        elif k == 5:
            parts = "".join(r.sample(["<name>N1</name>", "<name>N2</name>", "<email>e@example.org</email>",
                                      "<uri>/people/1</uri>", '<gd:image xmlns:gd="urn:gd" src="/i"/>', " text "],
                                     r.randint(0, 3)))
            out.append(r.choice([f"<author>{parts}</author>", "<contributor><name>C</name></contributor>"]))
        elif k == 6:
            attrs = r.choice([' term="t"', ' term="t" scheme="s"', ' label="L"', ""])
            out.append(f"<category{attrs}/>")
        elif k == 7:
            name = r.choice(["dtstart", "dtend", "location", "organizer", "categories"])
            val = r.choice(DATES) if name.startswith("dt") else r.choice(["Room 2, Dublin", "Online", "conference"])
            out.append(f"<{p['xCal']}:{name}>{val}</{p['xCal']}:{name}>" if p["xCal"]
                       else f'<{name} xmlns="{XCAL}">{val}</{name}>')
        else:
            out.append(r.choice(["<published>2026-12-11T11:39:00Z</published>", "<rights>r</rights>",
                                 "<ev:startdate>2027-02-09T13:00:00Z</ev:startdate>", "<foo:bar>fb</foo:bar>",
                                 "<dc:language>nl</dc:language>"]))
    return "".join(out)


def random_feed(r: random.Random) -> tuple[bytes, str, dict[str, str]]:
    """A random RSS 2.0, Atom 1.0 or RSS 1.0 document, its URL and response headers."""
    p = {"ev": r.choice(["ev", "ev", "event", "dc"]), "xCal": r.choice(["xCal", "xcal", "x", ""]),
         "g": r.choice(["g", "gb", "media"])}
    decls = {"dc": "http://purl.org/dc/elements/1.1/", "content": "http://purl.org/rss/1.0/modules/content/",
             "atom": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/",
             "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd", "foo": "http://example.com/foo",
             p["ev"]: "http://purl.org/rss/1.0/modules/event/", p["g"]: "http://base.google.com/ns/1.0"}
    if p["xCal"]:
        decls[p["xCal"]] = XCAL
    url = r.choice(["http://example.org/feed", "http://example.org/dir/feed.xml?x=1", "https://example.org/a/b/"])
    lang = r.choice(["", "", ' xml:lang="en"'])
    kind = r.choice(["rss", "atom", "rdf"])
    if kind == "atom":
        decls.pop("atom")
        ns = " ".join(f'xmlns:{k}="{v}"' for k, v in decls.items())
        head = r.choice(["", "<title>F</title>", '<link href="/home"/><id>tag:feed.example,2026:f</id>',
                         "<subtitle>Sub &amp; more</subtitle><author><name>Feed Author</name></author>"])
        entries = "".join("<entry" + r.choice(["", ' xml:lang="es"']) + f">{_atom_entry(r, p)}</entry>"
                          for _ in range(r.randint(1, 4)))
        base = r.choice(["", "", ' xml:base="http://base.example/dir/"'])
        doc = f'<feed xmlns="http://www.w3.org/2005/Atom" {ns}{lang}{base}>{head}{entries}</feed>'
    else:
        ns = " ".join(f'xmlns:{k}="{v}"' for k, v in decls.items())
        if kind == "rss":
            items = "".join(f"<item>{_rss_item(r, p)}</item>" for _ in range(r.randint(1, 4)))
            doc = f'<rss version="2.0" {ns}{lang}><channel>{_channel(r)}{items}{_channel(r)}</channel></rss>'
        else:
            items = "".join(f'<item rdf:about="{r.choice(URLS)}">{_rss_item(r, p)}</item>'
                            for _ in range(r.randint(1, 4)))
            doc = (f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                   f'xmlns="http://purl.org/rss/1.0/" {ns}><channel rdf:about="/c">{_channel(r)}'
                   f'<items><rdf:Seq><rdf:li resource="/1"/></rdf:Seq></items></channel>'
                   f'<image rdf:about="/i"><title>I</title><url>/i.png</url></image>{items}</rdf:RDF>')
    encoding = r.choice(["utf-8", "utf-8", None, "iso-8859-1", "windows-1252"])
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n' if encoding else "") + doc
    body = text.encode(encoding or "utf-8", "xmlcharrefreplace")
    headers = r.choice([{}, {}, {"content-type": "text/xml"}, {"content-type": "application/rss+xml; charset=utf-8"}])
    return body, url, headers


def test_random_feeds_read_the_same() -> None:
    r = random.Random(20270131)
    taken = 0
    for n in range(400):
        body, url, headers = random_feed(r)
        fast, slow = read_both(body, url, headers)
        if fast is not None:
            taken += 1
            assert fast == slow, f"document {n}:\n{body.decode('utf-8', 'replace')}"
    assert taken > 200, f"the fast path took only {taken} of 400 random feeds"


# --- real documents -------------------------------------------------------------------------


def test_the_hostile_feeds() -> None:
    hostile = load_module(ROOT / "tests" / "reliability" / "hostile_server.py", "hostile_server_feeds")
    bodies = {
        "good": (hostile.GOOD_RSS.encode(), True),
        "laughs": (hostile.LAUGHS.encode(), False),
        "xxe": (hostile.xxe("/nonexistent/secret").encode(), False),
        "xxe-param": (hostile.xxe_param("/nonexistent/secret").encode(), False),
        "deep": (hostile.DEEP_XML.encode(), False),
        "charset": (hostile.CP1252_RSS, False),
        "years": (hostile.YEARS_RSS.encode(), True),
    }
    for name, (body, taken) in bodies.items():
        fast, slow, was_taken = parse_both(body, headers={"content-type": "application/rss+xml; charset=utf-8"})
        assert was_taken == taken, name
        assert fast == slow, name


@pytest.fixture(scope="module")
def bench_feeds(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[SourceConfig, bytes]]:
    feeds = synth_documents(tmp_path_factory.mktemp("synth"), "feed", 30)
    assert {src.url.rsplit(".", 1)[-1] for src, _ in feeds} == {"xml", "atom"}, "RSS and Atom feeds expected"
    return feeds


def test_every_benchmark_feed_is_read_fast_and_the_same(bench_feeds: list[tuple[SourceConfig, bytes]]) -> None:
    for src, body in bench_feeds:
        fast, slow, taken = parse_both(body, src)
        assert taken, f"{src.name}: the fast path refused a benchmark feed"
        assert fast == slow, src.name


def test_the_eval_feeds() -> None:
    root = require_eval()
    config = tomllib.loads((root / "config" / "sources.toml").read_text("utf-8"))
    base = "http://127.0.0.1:8000"
    checked = 0
    for entry in config["source"]:
        if entry["type"] != "feed":
            continue
        src = SourceConfig(**{k: v for k, v in entry.items() if k in SourceConfig.__dataclass_fields__})
        src.url = src.url.replace("{BASE}", base)
        body = (root / "site" / src.url.removeprefix(base + "/")).read_bytes().replace(b"{BASE}", base.encode())
        for headers in ({}, {"content-type": "text/xml"}, {"content-type": "application/rss+xml; charset=utf-8"},
                        {"content-type": "text/html; charset=utf-8"}):
            fast, slow, taken = parse_both(body, src, headers)
            assert fast == slow, f"{src.name} {headers}"
            if not headers and "SourceError" not in slow:
                assert taken, f"{src.name}: the fast path refused a well-formed eval feed"
            checked += 1
    assert checked >= 20


def test_the_corpus_feeds() -> None:
    root = require_corpus() / "feeds"
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".xml", ".rss", ".atom", ".rdf"}
                   and "conference-schedules" not in p.parts)
    assert len(paths) > 300
    taken = 0
    for path in paths:
        body = path.read_bytes()
        fast, slow, was_taken = parse_both(body)
        assert fast == slow, str(path.relative_to(root))
        fast_read, slow_read = read_both(body)
        assert fast_read is None or fast_read == slow_read, str(path.relative_to(root))
        taken += was_taken
    # most corpus files are feedparser's and the feed validator's unit tests: empty channels,
    # Atom 0.3, broken XML, DOCTYPEs ... which feedparser keeps reading
    assert taken >= 30, f"the fast path took only {taken} corpus feeds"


# --- the shortcuts --------------------------------------------------------------------------

BASES = ["http://example.org/feeds/events.xml", "https://example.org/a/b/?q=1#f", "", "feed:weird", "http://[::1]/x",
         "http://[broken/x", "tag:x.example,2026:base", "HTTP://Example.ORG/"]
URL_PIECES = st.sampled_from(["http", "https", "HTTP", "tag", "mailto", "javascript", "ftp", "x+y.z-1", "1x"])
URL_TEXT = st.text(alphabet="ab/.:?#;&=%[]@ \t\n-_~+,\u00e9\x00\x7f", max_size=20)


@settings(max_examples=400)
@given(base=st.sampled_from(BASES), scheme=URL_PIECES, sep=st.sampled_from(["://", ":", ":/", ":///", ""]),
       host=st.sampled_from(["example.org", "a.example:8080", "", "[::1]", "user@h", "h:"]), rest=URL_TEXT)
@example(base=BASES[0], scheme="http", sep="://", host="example.org", rest="/a;")       # an empty ;params
@example(base=BASES[0], scheme="http", sep="://", host="example.org", rest="/a?")       # an empty query
@example(base=BASES[0], scheme="http", sep="://", host="example.org", rest="/a#")       # an empty fragment
@example(base=BASES[1], scheme="HTTP", sep="://", host="example.org", rest="/")         # an upper-case scheme
@example(base=BASES[0], scheme="http", sep=":///", host="example.org", rest="/")        # feedparser's fix-up
@example(base=BASES[0], scheme="tag", sep="://", host="[::1", rest="")                  # a broken IPv6 host
@example(base=BASES[0], scheme="http", sep=":", host="", rest="relative")               # the base's scheme
def test_url_joins_are_urllibs_and_feedparsers(base: str, scheme: str, sep: str, host: str, rest: str) -> None:
    link = f"{scheme}{sep}{host}{rest}" if sep else rest
    try:
        expected: str | type[Exception] = urljoin(base, link)
    except ValueError:
        expected = ValueError
    try:
        got: str | type[Exception] = feed._join(base, link)
    except ValueError:
        got = ValueError
    assert got == expected
    assert feed._fp_urljoin(base, link) == feedparser_urljoin(base, link)


PHRASES = ["online event", "Virtual Event", "live online", "online-only", "WEBINAR", "streamed live online",
           "also streamed", "in person and online", "hybrid event", "evento en línea", "seminario web",
           "online-sessie", "online-veranstaltung", "onl\u0130ne event", "\u017ftreamed online", "webınar",
           "call for speakers closes 3 March", "CFP deadline: 1 May", "Nominations close 5 March",
           "applications due by Friday", "submıssions until 2 June", "proposals end", "Entries by 9 Feb",
           "Hall 1 + online", "Room 2 (also streamed online)", "Expo & livestream", "K\u212aelvin"]


@given(st.lists(st.sampled_from(PHRASES) | st.text(alphabet="ab e\n.:-+(),&\u00a0\u0130", max_size=12), max_size=6))
def test_word_tests_never_miss_a_phrase(parts: list[str]) -> None:
    text = "".join(parts)
    assert feed._mentions_online(text) == (feed._ONLINE_TEXT.search(text) is not None)
    if feed._lacks_words(text, feed._DEADLINE_WORDS):
        assert textdates._DEADLINE_PHRASE.search(text) is None
    if feed._lacks_words(text, feed._HYBRID_WORDS):
        assert feed._HYBRID_PLACE.search(text) is None


@given(st.sampled_from(PHRASES) | st.text(alphabet="ab e\n-", max_size=12),
       st.sampled_from(PHRASES) | st.text(alphabet="ab e\n-", max_size=12))
def test_one_online_search_over_text_and_title(text: str, title: str) -> None:
    """_event_from searches the description and the title at once, joined by a line break."""
    apart = feed._ONLINE_TEXT.search(text) is not None or feed._ONLINE_TEXT.search(title) is not None
    assert feed._mentions_online(f"{text}\n{title}") == apart


def test_the_deadline_words_are_textdates_phrases() -> None:
    """feed.py skips textdates.find_deadline for a text without one of _DEADLINE_WORDS: each
    deadline phrase must start with one. If this fails, textdates changed its phrases:
    update _DEADLINE_WORDS to match."""
    pattern = textdates._DEADLINE_PHRASE.pattern
    assert textdates._DEADLINE_PHRASE.flags & re.IGNORECASE
    assert pattern.startswith(
        r"\b(?:call\s+for\s+(?:speakers|papers|proposals|talks|entries|submissions|abstracts)"
        r"|cfp|nominations?|entries|submissions|applications|proposals)\b"
    )
    assert set(feed._DEADLINE_WORDS) == {"call", "cfp", "nomination", "entries", "submission", "application",
                                         "proposal"}


def html_to_text_before(fragment: str) -> str:
    """_html_to_text as it was (one regular expression substitution per line)."""
    if not fragment:
        return ""
    text = feed._BLOCK_TAGS.sub("\n", fragment)
    text = html.unescape(feed._ANY_TAG.sub("", text))
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


HTML_PIECES = [*"ab \t\u00a0\r\n\x0b\x1c\u2028.", "<p>", "<br/>", "</div>", "&amp;", "&nbsp;", "<b>", "&#9;"]


@given(st.lists(st.sampled_from(HTML_PIECES), max_size=40).map("".join))
def test_html_to_text_is_unchanged(fragment: str) -> None:
    assert feed._html_to_text(fragment) == html_to_text_before(fragment)
