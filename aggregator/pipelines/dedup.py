from __future__ import annotations

from scrapy.exceptions import DropItem

from aggregator.dedup import DUPLICATE, REPEAT, key_in_source
from aggregator.items import Batch, EventItem, SourceDone


class DedupPipeline:
    """Drops repeats inside one source and gives each item its key there
    (aggregator.dedup.key_in_source). Events that parse workers packed for the store
    (Batch.packed) are keyed when their source is stored (aggregator.writer).
    Across sources and runs, the store matches records (aggregator.dedup.same_event).
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
        key = key_in_source(item, self.seen.setdefault(item.source, {}))
        if key == DUPLICATE:
            self.stats.inc_value("eventscout/duplicates_in_source")
        if key in (DUPLICATE, REPEAT):
            raise DropItem(f"{item.source}: {item.title!r} listed twice")
        item.key = key
        return item
