"""The one event item and the one group item that every spider yields.

Spiders fill what their source says, as it says it; the rest is done per document by
aggregator.prepare (normalise: times as UTC instants plus an IANA zone, clean text, canonical
URLs and prices; classify: kinds, goals and industries; the Normalize and Classify pipelines do
the same for single items), then by the store (aggregator.writer: in-source keys and repeats,
then matching and merging across sources).

Time fields as a spider yields them:
- an aware ``datetime``: an exact instant (the zone of ``timezone`` is used for display);
- a naive ``datetime``: local ("floating") time in ``timezone``, or, when that is
  empty, in the source's configured timezone, or else UTC;
- a ``date``: an all-day value (set ``all_day=True`` for the event's start and end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class EventItem:
    source: str                            # name of the source that yielded it
    title: str
    start: datetime | date | None
    end: datetime | date | None = None     # all-day: the last day (inclusive) or None
    timezone: str | None = None            # IANA zone (Windows names allowed before normalise)
    all_day: bool = False
    url: str | None = None                 # the event's own page
    urls: list[str] = field(default_factory=list)   # other page URLs known for it
    description: str | None = None         # plain text or HTML (normalise cleans it)
    venue: str | None = None
    address: str | None = None
    city: str | None = None
    country: str | None = None             # any spelling: "DE", "DEU", "Germany"
    latitude: float | None = None
    longitude: float | None = None
    online: bool | None = None             # True for online and hybrid events
    hybrid: bool = False
    kinds: list[str] = field(default_factory=list)       # vocabulary values known for sure
    kind_text: str | None = None           # free text ("Career Fair", "BusinessEvent")
    industries: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    status: str | None = None              # vocabulary value; None means scheduled
    status_text: str | None = None         # raw status ("EventCancelled", "TENTATIVE")
    previous_start: datetime | date | None = None
    price: Any = None                      # number, "Free", "AUD 25", None
    currency: str | None = None
    organizer: str | None = None
    performers: list[str] = field(default_factory=list)
    group: str | None = None               # name of the group that runs it
    group_url: str | None = None
    cfp_deadline: datetime | date | None = None
    cfp_url: str | None = None
    uid: str | None = None                 # iCal UID / feed guid
    sequence: int | None = None            # iCal SEQUENCE
    series: str | None = None              # recurring series id (iCal UID)
    recurrence_id: str | None = None       # ISO date of the original occurrence
    language: str | None = None
    # filled by the pipelines
    key: str | None = None                 # identity inside its source (aggregator.writer.Job.unpack)
    id: str | None = None
    start_utc: datetime | None = None
    end_utc: datetime | None = None
    goals: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # aggregator.store.Precomputed, set by the parse worker; not part of the item's data
    precomputed: Any = field(default=None, repr=False, compare=False)


@dataclass
class GroupItem:
    source: str
    name: str
    url: str | None = None
    description: str | None = None
    city: str | None = None
    country: str | None = None
    industries: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    id: str | None = None


@dataclass
class SourceDone:
    """Yielded by a spider after the last item of one source: the store commits it."""

    source: str
    ok: bool = True
    error: str | None = None
    items: int = 0
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Batch:
    """The events and groups of one fetched document, normalised and classified already
    (aggregator.prepare): they pass the dedup and store pipelines as one item, not one each."""

    source: str
    events: list[EventItem] = field(default_factory=list)
    groups: list[GroupItem] = field(default_factory=list)
    # events a parse worker pickled for the store (aggregator.prepare): the crawl process passes
    # them on without reading them
    packed: bytes | None = None
