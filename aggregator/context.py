"""What one collect run shares between its spiders and pipelines: config, clock, database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Engine

from aggregator.config import load_config
from aggregator.config_types import Config


@dataclass
class RunContext:
    config: Config
    now: datetime
    db_url: str

    @property
    def engine(self) -> Engine:
        return _engine(self.db_url)


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    from aggregator.db import open_database

    return open_database(url)


_LOADED: dict[str | None, Config] = {}


def prime(config_dir: str | None, config: Config) -> None:
    """Reuse a configuration the caller has loaded (and validated) already for this directory."""
    _LOADED[config_dir] = config


@lru_cache(maxsize=4)
def _context(config_dir: str | None, now_iso: str | None, db_url: str | None) -> RunContext:
    from aggregator.db import resolve_url

    config = _LOADED.get(config_dir) or load_config(config_dir)
    now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return RunContext(config=config, now=now.astimezone(UTC),
                      db_url=resolve_url(db_url, config.settings.database_url))


def from_settings(settings) -> RunContext:  # type: ignore[no-untyped-def]
    """The run context for a crawler's settings (EVENTSCOUT_CONFIG_DIR, _NOW, _DB)."""
    return _context(settings.get("EVENTSCOUT_CONFIG_DIR"), settings.get("EVENTSCOUT_NOW"),
                    settings.get("EVENTSCOUT_DB"))


def for_run(config_dir: str | None, now: datetime | None, db_url: str) -> RunContext:
    """The run context a crawl with these arguments will have (the same object)."""
    return _context(str(config_dir) if config_dir else None, now.isoformat() if now else None, db_url)
