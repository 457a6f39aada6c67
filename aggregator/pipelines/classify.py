from __future__ import annotations

from aggregator import context
from aggregator.items import EventItem, GroupItem
from aggregator.prepare import classify_event, classify_group


class ClassifyPipeline:
    """Kinds, goals and industries from the event's words and its source's hints (for single
    items; a document's Batch was classified when it was prepared, see aggregator.prepare)."""

    def __init__(self, run: context.RunContext) -> None:
        self.taxonomy = run.config.industries

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(context.from_settings(crawler.settings))

    def process_item(self, item):  # type: ignore[no-untyped-def]
        if isinstance(item, EventItem):
            return classify_event(item, self.taxonomy)
        if isinstance(item, GroupItem):
            return classify_group(item, self.taxonomy)
        return item
