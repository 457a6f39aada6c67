from __future__ import annotations

from scrapy.exceptions import DropItem

from aggregator.dedup import source_key
from aggregator.items import Batch, EventItem, SourceDone


class DedupPipeline:
    """Drops repeats inside one source and gives each item its key there.

    The same key seen twice in one run with a different start is a different event
    (a listing that links every item to one page): its start date joins its key.
    Across sources and runs, StorePipeline matches records (aggregator.dedup.same_event).
    """

    def __init__(self, stats) -> None:  # type: ignore[no-untyped-def]
        self.stats = stats
        self.seen: dict[str, dict[str, object]] = {}

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(crawler.stats)

    def process_item(self, item):  # type: ignore[no-untyped-def]
        if isinstance(item, SourceDone):
            self.seen.pop(item.source, None)
            return item
        if isinstance(item, Batch):
            kept = []
            for ev in item.events:
                try:
                    kept.append(self.process_item(ev))
                except DropItem:
                    pass
            item.events = kept
            return item
        if not isinstance(item, EventItem):
            return item
        keys = self.seen.setdefault(item.source, {})
        key = source_key(item)
        if key in keys:
            if keys[key] == item.start_utc:
                self.stats.inc_value("eventscout/duplicates_in_source")
                raise DropItem(f"{item.source}: {item.title!r} listed twice")
            assert item.start_utc is not None
            key = f"{key}@{item.start_utc:%Y-%m-%dT%H:%M}"
            if key in keys:
                raise DropItem(f"{item.source}: {item.title!r} listed twice")
        keys[key] = item.start_utc
        item.key = key
        return item
