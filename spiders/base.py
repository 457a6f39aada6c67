"""The parser contract shared by every source type, and the base spider.

Each module in spiders/ (feed, ical, page, html, jsondata, csvdata) exposes

    def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext) -> ParseResult

a pure function of the fetched bytes: no network, no database, no clock (use ``ctx.now``).
It raises ``SourceError("one-line reason")`` when the document cannot be read at all
(malformed beyond repair, not this format, binary garbage); it keeps what it can read
otherwise (like feedparser's bozo). It never raises anything else on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aggregator.items import EventItem, GroupItem


class SourceError(Exception):
    """A source could not be read; the message is one line a user understands."""


@dataclass
class ParseContext:
    now: datetime                      # aware UTC instant ("--now")
    horizon_days: int = 180            # how far ahead recurring events are expanded
    headers: dict[str, str] = field(default_factory=dict)   # response headers, lower-case names
    followed: bool = False             # True when this page was reached through follow/next_page
    max_items: int = 5000              # a per-source cap (e.g. an endless RRULE)


@dataclass
class ParseResult:
    events: list[EventItem] = field(default_factory=list)
    groups: list[GroupItem] = field(default_factory=list)
    follow: list[str] = field(default_factory=list)   # absolute URLs to fetch next (same parser)
    warnings: list[str] = field(default_factory=list)


def parser_for(source_type: str):  # type: ignore[no-untyped-def]
    """The parse function of a source type (imported lazily: each pulls in its own libraries;
    none of them, nor this module, imports Scrapy: parse workers run without it)."""
    import importlib

    from aggregator import constants as C

    module = {C.FEED: "spiders.feed", C.ICAL: "spiders.ical", C.PAGE: "spiders.page",
              C.HTML: "spiders.html", C.JSON: "spiders.jsondata", C.CSV: "spiders.csvdata"}[source_type]
    return importlib.import_module(module).parse
