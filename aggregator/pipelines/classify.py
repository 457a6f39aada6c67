from __future__ import annotations

from aggregator import context
from aggregator.classify import goals_for, industries_for, kinds_for
from aggregator.items import EventItem, GroupItem


class ClassifyPipeline:
    """Kinds, goals and industries from the event's words and its source's hints."""

    def __init__(self, run: context.RunContext) -> None:
        self.taxonomy = run.config.industries

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(context.from_settings(crawler.settings))

    def process_item(self, item):  # type: ignore[no-untyped-def]
        if isinstance(item, EventItem):
            item.kinds = kinds_for(item.title, item.description, item.kind_text, item.kinds,
                                   has_cfp=item.cfp_deadline is not None, online=bool(item.online),
                                   hybrid=item.hybrid, group=item.group)
            item.goals = goals_for(item.kinds)
            item.industries = industries_for(item.title, item.description, item.tags,
                                             self.taxonomy, item.industries)
        elif isinstance(item, GroupItem):
            item.industries = industries_for(item.name, item.description, item.tags,
                                             self.taxonomy, item.industries)
        return item
