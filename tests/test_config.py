"""aggregator/config.py: finding, loading and validating the TOML configuration."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from aggregator.config import (
    ENV_CONFIG,
    ConfigError,
    default_industries,
    find_config_dir,
    load_config,
    parse_interest,
    starter_files,
    user_config_dir,
    write_starter,
)
from aggregator.constants import GOALS

REPO = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("EVENTSCOUT_EVAL", REPO.parent / "shared" / "eval"))

SPEC_SLUGS = [
    "software", "data", "security", "cloud", "design", "product", "marketing", "sales",
    "finance", "fintech", "healthcare", "biotech", "education", "legal", "energy",
    "manufacturing", "real-estate", "media", "nonprofit", "government", "hr", "retail",
    "hospitality",
]
VALID_TYPES = "feed, ical, page, html, json, csv"
VALID_INDUSTRIES = ", ".join(SPEC_SLUGS)


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may see the developer's own EVENTSCOUT_CONFIG."""
    monkeypatch.delenv(ENV_CONFIG, raising=False)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    return info.value.problems


# --------------------------------------------------------------------------- one per error kind

# (file, text, line, message): each text has exactly one problem, at `line`
ERROR_CASES = {
    "toml-syntax": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type "feed"
        """,
        3, "TOML syntax error: Expected '=' after a key in a key/value pair (column 6)",
    ),
    "unknown-source-key": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "feed"
        url = "https://example.org/feed.xml"
        tgas = ["python"]
        """,
        5, "unknown key 'tgas' in [[source]] 'a' (did you mean 'tags'?)",
    ),
    "unknown-top-level-key": (
        "sources.toml",
        """
        [[sources]]
        name = "a"
        """,
        1, "unknown key 'sources' in sources.toml (did you mean 'source'?)",
    ),
    "unknown-select-key": (
        "sources.toml",
        """
        [[source]]
        name = "listing"
        type = "html"
        url = "https://example.org/"

        [source.select]
        item = "article"
        title = "h2::text"
        start = "time::attr(datetime)"
        colour = "p.colour::text"
        """,
        10, "unknown key 'colour' in [source.select] of 'listing' (did you mean 'country'?)",
    ),
    "unknown-fields-key": (
        "sources.toml",
        """
        [[source]]
        name = "api"
        type = "json"
        url = "https://example.org/events.json"

        [source.fields]
        title = "name"
        start = "starts"
        items_path = "data"
        """,
        9, "unknown key 'items_path' in [source.fields] of 'api' (did you mean 'items'?)",
    ),
    "wrong-type": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "feed"
        url = "https://example.org/feed.xml"
        enabled = "yes"
        """,
        5, "'enabled' must be true or false, not the string 'yes'",
    ),
    "wrong-type-in-list": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        interests = ["python", 3]
        """,
        3, "'interests' must be a list of strings, not a list containing the integer 3",
    ),
    "unknown-source-type": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "icall"
        url = "https://example.org/cal.ics"
        """,
        3, f"unknown source type 'icall' (valid: {VALID_TYPES})",
    ),
    "missing-url": (
        "sources.toml",
        """
        # a comment
        [[source]]
        name = "a"
        type = "ical"
        """,
        2, "[[source]] 'a' has no 'url'",
    ),
    "duplicate-source": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "ical"
        url = "https://example.org/a.ics"

        [[source]]
        name = "a"
        type = "ical"
        url = "https://example.org/b.ics"
        """,
        7, "duplicate source name 'a' (first defined at line 1)",
    ),
    "duplicate-profile": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"

        [[profile]]
        name = "ana"
        """,
        5, "duplicate profile name 'ana' (first defined at line 1)",
    ),
    "bad-slug": (
        "sources.toml",
        """
        [[source]]
        name = "PyLadies Berlin"
        type = "ical"
        url = "https://example.org/a.ics"
        """,
        2, "bad source name 'PyLadies Berlin': use lower-case letters, digits and '-' "
           "(e.g. pyladies-berlin)",
    ),
    "bad-url": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "ical"
        url = "ftp://example.org/a.ics"
        """,
        4, "bad url 'ftp://example.org/a.ics': must start with http://, https:// or file://",
    ),
    "url-without-host": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "ical"
        url = "https:///a.ics"
        """,
        4, "bad url 'https:///a.ics': has no host",
    ),
    "unknown-industry-in-source": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "ical"
        url = "https://example.org/a.ics"
        industries = ["software", "softwear"]
        """,
        5, f"unknown industry 'softwear' (valid: {VALID_INDUSTRIES})",
    ),
    "unknown-industry-in-profile": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        industries = ["fintec"]
        """,
        3, f"unknown industry 'fintec' (valid: {VALID_INDUSTRIES})",
    ),
    "unknown-kind": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        kinds = ["party"]
        """,
        3, "unknown kind 'party' (valid: conference, meetup, workshop, webinar, hackathon, "
           "career-fair, networking, mentorship, call-for-speakers, award, volunteer, other)",
    ),
    "unknown-goal": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        goals = ["fame"]
        """,
        3, "unknown goal 'fame' (valid: support, opportunities, visibility)",
    ),
    "bad-source-timezone": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "ical"
        url = "https://example.org/a.ics"
        timezone = "Europe/Berln"
        """,
        5, "unknown timezone 'Europe/Berln' (use an IANA name such as Europe/Berlin or UTC)",
    ),
    "bad-digest-timezone": (
        "eventscout.toml",
        """
        [digest]
        timezone = "CEST"
        """,
        2, "unknown timezone 'CEST' (use an IANA name such as Europe/Berlin or UTC)",
    ),
    "bad-preset": (
        "sources.toml",
        """
        [[source]]
        name = "confs"
        type = "json"
        url = "https://example.org/2027/python.json"
        preset = "confstech"
        """,
        5, "unknown preset 'confstech' (valid: confs-tech, python-organizers)",
    ),
    "preset-of-other-type": (
        "sources.toml",
        """
        [[source]]
        name = "confs"
        type = "csv"
        url = "https://example.org/2027/python.json"
        preset = "confs-tech"
        """,
        5, "preset 'confs-tech' reads json data; set type = 'json' (not 'csv')",
    ),
    "json-without-mapping": (
        "sources.toml",
        """
        [[source]]
        name = "api"
        type = "json"
        url = "https://example.org/events.json"
        """,
        1, "json source 'api' needs a preset (confs-tech, python-organizers) "
           "or a [source.fields] table",
    ),
    "html-without-select": (
        "sources.toml",
        """
        [[source]]
        name = "listing"
        type = "html"
        url = "https://example.org/"
        """,
        1, "html source 'listing' needs a [source.select] table with at least 'item', "
           "'title' and 'start' selectors",
    ),
    "html-without-select-item": (
        "sources.toml",
        """
        [[source]]
        name = "listing"
        type = "html"
        url = "https://example.org/"
        [source.select]
        title = "h2::text"
        start = "time::attr(datetime)"
        """,
        5, "[source.select] of 'listing' has no 'item' selector",
    ),
    "bad-css-selector": (
        "sources.toml",
        """
        [[source]]
        name = "listing"
        type = "html"
        url = "https://example.org/"
        [source.select]
        item = "article"
        title = "h2::text"
        start = "time[datetime"
        """,
        # the rest of the message is cssselect's own
        8, "'start' selector 'time[datetime' is not valid CSS (...",
    ),
    "key-of-other-type": (
        "sources.toml",
        """
        [[source]]
        name = "a"
        type = "feed"
        url = "https://example.org/feed.xml"
        follow = "a.event"
        """,
        5, "'follow' applies to sources of type 'page', not 'feed'",
    ),
    "malformed-interest-weight": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        interests = [
          "python",
          "data^x",
        ]
        """,
        3, "malformed interest 'data^x': write 'term' or 'term^weight' with a positive "
           "number, e.g. 'python^2'",
    ),
    "negative-radius": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        location = "Berlin, DE"
        radius_km = -5
        """,
        4, "'radius_km' must not be negative, not -5",
    ),
    "bad-email": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        email = "ana at example.org"
        """,
        3, "'ana at example.org' is not an email address",
    ),
    "bad-language": (
        "profiles.toml",
        """
        [[profile]]
        name = "ana"
        languages = ["English"]
        """,
        3, "bad language 'English': use ISO 639 codes such as 'en', 'de', 'es'",
    ),
    "bad-smtp-security": (
        "eventscout.toml",
        """
        [smtp]
        host = "mail.example.org"
        security = "tls"
        """,
        3, "unknown smtp security 'tls' (valid: starttls, ssl, none)",
    ),
    "bad-smtp-port": (
        "eventscout.toml",
        """
        [smtp]
        port = 70000
        """,
        2, "smtp port must be between 1 and 65535, not 70000",
    ),
    "bad-smtp-from": (
        "eventscout.toml",
        """
        [smtp]
        from = "the digest"
        """,
        2, "smtp 'from' 'the digest' is not an email address "
           "(e.g. \"Digest <digest@example.org>\")",
    ),
    "password-in-password-env": (
        "eventscout.toml",
        """
        [smtp]
        password_env = "hunter2!"
        """,
        2, "'password_env' must name an environment variable (like EVENTSCOUT_SMTP_PASSWORD), "
           "not 'hunter2!'; the password itself never goes in the file",
    ),
    "unknown-settings-key": (
        "eventscout.toml",
        """
        [crawl]
        concurrency = 4
        user-agent = "me"
        """,
        3, "unknown key 'user-agent' in [crawl] (did you mean 'user_agent'?)",
    ),
    "concurrency-zero": (
        "eventscout.toml",
        """
        [crawl]
        concurrency = 0
        """,
        2, "'concurrency' must be at least 1, not 0",
    ),
    "parse-workers-negative": (
        "eventscout.toml",
        """
        [crawl]
        parse_workers = -1
        """,
        2, "'parse_workers' must be 0 or more, not -1",
    ),
    "bad-database-url": (
        "eventscout.toml",
        """
        [database]
        url = "eventscout.db"
        """,
        2, "database url 'eventscout.db' is not a SQLAlchemy URL "
           "(e.g. sqlite:///eventscout.db or postgresql+psycopg://user@host/db)",
    ),
    "unknown-parent-industry": (
        "industries.toml",
        """
        [industry.quantum]
        label = "Quantum computing"
        keywords = ["qubit", "quantum"]
        parent = "physics"
        """,
        4, "unknown parent industry 'physics' for 'quantum' "
           f"(valid: {VALID_INDUSTRIES}, quantum)",
    ),
    "new-industry-without-label": (
        "industries.toml",
        """
        [industry.quantum]
        keywords = ["qubit"]
        """,
        1, "new industry 'quantum' needs a label",
    ),
    "single-source-table": (
        "sources.toml",
        """
        [source]
        name = "a"
        """,
        1, "sources are written as [[source]] tables (an array), not a single [source] table",
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_each_kind_of_error_is_reported_as_file_line_message(tmp_path: Path, case: str) -> None:
    name, text, line, message = ERROR_CASES[case]
    path = write(tmp_path, name, text)
    expected = f"{path}:{line}: {message}"
    found = problems(tmp_path)
    if expected.endswith("..."):     # the rest is a third-party library's message
        found = [p[:len(expected) - 3] + "..." for p in found]
    assert found == [expected], (
        f"{case}: expected exactly one problem\n  {expected}\nbut the loader reported\n  "
        + "\n  ".join(found)
    )


def test_all_problems_of_all_files_are_collected_and_str_joins_them(tmp_path: Path) -> None:
    sources = write(tmp_path, "sources.toml", """
        [[source]]
        name = "a"
        type = "icall"
        url = "gopher://example.org"
        """)
    profiles = write(tmp_path, "profiles.toml", """
        [[profile]]
        name = "ana"
        goals = ["fame"]
        radius_km = -1
        """)
    settings = write(tmp_path, "eventscout.toml", """
        [smtp]
        security = "tls"
        """)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    expected = [
        f"{settings}:2: unknown smtp security 'tls' (valid: starttls, ssl, none)",
        f"{sources}:3: unknown source type 'icall' (valid: {VALID_TYPES})",
        f"{sources}:4: bad url 'gopher://example.org': must start with http://, https:// "
        "or file://",
        f"{profiles}:3: unknown goal 'fame' (valid: support, opportunities, visibility)",
        f"{profiles}:4: 'radius_km' must not be negative, not -1",
    ]
    assert info.value.problems == expected, "every problem of every file, in file/line order"
    assert str(info.value) == "\n".join(expected)


def test_line_numbers_survive_multiline_arrays_strings_and_later_sources(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.toml", '''
        [[source]]
        name = "first"
        type = "ical"
        url = "https://example.org/a.ics"
        tags = [
          "type = 'not a key'",   # a comment with [brackets
          "x",
        ]
        group = """
        type = "also not a key"
        """

        [[source]]
        name = "second"
        type = "feed"
        url = "https://example.org/feed.xml"

        [[source]]
        name = "third"
        "type" = "rss"
        url = "https://example.org/rss"
        ''')
    assert problems(tmp_path) == [
        f"{path}:20: unknown source type 'rss' (valid: {VALID_TYPES})"
    ], "the error must point at the type line of the third [[source]], not an earlier one"


def test_file_that_is_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_bytes(b'[[source]]\nname = "caf\xe9"\n')
    assert problems(tmp_path) == [f"{path}:2: the file is not UTF-8 text (save it as UTF-8)"]


# --------------------------------------------------------------------------- values


def test_settings_map_every_documented_key(tmp_path: Path) -> None:
    write(tmp_path, "eventscout.toml", """
        [database]
        url = "sqlite:////tmp/events.db"
        [crawl]
        user_agent = "me/1.0 (+mailto:me@example.org)"
        concurrency = 4
        horizon_days = 90
        obey_robots = false
        timeout = 12.5
        max_body_mb = 5
        max_items_per_source = 100
        parse_workers = 3
        [digest]
        timezone = "America/Chicago"
        [smtp]
        host = "mail.example.org"
        port = 465
        security = "ssl"
        username = "digest"
        password_env = "MY_SMTP_PASSWORD"
        from = "Digest <digest@example.org>"
        """)
    s = load_config(tmp_path).settings
    assert (s.database_url, s.user_agent, s.concurrency, s.horizon_days, s.obey_robots) == (
        "sqlite:////tmp/events.db", "me/1.0 (+mailto:me@example.org)", 4, 90, False)
    assert s.parse_workers == 3
    assert (s.timeout, s.max_body_mb, s.max_items_per_source, s.digest_timezone) == (
        12.5, 5, 100, "America/Chicago")
    assert (s.smtp.host, s.smtp.port, s.smtp.security, s.smtp.username, s.smtp.password_env,
            s.smtp.from_addr) == ("mail.example.org", 465, "ssl", "digest", "MY_SMTP_PASSWORD",
                                  "Digest <digest@example.org>")


def test_empty_directory_gives_defaults_and_the_default_taxonomy(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.directory == tmp_path
    assert config.sources == [] and config.profiles == []
    assert config.settings.concurrency == 16 and config.settings.digest_timezone == "UTC"
    assert sorted(config.industries) == sorted(SPEC_SLUGS)


def test_source_and_profile_values_and_defaults(tmp_path: Path) -> None:
    write(tmp_path, "sources.toml", """
        # comment
        [[source]]
        name = "pyladies-berlin"
        type = "ical"
        url = "file:///srv/cal.ics"
        """)
    write(tmp_path, "profiles.toml", """
        [[profile]]
        name = "ana"
        interests = ["python", "data engineering^2.5"]
        location = "Berlin, DE"
        radius_km = 50
        """)
    config = load_config(tmp_path)
    source = config.source("pyladies-berlin")
    assert source is not None
    assert (source.type, source.url, source.enabled, source.line) == (
        "ical", "file:///srv/cal.ics", True, 2)
    ana = config.profile("ana")
    assert ana is not None
    assert ana.goals == list(GOALS), "goals left out means all three goals"
    assert (ana.location, ana.radius_km, ana.online, ana.line) == ("Berlin, DE", 50.0, True, 1)
    assert [parse_interest(i) for i in ana.interests] == [
        ("python", 1.0), ("data engineering", 2.5)]


@pytest.mark.parametrize("bad", ["python^", "^2", "data^x", "data^0", "data^-1", "a^b^2"])
def test_parse_interest_rejects_malformed_weights(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_interest(bad)


# --------------------------------------------------------------------------- search order


def make_config(directory: Path, marker: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    write(directory, "profiles.toml", f'[[profile]]\nname = "{marker}"\n')
    return directory


def test_explicit_dir_beats_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = make_config(tmp_path / "explicit", "explicit")
    monkeypatch.setenv(ENV_CONFIG, str(make_config(tmp_path / "env", "env")))
    assert find_config_dir(explicit) == explicit
    assert load_config(explicit).profiles[0].name == "explicit"


def test_env_var_beats_cwd_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_config(tmp_path / "config", "cwd")
    env = make_config(tmp_path / "env", "env")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_CONFIG, str(env))
    assert find_config_dir(None) == env
    assert load_config().profiles[0].name == "env"


def test_cwd_config_is_used_without_option_or_env(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make_config(tmp_path / "config", "cwd")
    monkeypatch.chdir(tmp_path)
    assert find_config_dir(None) == Path("config")
    assert load_config().profiles[0].name == "cwd"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_CONFIG_HOME is Linux-only")
def test_user_config_dir_is_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)          # no ./config here
    assert user_config_dir() == tmp_path / "xdg" / "eventscout"
    assert find_config_dir(None) is None, "no directory anywhere: defaults apply"
    make_config(tmp_path / "xdg" / "eventscout", "user")
    assert find_config_dir(None) == tmp_path / "xdg" / "eventscout"
    assert load_config().profiles[0].name == "user"


def test_missing_explicit_dir_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as info:
        find_config_dir(missing)
    assert str(info.value) == f"{missing}: configuration directory (--config) does not exist"
    monkeypatch.setenv(ENV_CONFIG, str(missing))
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == (
        f"{missing}: configuration directory (EVENTSCOUT_CONFIG) does not exist")


# --------------------------------------------------------------------------- taxonomy


def test_default_taxonomy_has_the_spec_slugs_with_keywords() -> None:
    industries = default_industries()
    missing = [slug for slug in SPEC_SLUGS if slug not in industries]
    assert not missing, f"SPEC.md industries missing from the default taxonomy: {missing}"
    for slug in SPEC_SLUGS:
        industry = industries[slug]
        assert industry.label, f"{slug} has no label"
        assert 10 <= len(industry.keywords) <= 30, (
            f"{slug} has {len(industry.keywords)} keywords; the taxonomy promises 10-30")
        assert industry.synonyms, f"{slug} has no synonyms"
        assert len(set(industry.keywords)) == len(industry.keywords), f"{slug}: repeated keyword"
    assert industries["fintech"].parent == "finance"
    assert industries["data"].label == "Data & AI"
    # the sources include Spanish, Dutch and German text
    assert "energía" in industries["energy"].keywords and "energie" in industries["energy"].keywords
    assert "periodismo" in industries["media"].keywords
    assert "onderwijs" in industries["education"].keywords


def test_user_taxonomy_extends_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, "industries.toml", """
        [industry.quantum]
        label = "Quantum computing"
        keywords = ["qubit", "quantum computing"]
        synonyms = ["quantum"]
        parent = "software"

        [industry.fintech]
        keywords = ["payments", "open banking"]
        """)
    write(tmp_path, "sources.toml", """
        [[source]]
        name = "q"
        type = "ical"
        url = "https://example.org/q.ics"
        industries = ["quantum"]
        """)
    config = load_config(tmp_path)
    assert config.industries["quantum"].label == "Quantum computing"
    assert config.industries["quantum"].keywords == ["qubit", "quantum computing"]
    fintech = config.industries["fintech"]
    assert fintech.keywords == ["payments", "open banking"], "the user's keywords replace"
    assert (fintech.label, fintech.parent) == ("Fintech", "finance"), "other keys stay default"
    assert config.industry_with_children("software") == {"software", "quantum"}
    assert config.source("q") is not None and config.source("q").industries == ["quantum"]


def test_industry_parent_cycle_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "industries.toml", """
        [industry.finance]
        parent = "fintech"
        """)
    assert problems(tmp_path) == [
        f"{path}:2: industry 'finance' is its own ancestor (parent 'fintech')"]


# --------------------------------------------------------------------------- shipped configs


def test_eval_config_loads_with_25_sources_and_8_profiles(tmp_path: Path) -> None:
    source_dir = EVAL / "config"
    if not (source_dir / "sources.toml").is_file():
        pytest.skip(f"evaluation set not found at {EVAL} (set EVENTSCOUT_EVAL)")
    target = tmp_path / "config"
    shutil.copytree(source_dir, target)
    sources = target / "sources.toml"
    sources.write_text(sources.read_text("utf-8").replace("{BASE}", "http://127.0.0.1:1"),
                       encoding="utf-8")
    config = load_config(target)
    assert len(config.sources) == 25
    assert len(config.profiles) == 8
    assert config.settings.concurrency == 8
    listing = config.source("chicago-business-calendar")
    assert listing is not None and listing.select["item"] == "article.listing"
    api = config.source("talentbridge-api")
    assert api is not None and api.fields["kind"] == "category"
    assert config.source("confs-tech").preset == "confs-tech"
    assert config.profile("rafael").online is False


def test_repo_config_dir_loads_cleanly() -> None:
    config = load_config(REPO / "config")
    assert config.sources, "the repository's config/ should list some sources"
    assert config.profiles


def test_starter_files_are_written_and_load_cleanly(tmp_path: Path) -> None:
    written = write_starter(tmp_path / "fresh")
    assert sorted(p.name for p in written) == [
        "eventscout.toml", "industries.toml", "profiles.toml", "sources.toml"]
    config = load_config(tmp_path / "fresh")
    assert {s.type for s in config.sources} == {"feed", "ical", "page", "html", "json", "csv"}, (
        "the starter should show one example of every source type")
    assert set(SPEC_SLUGS) <= set(config.industries)
    with pytest.raises(FileExistsError):
        write_starter(tmp_path / "fresh")
    assert set(starter_files()) == {p.name for p in written}


def test_unknown_profile_location_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text(
        '[[profile]]\nname = "ana"\nlocation = "Atlantis, XX"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value) == (f"{tmp_path / 'profiles.toml'}:3: unknown location 'Atlantis, XX': write "
                              "'City, CC' with a city of the offline gazetteer, e.g. 'Berlin, DE'")


def test_known_profile_locations_pass(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text(
        '[[profile]]\nname = "ana"\nlocation = "Mexico City, MX"\n\n[[profile]]\nname = "bo"\n'
        'location = "Zürich"\n', encoding="utf-8")
    assert [p.location for p in load_config(tmp_path).profiles] == ["Mexico City, MX", "Zürich"]


def test_source_by_name_follows_changes_to_the_list() -> None:
    from aggregator.config_types import Config, Profile, Settings, SourceConfig

    first = SourceConfig(name="a", type="feed", url="http://127.0.0.1/a.xml")
    config = Config(directory=None, settings=Settings(), sources=[first], profiles=[], industries={})
    assert config.source("a") is first and config.source("b") is None
    added = SourceConfig(name="b", type="feed", url="http://127.0.0.1/b.xml")
    config.sources.append(added)
    assert config.source("b") is added
    config.sources = [added]
    assert config.source("a") is None and config.source("b") is added
    replaced = SourceConfig(name="c", type="feed", url="http://127.0.0.1/c.xml")
    config.sources[0] = replaced                  # in place, the same length
    assert config.source("b") is None and config.source("c") is replaced
    replaced.name = "d"                           # renamed
    assert config.source("c") is None and config.source("d") is replaced
    profile = Profile(name="ana")
    config.profiles.append(profile)
    assert config.profile("ana") is profile and config.profile("bo") is None
