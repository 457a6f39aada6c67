"""Helpers shared by the tests (import as `helpers`): data locations, a seeded store, the CLI in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("EVENTSCOUT_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("EVENTSCOUT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EVENTSCOUT_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _data_dir(env: str, default: Path) -> Path | None:
    path = Path(os.environ.get(env) or default)
    return path if path.is_dir() else None


CORPUS = _data_dir("EVENTSCOUT_CORPUS", ROOT.parent / "shared" / "corpus")
EVAL = _data_dir("EVENTSCOUT_EVAL", ROOT.parent / "shared" / "eval")


def require_corpus() -> Path:
    """The shared corpus, or skip the test saying how to provide it."""
    if CORPUS is None:
        pytest.skip("the shared corpus is absent (set EVENTSCOUT_CORPUS to ../shared/corpus)")
    return CORPUS


def require_eval() -> Path:
    """The eval mini-web, or skip the test saying how to provide it."""
    if EVAL is None:
        pytest.skip("the eval mini-web is absent (set EVENTSCOUT_EVAL to ../shared/eval)")
    return EVAL


def strip_utm(url: str | None) -> str | None:
    """A URL as expected.json writes it: without utm_* parameters and fragment."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    if url is None:
        return None
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def utc_z(value: datetime | date | None, zone: str | None) -> str | None:
    """An item time as the 'Z' string expected.json uses (naive = local in ``zone``)."""
    from zoneinfo import ZoneInfo

    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone or "UTC"))
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_unavailable(what: str, why: str) -> None:
    message = f"{what} is not reachable ({why})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and EVENTSCOUT_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)

NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)


def sample_items():
    """Realistic items as spiders yield them (after NormalizePipeline/Classify they get stored)."""
    from aggregator.items import EventItem, GroupItem

    return [
        EventItem(source="berlin-py", title="PyData Berlin Meetup: Data Engineering with Python",
                  start=datetime(2027, 2, 3, 18, 30), end=datetime(2027, 2, 3, 21, 0),
                  timezone="Europe/Berlin", url="https://example.org/pydata/feb?utm_source=x",
                  city="Berlin", country="DE", venue="Factory Berlin", price="Free",
                  description="<p>Talks on <b>data engineering</b> and mentoring.</p>",
                  group="PyData Berlin", uid="pydata-feb@example.org"),
        EventItem(source="berlin-py", title="Fintech Career Fair Berlin",
                  start=datetime(2027, 2, 10, 10, 0), end=datetime(2027, 2, 10, 16, 0),
                  timezone="Europe/Berlin", url="https://example.org/fintech-fair",
                  city="Berlin", country="DE", price="EUR 15", kind_text="Career Fair"),
        EventItem(source="berlin-py", title="Online: Security Webinar on Cloud IAM",
                  start=datetime(2027, 2, 5, 17, 0, tzinfo=UTC), url="https://example.org/iam-webinar",
                  online=True, price=0),
        EventItem(source="berlin-py", title="DataConf Europe 2027", start=date(2027, 4, 12),
                  end=date(2027, 4, 14), all_day=True, url="https://example.org/dataconf",
                  city="Munich", country="Germany", cfp_deadline=date(2027, 2, 14),
                  cfp_url="https://example.org/dataconf/cfp"),
        GroupItem(source="berlin-py", name="PyData Berlin", url="https://example.org/pydata",
                  city="Berlin", country="DE", industries=["data"]),
    ]


def store_items(db_url: str, items, now: datetime = NOW, source: str = "berlin-py",
                source_type: str = "feed", config=None) -> None:
    from aggregator.classify import goals_for, industries_for, kinds_for
    from aggregator.config import default_industries
    from aggregator.db import open_database, session_scope
    from aggregator.dedup import source_key
    from aggregator.items import EventItem, GroupItem, SourceDone
    from aggregator.pipelines.normalize import normalize_event, normalize_group
    from aggregator.store import SourceWriter, record_health

    taxonomy = default_industries()
    events, groups = [], []
    for item in items:
        if isinstance(item, EventItem):
            ev = normalize_event(item, None)
            assert ev is not None
            ev.kinds = kinds_for(ev.title, ev.description, ev.kind_text, ev.kinds,
                                 has_cfp=ev.cfp_deadline is not None)
            ev.goals = goals_for(ev.kinds)
            ev.industries = industries_for(ev.title, ev.description, ev.tags, taxonomy, ev.industries)
            ev.key = source_key(ev)
            events.append(ev)
        elif isinstance(item, GroupItem):
            groups.append(normalize_group(item, None))
    engine = open_database(db_url)
    done = SourceDone(source=source, ok=True, items=len(events))
    with session_scope(engine) as session:
        SourceWriter(session, source, source_type, now).store(events, groups, done)
        record_health(session, source, source_type, "https://example.org/feed", done, now)
    engine.dispose()


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real command in a child process (one crawl per process)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "aggregator", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full_env, timeout=timeout)


def load_module(path: Path, name: str):  # type: ignore[no-untyped-def]
    """A module of the repository that is not a package (tests/reliability, bench)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.setdefault(name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


def synth_documents(dest: Path, source_type: str, sources: int):  # type: ignore[no-untyped-def]
    """[(SourceConfig, bytes)] of the `source_type` sources of a small synthetic benchmark corpus
    (bench/synth.py, 40 events a source) written to `dest`."""
    import tomllib

    from aggregator.config_types import SourceConfig

    synth = load_module(ROOT / "bench" / "synth.py", "bench_synth")
    synth.generate(dest, sources=sources, events_per_source=40, base_url="http://127.0.0.1:1",
                   now=datetime(2027, 1, 4, 9, tzinfo=UTC), profiles=1)
    config = tomllib.loads((dest / "config" / "sources.toml").read_text("utf-8"))
    out = []
    for entry in config["source"]:
        if entry["type"] == source_type:
            src = SourceConfig(**{k: v for k, v in entry.items() if k in SourceConfig.__dataclass_fields__})
            out.append((src, (dest / "site" / src.url.removeprefix("http://127.0.0.1:1/")).read_bytes()))
    return out
