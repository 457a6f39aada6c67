"""Typed configuration objects. aggregator/config.py loads and validates them from TOML."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SourceConfig:
    name: str
    type: str
    url: str
    group: str | None = None
    industries: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    city: str | None = None
    country: str | None = None
    timezone: str | None = None
    enabled: bool = True
    follow: str | None = None            # page: CSS for links to event pages
    next_page: str | None = None         # html: CSS/XPath for the next listing page
    select: dict[str, str] = field(default_factory=dict)   # html: field -> selector
    preset: str | None = None            # json/csv: "confs-tech" | "python-organizers"
    fields: dict[str, str] = field(default_factory=dict)   # json/csv: item field -> key/column
    line: int = 0                        # line of the [[source]] header in sources.toml


@dataclass
class Profile:
    name: str
    email: str | None = None
    interests: list[str] = field(default_factory=list)   # may carry "term^2" weights
    industries: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)       # empty means all
    kinds: list[str] = field(default_factory=list)
    location: str | None = None
    radius_km: float | None = None
    online: bool = True
    exclude: list[str] = field(default_factory=list)
    max_price: float | None = None
    languages: list[str] = field(default_factory=list)
    timezone: str | None = None
    line: int = 0


@dataclass
class Industry:
    slug: str
    label: str
    keywords: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    parent: str | None = None


@dataclass
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"           # starttls | ssl | none
    username: str | None = None
    password_env: str = "EVENTSCOUT_SMTP_PASSWORD"
    from_addr: str = "eventscout <eventscout@localhost>"
    timeout: float = 30.0


@dataclass
class Settings:
    database_url: str | None = None
    user_agent: str = "eventscout/0.1 (+https://github.com/eventscout/eventscout)"
    concurrency: int = 16
    horizon_days: int = 180
    obey_robots: bool = True
    timeout: float = 30.0
    max_body_mb: int = 20
    max_items_per_source: int = 5000
    parse_workers: int | None = None      # None: one per core (aggregator.prepare.default_workers)
    digest_timezone: str = "UTC"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)


@dataclass
class Config:
    directory: Path | None
    settings: Settings
    sources: list[SourceConfig]
    profiles: list[Profile]
    industries: dict[str, Industry]

    def source(self, name: str) -> SourceConfig | None:
        return _by_name(self, "sources", name)  # type: ignore[return-value]

    def profile(self, name: str) -> Profile | None:
        return _by_name(self, "profiles", name)  # type: ignore[return-value]

    def industry_with_children(self, slug: str) -> set[str]:
        """The slug and every industry below it in the taxonomy."""
        found = {slug}
        changed = True
        while changed:
            changed = False
            for ind in self.industries.values():
                if ind.parent in found and ind.slug not in found:
                    found.add(ind.slug)
                    changed = True
        return found


def _by_name(config: Config, attr: str, name: str) -> SourceConfig | Profile | None:
    """The first of ``config.<attr>`` with this name, from an index of positions (a crawl asks
    once a response, a digest run once a profile) checked against the list as it is now; on a
    miss (not indexed yet, changed, or absent) the list is indexed again."""
    items = getattr(config, attr)
    index: dict[str, int] | None = config.__dict__.get(f"_{attr}_by_name")
    pos = index.get(name) if index is not None else None
    if pos is not None and pos < len(items) and items[pos].name == name:
        return items[pos]  # type: ignore[no-any-return]
    index = {}
    for i, item in enumerate(items):
        index.setdefault(item.name, i)
    config.__dict__[f"_{attr}_by_name"] = index
    pos = index.get(name)
    return items[pos] if pos is not None else None
