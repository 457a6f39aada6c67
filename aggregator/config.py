"""Find, load and validate the TOML configuration (SPEC.md, "Configuration").

``load_config(directory)`` reads ``eventscout.toml``, ``sources.toml``, ``profiles.toml`` and
``industries.toml`` from the configuration directory, checks every value and either returns a
:class:`~aggregator.config_types.Config` or raises :class:`ConfigError` listing *all* problems,
one ``FILE:LINE: what is wrong`` line each. Missing files are fine: no sources, no profiles,
default settings and the default industry taxonomy (``aggregator/data/industries.toml``).

tomllib gives values without positions, so a light scan of each file's text records the line of
every table header and key (:class:`_LineIndex`); problems point at the key that is wrong, or at
its table when the key is absent.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import fields
from email.utils import parseaddr
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator import cache
from aggregator.config_types import (
    Config,
    Industry,
    Profile,
    Settings,
    SmtpSettings,
    SourceConfig,
)
from aggregator.constants import CSV, GOALS, HTML, JSON, KINDS, PAGE, SOURCE_TYPES
from aggregator.items import EventItem

APP_NAME = "eventscout"
ENV_CONFIG = "EVENTSCOUT_CONFIG"
SETTINGS_FILE = "eventscout.toml"
SOURCES_FILE = "sources.toml"
PROFILES_FILE = "profiles.toml"
INDUSTRIES_FILE = "industries.toml"
CONFIG_FILES = (SETTINGS_FILE, SOURCES_FILE, PROFILES_FILE, INDUSTRIES_FILE)

# json/csv presets and the source type each one reads
PRESET_CONFS_TECH = "confs-tech"
PRESET_PYTHON_ORGANIZERS = "python-organizers"
PRESETS = {PRESET_CONFS_TECH: JSON, PRESET_PYTHON_ORGANIZERS: CSV}

SMTP_SECURITY = ("starttls", "ssl", "none")

# Item fields a [source.select] / [source.fields] table may map: the EventItem fields a source
# can state, plus "location" (free text: venue and/or address) and "kind" (free text mapped to
# the kind vocabulary, as EventItem.kind_text).
_PIPELINE_FIELDS = {"source", "key", "id", "start_utc", "end_utc", "goals", "sources"}
ITEM_FIELDS = frozenset(
    {f.name for f in fields(EventItem)} - _PIPELINE_FIELDS | {"location", "kind"}
)
SELECT_KEYS = ITEM_FIELDS | {"item"}      # html: "item" selects each listing entry
FIELD_KEYS = ITEM_FIELDS | {"items"}      # json: "items" is the dotted path to the array

_SLUG_RE = re.compile(r"^[a-z0-9-]+$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOML_POS_RE = re.compile(r"\(at line (\d+), column (\d+)\)$")


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` holds one ``FILE:LINE: message`` per line."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


# --------------------------------------------------------------------------- finding the dir


def user_config_dir() -> Path:
    """The platform's per-user configuration directory for eventscout (may not exist)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def find_config_dir(explicit: str | Path | None = None) -> Path | None:
    """The configuration directory, in SPEC order: ``--config DIR``, ``$EVENTSCOUT_CONFIG``,
    ``./config``, the user config dir. ``None`` when none exists (defaults apply).

    A directory named explicitly (by the option or the variable) that does not exist is an error.
    """
    for given, how in ((explicit, "--config"), (os.environ.get(ENV_CONFIG) or None, ENV_CONFIG)):
        if given is None:
            continue
        path = Path(given)
        if not path.is_dir():
            what = "is not a directory" if path.exists() else "does not exist"
            raise ConfigError([f"{path}: configuration directory ({how}) {what}"])
        return path
    local = Path("config")
    if local.is_dir():
        return local
    user = user_config_dir()
    if user.is_dir():
        return user
    return None


# --------------------------------------------------------------------------- line index

_Path = tuple[str | int, ...]


class _LineIndex:
    """Line numbers of table headers and keys in a TOML text, by resolved path.

    ``("source", 2, "type")`` is the ``type`` key of the third ``[[source]]``;
    ``("source", 2, "select")`` the ``[source.select]`` header that belongs to it.
    Only used for valid TOML (tomllib has parsed the same text).
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[_Path, int] = {}
        self.last_line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        self._aot: dict[_Path, int] = {}
        self._scan(text)

    def line(self, path: _Path) -> int:
        """The line of ``path``, or of its nearest recorded ancestor, else 1."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1

    def _resolve(self, parts: list[str]) -> _Path:
        resolved: _Path = ()
        for part in parts:
            resolved = (*resolved, part)
            count = self._aot.get(resolved)
            if count:
                resolved = (*resolved, count - 1)
        return resolved

    def _scan(self, text: str) -> None:
        current: _Path = ()
        open_string: str | None = None   # '"""' or "'''" while inside a multi-line string
        depth = 0                        # open brackets of a multi-line array / table
        for lineno, raw in enumerate(text.splitlines(), 1):
            rest = raw
            if open_string is not None:
                pos = _find_closing(rest, open_string)
                if pos < 0:
                    continue
                rest = rest[pos + 3:]
                open_string = None
                open_string, depth = _scan_value(rest, depth)
                continue
            if depth > 0:
                open_string, depth = _scan_value(rest, depth)
                continue
            stripped = rest.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("[["):
                parts, _ = _split_key(stripped[2:])
                if not parts:        # "[[" without a name: tomllib reports it
                    continue
                parent = self._resolve(parts[:-1])
                table = (*parent, parts[-1])
                self._aot[table] = self._aot.get(table, 0) + 1
                current = (*table, self._aot[table] - 1)
                self.lines.setdefault(current, lineno)
                self.lines.setdefault(table, lineno)
                continue
            if stripped.startswith("["):
                parts, _ = _split_key(stripped[1:])
                if not parts:
                    continue
                current = self._resolve(parts)
                self.lines.setdefault(current, lineno)
                continue
            parts, after = _split_key(stripped)
            if not parts or not after.lstrip().startswith("="):
                continue
            for end in range(1, len(parts) + 1):
                self.lines.setdefault((*current, *parts[:end]), lineno)
            open_string, depth = _scan_value(after.lstrip()[1:], 0)


def _split_key(text: str) -> tuple[list[str], str]:
    """Parse a (dotted, possibly quoted) TOML key at the start of ``text``: (parts, the rest)."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        ch = text[i]
        if ch in "\"'":
            end = i + 1
            while end < n and text[end] != ch:
                end += 2 if (ch == '"' and text[end] == "\\") else 1
            raw = text[i + 1:end]
            parts.append(_unquote(ch, raw))
            i = end + 1
        else:
            match = re.match(r"[A-Za-z0-9_-]+", text[i:])
            if not match:
                break
            parts.append(match.group(0))
            i += match.end()
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == ".":
            i += 1
            continue
        break
    return parts, text[i:]


def _unquote(quote: str, raw: str) -> str:
    if quote == "'" or "\\" not in raw:
        return raw
    try:
        return str(tomllib.loads(f'k = "{raw}"')["k"])
    except tomllib.TOMLDecodeError:
        return raw


def _find_closing(text: str, delim: str) -> int:
    i = 0
    while True:
        pos = text.find(delim, i)
        if pos < 0 or delim == "'''":
            return pos
        backslashes = len(text[:pos]) - len(text[:pos].rstrip("\\"))
        if backslashes % 2 == 0:
            return pos
        i = pos + 1


def _scan_value(text: str, depth: int) -> tuple[str | None, int]:
    """Follow a value to the end of its line: (open multi-line string delimiter, bracket depth)."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            break
        if text.startswith('"""', i) or text.startswith("'''", i):
            delim = text[i:i + 3]
            pos = _find_closing(text[i + 3:], delim)
            if pos < 0:
                return delim, depth
            i += 3 + pos + 3
            continue
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch == "'":
            end = text.find("'", i + 1)
            i = n if end < 0 else end
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None, depth


# --------------------------------------------------------------------------- one file


class _File:
    """One TOML file being validated: its parsed data, line index and problems."""

    def __init__(self, label: str, text: str | None, problems: list[tuple[str, int, str]]):
        self.label = label
        self.problems = problems
        self.data: dict[str, Any] = {}
        self.ok = True
        self.index = _LineIndex(text or "")
        if text is None:
            return
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.ok = False
            message = str(exc)
            match = _TOML_POS_RE.search(message)
            if match:
                line = int(match.group(1))
                message = f"{message[:match.start()].rstrip()} (column {match.group(2)})"
            else:
                line = self.index.last_line
                message = message.replace(" (at end of document)", " at the end of the file")
            self.problems.append((label, line, f"TOML syntax error: {message}"))

    def error(self, path: _Path, message: str) -> None:
        self.problems.append((self.label, self.index.line(path), message))

    # typed getters: return the value when present and of the right type, report otherwise

    def get(self, table: Mapping[str, Any], path: _Path, key: str, kind: str) -> Any:
        if key not in table:
            return None
        value = table[key]
        if _is_kind(value, kind):
            return value
        self.error((*path, key), f"'{key}' must be {_KIND_NAMES[kind]}, not {_describe(value)}")
        return None

    def check_keys(self, table: Mapping[str, Any], path: _Path, allowed: Iterable[str],
                   where: str) -> None:
        allowed = sorted(allowed)
        for key in table:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "valid: " + ", ".join(allowed)
            self.error((*path, key), f"unknown key '{key}' in {where} ({hint})")

    def required(self, table: Mapping[str, Any], path: _Path, key: str, where: str) -> bool:
        if key in table:
            return True
        self.error(path, f"{where} has no '{key}'")
        return False


_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "bool": "true or false",
    "strlist": "a list of strings",
    "table": "a table",
}


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "num":
        return (isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value))
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "strlist":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "table":
        return isinstance(value, dict)
    raise ValueError(kind)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        bad = next((v for v in value if not isinstance(v, str)), None)
        return "a list" if bad is None else f"a list containing {_describe(bad)}"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _valid_list(values: Iterable[str]) -> str:
    return ", ".join(values)


def _timezone_ok(name: str) -> bool:
    if not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable source URL (http(s):// with a host, or file://), or None."""
    if not url or any(ch.isspace() for ch in url):
        return "must not be empty or contain spaces"
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return None if parts.hostname else "has no host"
    if parts.scheme == "file":
        return None if parts.path else "has no path"
    return "must start with http://, https:// or file://"


def is_xpath(selector: str) -> bool:
    """True when a configured selector is XPath rather than CSS (the rule of spiders/html.py)."""
    return selector.startswith(("/", "./", "../", "("))


def selector_problem(selector: str) -> str | None:
    """Why a CSS (with ::text / ::attr(name)) or XPath selector cannot be compiled, or None."""
    if not selector.strip():
        return "is empty"
    if is_xpath(selector):
        from lxml import etree

        try:
            etree.XPath(selector)
        except etree.XPathSyntaxError as exc:
            return f"is not valid XPath ({exc})"
        return None
    from cssselect import SelectorError
    from parsel.csstranslator import HTMLTranslator

    try:
        HTMLTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        return f"is not valid CSS ({exc})"
    return None


def parse_interest(text: str) -> tuple[str, float]:
    """``"data engineering^2"`` -> ``("data engineering", 2.0)``; no ``^`` means weight 1.

    Raises ValueError for a malformed weight, an empty term or a weight that is not positive.
    """
    term, caret, weight = text.rpartition("^")
    if not caret:
        term, value = text, 1.0
    else:
        value = float(weight)        # ValueError for "", "abc"
    term = term.strip()
    if not term or "^" in term:
        raise ValueError(f"bad interest {text!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"bad weight in {text!r}")
    return term, value


# --------------------------------------------------------------------------- settings


def _load_settings(f: _File) -> Settings:
    settings = Settings()
    data = f.data
    f.check_keys(data, (), ("database", "crawl", "digest", "smtp"), SETTINGS_FILE)

    def table(name: str) -> dict[str, Any]:
        value = f.get(data, (), name, "table")
        return value if value is not None else {}

    database = table("database")
    f.check_keys(database, ("database",), ("url",), "[database]")
    url = f.get(database, ("database",), "url", "str")
    if url is not None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(url)
        except ArgumentError:
            f.error(("database", "url"),
                    f"database url {url!r} is not a SQLAlchemy URL "
                    "(e.g. sqlite:///eventscout.db or postgresql+psycopg://user@host/db)")
        else:
            settings.database_url = url

    crawl = table("crawl")
    path: _Path = ("crawl",)
    f.check_keys(crawl, path, ("user_agent", "concurrency", "horizon_days", "obey_robots",
                               "timeout", "max_body_mb", "max_items_per_source", "parse_workers"), "[crawl]")
    agent = f.get(crawl, path, "user_agent", "str")
    if agent is not None:
        if agent.strip():
            settings.user_agent = agent
        else:
            f.error((*path, "user_agent"), "'user_agent' must not be empty")
    for key in ("concurrency", "horizon_days", "max_body_mb", "max_items_per_source"):
        number = f.get(crawl, path, key, "int")
        if number is not None:
            if number >= 1:
                setattr(settings, key, number)
            else:
                f.error((*path, key), f"'{key}' must be at least 1, not {number}")
    workers = f.get(crawl, path, "parse_workers", "int")
    if workers is not None:
        if workers >= 0:
            settings.parse_workers = workers
        else:
            f.error((*path, "parse_workers"), f"'parse_workers' must be 0 or more, not {workers}")
    robots = f.get(crawl, path, "obey_robots", "bool")
    if robots is not None:
        settings.obey_robots = robots
    timeout = f.get(crawl, path, "timeout", "num")
    if timeout is not None:
        if timeout > 0:
            settings.timeout = float(timeout)
        else:
            f.error((*path, "timeout"), f"'timeout' must be more than 0 seconds, not {timeout}")

    digest = table("digest")
    f.check_keys(digest, ("digest",), ("timezone",), "[digest]")
    zone = f.get(digest, ("digest",), "timezone", "str")
    if zone is not None:
        if _timezone_ok(zone):
            settings.digest_timezone = zone
        else:
            f.error(("digest", "timezone"), _bad_timezone(zone))

    settings.smtp = _load_smtp(f, table("smtp"))
    return settings


def _load_smtp(f: _File, smtp: dict[str, Any]) -> SmtpSettings:
    result = SmtpSettings()
    path: _Path = ("smtp",)
    f.check_keys(smtp, path, ("host", "port", "security", "username", "password_env", "from",
                              "timeout"), "[smtp]")
    host = f.get(smtp, path, "host", "str")
    if host is not None:
        if host.strip() and not any(ch.isspace() for ch in host):
            result.host = host
        else:
            f.error((*path, "host"), f"smtp host {host!r} is not a host name")
    port = f.get(smtp, path, "port", "int")
    if port is not None:
        if 1 <= port <= 65535:
            result.port = port
        else:
            f.error((*path, "port"), f"smtp port must be between 1 and 65535, not {port}")
    security = f.get(smtp, path, "security", "str")
    if security is not None:
        if security in SMTP_SECURITY:
            result.security = security
        else:
            f.error((*path, "security"),
                    f"unknown smtp security {security!r} (valid: {_valid_list(SMTP_SECURITY)})")
    username = f.get(smtp, path, "username", "str")
    if username is not None:
        result.username = username or None
    env = f.get(smtp, path, "password_env", "str")
    if env is not None:
        if _ENV_NAME_RE.match(env):
            result.password_env = env
        else:
            f.error((*path, "password_env"),
                    f"'password_env' must name an environment variable (like "
                    f"EVENTSCOUT_SMTP_PASSWORD), not {env!r}; the password itself never goes "
                    "in the file")
    sender = f.get(smtp, path, "from", "str")
    if sender is not None:
        _name, address = parseaddr(sender)
        if _EMAIL_RE.match(address):
            result.from_addr = sender
        else:
            f.error((*path, "from"),
                    f"smtp 'from' {sender!r} is not an email address "
                    "(e.g. \"Digest <digest@example.org>\")")
    timeout = f.get(smtp, path, "timeout", "num")
    if timeout is not None:
        if timeout > 0:
            result.timeout = float(timeout)
        else:
            f.error((*path, "timeout"), f"'timeout' must be more than 0 seconds, not {timeout}")
    return result


def _bad_timezone(zone: str) -> str:
    return f"unknown timezone {zone!r} (use an IANA name such as Europe/Berlin or UTC)"


# --------------------------------------------------------------------------- industries


_INDUSTRY_KEYS = ("label", "keywords", "synonyms", "parent")


def _read_industries(f: _File, base: dict[str, Industry]) -> dict[str, Industry]:
    """``base`` extended/overridden by the ``[industry.<slug>]`` tables of ``f``."""
    result = {slug: Industry(ind.slug, ind.label, list(ind.keywords), list(ind.synonyms),
                             ind.parent) for slug, ind in base.items()}
    f.check_keys(f.data, (), ("industry",), INDUSTRIES_FILE)
    tables = f.get(f.data, (), "industry", "table") or {}
    parents: dict[str, _Path] = {}
    for slug, table in tables.items():
        path: _Path = ("industry", slug)
        where = f"[industry.{slug}]"
        if not _SLUG_RE.match(slug):
            f.error(path, f"bad industry slug {slug!r}: use lower-case letters, digits and '-'")
            continue
        if not isinstance(table, dict):
            f.error(path, f"industry {slug!r} must be a table [industry.{slug}], "
                          f"not {_describe(table)}")
            continue
        f.check_keys(table, path, _INDUSTRY_KEYS, where)
        label = f.get(table, path, "label", "str")
        keywords = f.get(table, path, "keywords", "strlist")
        synonyms = f.get(table, path, "synonyms", "strlist")
        parent = f.get(table, path, "parent", "str")
        if label is not None and not label.strip():
            f.error((*path, "label"), f"industry {slug!r} has an empty label")
            label = None
        for key, words in (("keywords", keywords), ("synonyms", synonyms)):
            if words and any(not w.strip() for w in words):
                f.error((*path, key), f"'{key}' of industry {slug!r} contains an empty string")
        industry = result.get(slug)
        if industry is None:
            if label is None:
                if "label" not in table:
                    f.error(path, f"new industry {slug!r} needs a label")
                continue
            industry = result[slug] = Industry(slug, label)
        if label is not None:
            industry.label = label
        if keywords is not None:
            industry.keywords = [w.strip().lower() for w in keywords if w.strip()]
        if synonyms is not None:
            industry.synonyms = [w.strip().lower() for w in synonyms if w.strip()]
        if parent is not None:
            industry.parent = parent or None
            parents[slug] = (*path, "parent")
    for slug, path in parents.items():
        parent = result[slug].parent
        if parent is None:
            continue
        if parent not in result:
            f.error(path, f"unknown parent industry {parent!r} for {slug!r} "
                          f"(valid: {_valid_list(result)})")
            result[slug].parent = None
            continue
        seen = {slug}
        while parent is not None and parent not in seen:
            seen.add(parent)
            parent = result[parent].parent if parent in result else None
        if parent is not None:
            f.error(path, f"industry {slug!r} is its own ancestor (parent {result[slug].parent!r})")
            result[slug].parent = None
    return result


_default_cache: dict[str, Industry] | None = None


def default_industries() -> dict[str, Industry]:
    """The taxonomy shipped in ``aggregator/data/industries.toml`` (a fresh copy)."""
    global _default_cache
    if _default_cache is None:
        resource = resources.files("aggregator") / "data" / INDUSTRIES_FILE
        problems: list[tuple[str, int, str]] = []
        f = _File(f"aggregator/data/{INDUSTRIES_FILE}", resource.read_text("utf-8"), problems)
        industries = _read_industries(f, {}) if f.ok else {}
        if problems:
            raise ConfigError(_render(problems))
        _default_cache = industries
    return {slug: Industry(i.slug, i.label, list(i.keywords), list(i.synonyms), i.parent)
            for slug, i in _default_cache.items()}


# --------------------------------------------------------------------------- sources


_SOURCE_COMMON = {
    "name": "str", "type": "str", "url": "str", "group": "str", "industries": "strlist",
    "tags": "strlist", "city": "str", "country": "str", "timezone": "str", "enabled": "bool",
}
_SOURCE_SPECIFIC = {
    "follow": ("str", (PAGE,)),
    "next_page": ("str", (HTML,)),
    "select": ("table", (HTML,)),
    "preset": ("str", (JSON, CSV)),
    "fields": ("table", (JSON, CSV)),
}


def _read_sources(f: _File, industries: dict[str, Industry] | None) -> list[SourceConfig]:
    f.check_keys(f.data, (), ("source",), SOURCES_FILE)
    raw = f.data.get("source")
    if raw is None:
        return []
    if not isinstance(raw, list):
        f.error(("source",), "sources are written as [[source]] tables (an array), "
                             "not a single [source] table")
        return []
    sources: list[SourceConfig] = []
    first_line: dict[str, int] = {}
    for n, table in enumerate(raw):
        path: _Path = ("source", n)
        if not isinstance(table, dict):
            f.error(path, f"each source must be a [[source]] table, not {_describe(table)}")
            continue
        name = table.get("name")
        if isinstance(name, str):
            if name in first_line:
                f.error((*path, "name"), f"duplicate source name {name!r} "
                                         f"(first defined at line {first_line[name]})")
                continue
            first_line[name] = f.index.line(path)
        source = _read_source(f, table, path, industries)
        if source is not None:
            sources.append(source)
    return sources


def _read_source(f: _File, table: dict[str, Any], path: _Path,
                 industries: dict[str, Industry] | None) -> SourceConfig | None:
    values = {key: f.get(table, path, key, kind) for key, kind in _SOURCE_COMMON.items()}
    name = values["name"]
    where = f"[[source]] {name!r}" if name else "[[source]]"
    f.check_keys(table, path, [*_SOURCE_COMMON, *_SOURCE_SPECIFIC], where)
    ok = True
    for key in ("name", "type", "url"):
        if not f.required(table, path, key, where) or values[key] is None:
            ok = False
    if name is not None and not _SLUG_RE.match(name):
        f.error((*path, "name"),
                f"bad source name {name!r}: use lower-case letters, digits and '-' "
                "(e.g. pyladies-berlin)")
        ok = False
    kind = values["type"]
    if kind is not None and kind not in SOURCE_TYPES:
        f.error((*path, "type"),
                f"unknown source type {kind!r} (valid: {_valid_list(SOURCE_TYPES)})")
        ok = False
        kind = None
    url = values["url"]
    if url is not None:
        problem = url_problem(url)
        if problem:
            f.error((*path, "url"), f"bad url {url!r}: {problem}")
            ok = False
    zone = values["timezone"]
    if zone is not None and not _timezone_ok(zone):
        f.error((*path, "timezone"), _bad_timezone(zone))
        ok = False
    for key in ("group", "city", "country"):
        if values[key] is not None and not values[key].strip():
            f.error((*path, key), f"'{key}' must not be empty (leave it out instead)")
            ok = False
    ok &= _check_industry_list(f, values["industries"], (*path, "industries"), industries)
    if values["tags"] is not None and any(not t.strip() for t in values["tags"]):
        f.error((*path, "tags"), "'tags' contains an empty string")
        ok = False

    specific: dict[str, Any] = {}
    for key, (key_kind, types) in _SOURCE_SPECIFIC.items():
        if key not in table:
            continue
        if kind is not None and kind not in types:
            only = " or ".join(repr(t) for t in types)
            f.error((*path, key), f"'{key}' applies to sources of type {only}, not {kind!r}")
            ok = False
            continue
        specific[key] = f.get(table, path, key, key_kind)
        ok &= specific[key] is not None

    select = specific.get("select") or {}
    fields_map = specific.get("fields") or {}
    ok &= _check_selectors(f, path, specific)
    if select:
        ok &= _check_mapping(f, select, (*path, "select"), SELECT_KEYS,
                             f"[source.select] of {name!r}", css=True)
    if fields_map:
        ok &= _check_mapping(f, fields_map, (*path, "fields"), FIELD_KEYS,
                             f"[source.fields] of {name!r}", css=False)
    if kind == HTML and "select" in table and specific.get("select") is not None:
        for key in ("item", "title", "start"):
            if key not in select:
                f.error((*path, "select"),
                        f"[source.select] of {name!r} has no '{key}' selector")
                ok = False
    elif kind == HTML and "select" not in table:
        f.error(path, f"html source {name!r} needs a [source.select] table with at least "
                      "'item', 'title' and 'start' selectors")
        ok = False
    if kind in (JSON, CSV):
        ok &= _check_data_source(f, table, path, name, kind, specific)
    if not ok:
        return None
    return SourceConfig(
        name=name, type=kind, url=url, group=values["group"],
        industries=list(values["industries"] or []), tags=list(values["tags"] or []),
        city=values["city"], country=values["country"], timezone=zone,
        enabled=True if values["enabled"] is None else values["enabled"],
        follow=specific.get("follow"), next_page=specific.get("next_page"),
        select=dict(select), preset=specific.get("preset"), fields=dict(fields_map),
        line=f.index.line(path),
    )


def _check_selectors(f: _File, path: _Path, specific: dict[str, Any]) -> bool:
    ok = True
    for key in ("follow", "next_page"):
        selector = specific.get(key)
        if selector is None:
            continue
        problem = selector_problem(selector)
        if problem:
            f.error((*path, key), f"'{key}' selector {selector!r} {problem}")
            ok = False
    return ok


def _check_mapping(f: _File, mapping: dict[str, Any], path: _Path, allowed: Iterable[str],
                   where: str, css: bool) -> bool:
    ok = True
    allowed = set(allowed)
    for key, value in mapping.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else \
                "valid: " + _valid_list(sorted(allowed))
            f.error((*path, key), f"unknown key '{key}' in {where} ({hint})")
            ok = False
            continue
        if not isinstance(value, str):
            f.error((*path, key), f"'{key}' in {where} must be a string, not {_describe(value)}")
            ok = False
            continue
        if not value.strip():
            f.error((*path, key), f"'{key}' in {where} is empty")
            ok = False
            continue
        if css:
            problem = selector_problem(value)
            if problem:
                f.error((*path, key), f"'{key}' selector {value!r} {problem}")
                ok = False
    return ok


def _check_data_source(f: _File, table: dict[str, Any], path: _Path, name: str | None,
                       kind: str, specific: dict[str, Any]) -> bool:
    preset = specific.get("preset")
    fields_map = specific.get("fields")
    if "preset" in table and preset is not None:
        if preset not in PRESETS:
            f.error((*path, "preset"),
                    f"unknown preset {preset!r} (valid: {_valid_list(PRESETS)})")
            return False
        if PRESETS[preset] != kind:
            f.error((*path, "preset"),
                    f"preset {preset!r} reads {PRESETS[preset]} data; set type = "
                    f"{PRESETS[preset]!r} (not {kind!r})")
            return False
        return True
    if "preset" in table or "fields" in table and fields_map is None:
        return False        # already reported as a wrong type
    if fields_map is None:
        f.error(path, f"{kind} source {name!r} needs a preset ({_valid_list(PRESETS)}) "
                      "or a [source.fields] table")
        return False
    ok = True
    for key in ("title", "start"):
        if key not in fields_map:
            f.error((*path, "fields"), f"[source.fields] of {name!r} has no '{key}'")
            ok = False
    if kind == CSV and "items" in fields_map:
        f.error((*path, "fields", "items"),
                f"'items' in [source.fields] of {name!r} applies to json sources only")
        ok = False
    return ok


def _check_industry_list(f: _File, slugs: list[str] | None, path: _Path,
                         industries: dict[str, Industry] | None) -> bool:
    if not slugs or industries is None:
        return True
    ok = True
    for slug in slugs:
        if slug not in industries:
            f.error(path, f"unknown industry {slug!r} (valid: {_valid_list(industries)})")
            ok = False
    return ok


# --------------------------------------------------------------------------- profiles


_PROFILE_KEYS = {
    "name": "str", "email": "str", "interests": "strlist", "industries": "strlist",
    "goals": "strlist", "kinds": "strlist", "location": "str", "radius_km": "num",
    "online": "bool", "exclude": "strlist", "max_price": "num", "languages": "strlist",
    "timezone": "str",
}


def _read_profiles(f: _File, industries: dict[str, Industry] | None) -> list[Profile]:
    f.check_keys(f.data, (), ("profile",), PROFILES_FILE)
    raw = f.data.get("profile")
    if raw is None:
        return []
    if not isinstance(raw, list):
        f.error(("profile",), "profiles are written as [[profile]] tables (an array), "
                              "not a single [profile] table")
        return []
    profiles: list[Profile] = []
    first_line: dict[str, int] = {}
    for n, table in enumerate(raw):
        path: _Path = ("profile", n)
        if not isinstance(table, dict):
            f.error(path, f"each profile must be a [[profile]] table, not {_describe(table)}")
            continue
        name = table.get("name")
        if isinstance(name, str):
            if name in first_line:
                f.error((*path, "name"), f"duplicate profile name {name!r} "
                                         f"(first defined at line {first_line[name]})")
                continue
            first_line[name] = f.index.line(path)
        profile = _read_profile(f, table, path, industries)
        if profile is not None:
            profiles.append(profile)
    return profiles


def _read_profile(f: _File, table: dict[str, Any], path: _Path,
                  industries: dict[str, Industry] | None) -> Profile | None:
    v = {key: f.get(table, path, key, kind) for key, kind in _PROFILE_KEYS.items()}
    name = v["name"]
    where = f"[[profile]] {name!r}" if name else "[[profile]]"
    f.check_keys(table, path, _PROFILE_KEYS, where)
    bad = len(f.problems)
    if f.required(table, path, "name", where) and name is not None and not _SLUG_RE.match(name):
        f.error((*path, "name"),
                f"bad profile name {name!r}: use lower-case letters, digits and '-'")
    if v["email"] is not None and not _EMAIL_RE.match(v["email"]):
        f.error((*path, "email"), f"{v['email']!r} is not an email address")
    for interest in v["interests"] or []:
        try:
            parse_interest(interest)
        except ValueError:
            f.error((*path, "interests"),
                    f"malformed interest {interest!r}: write 'term' or 'term^weight' with a "
                    "positive number, e.g. 'python^2'")
    _check_industry_list(f, v["industries"], (*path, "industries"), industries)
    for key, vocabulary, what in (("goals", GOALS, "goal"), ("kinds", KINDS, "kind")):
        for value in v[key] or []:
            if value not in vocabulary:
                f.error((*path, key),
                        f"unknown {what} {value!r} (valid: {_valid_list(vocabulary)})")
    for key in ("radius_km", "max_price"):
        if v[key] is not None and v[key] < 0:
            f.error((*path, key), f"'{key}' must not be negative, not {v[key]}")
    if v["location"] is not None and not v["location"].strip():
        f.error((*path, "location"), "'location' must not be empty (leave it out instead)")
    elif v["location"] is not None:
        from aggregator.geo import find_place

        if find_place(v["location"]) is None:
            f.error((*path, "location"), f"unknown location {v['location']!r}: write 'City, CC' "
                    "with a city of the offline gazetteer, e.g. 'Berlin, DE'")
    if v["timezone"] is not None and not _timezone_ok(v["timezone"]):
        f.error((*path, "timezone"), _bad_timezone(v["timezone"]))
    for language in v["languages"] or []:
        if not _LANGUAGE_RE.match(language):
            f.error((*path, "languages"),
                    f"bad language {language!r}: use ISO 639 codes such as 'en', 'de', 'es'")
    for key in ("exclude", "interests"):
        if any(not s.strip() for s in v[key] or []):
            f.error((*path, key), f"'{key}' contains an empty string")
    if len(f.problems) > bad or name is None:
        return None
    return Profile(
        name=name,
        email=v["email"],
        interests=list(v["interests"] or []),
        industries=list(v["industries"] or []),
        goals=list(v["goals"] or GOALS),
        kinds=list(v["kinds"] or []),
        location=v["location"],
        radius_km=None if v["radius_km"] is None else float(v["radius_km"]),
        online=True if v["online"] is None else v["online"],
        exclude=list(v["exclude"] or []),
        max_price=None if v["max_price"] is None else float(v["max_price"]),
        languages=list(v["languages"] or []),
        timezone=v["timezone"],
        line=f.index.line(path),
    )


# --------------------------------------------------------------------------- loading


def _read_text(path: Path, label: str,
               problems: list[tuple[str, int, str]]) -> str | None:
    """The file's text, None when it is absent; unreadable files are reported."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        problems.append((label, 0, "is a directory, not a TOML file"))
        return None
    except OSError as exc:
        problems.append((label, 0, f"cannot read the file ({exc.strerror})"))
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        problems.append((label, line, "the file is not UTF-8 text (save it as UTF-8)"))
        return None


def _render(problems: list[tuple[str, int, str]]) -> list[str]:
    out: list[str] = []
    for label, line, message in problems:
        text = f"{label}:{line}: {message}" if line else f"{label}: {message}"
        if text not in out:
            out.append(text)
    return out


def load_config(directory: str | Path | None = None) -> Config:
    """Load and validate the configuration found by :func:`find_config_dir`.

    Raises ConfigError listing every problem in every file; returns only a fully valid Config.
    A valid configuration is kept in the user cache dir under a key of the files' text and of
    this code, so that a run whose files did not change reads it back instead of validating
    again (a thousand profiles took half a second).
    """
    found = find_config_dir(directory)
    problems: list[tuple[str, int, str]] = []
    labels: dict[str, str] = {}
    texts: dict[str, str | None] = {}
    unreadable: dict[str, list[tuple[str, int, str]]] = {}
    for name in CONFIG_FILES:
        path = found / name if found is not None else None
        labels[name] = str(path) if path is not None else name
        file_problems: list[tuple[str, int, str]] = []
        texts[name] = _read_text(path, labels[name], file_problems) if path is not None else None
        unreadable[name] = file_problems

    key = None if any(unreadable.values()) else _cache_key(found, texts)
    if key is not None:
        hit = cache.load("config", key, lambda value: isinstance(value, Config))
        if hit is not None:
            return hit  # type: ignore[return-value]

    files: dict[str, _File] = {}
    for name in CONFIG_FILES:
        files[name] = _File(labels[name], texts[name], unreadable[name])
        if unreadable[name]:
            files[name].ok = False

    industries_file = files[INDUSTRIES_FILE]
    industries = _read_industries(industries_file, default_industries()) \
        if industries_file.ok else default_industries()
    # an unreadable industries.toml would make every user slug look unknown: skip that check
    known = industries if industries_file.ok else None

    settings = _load_settings(files[SETTINGS_FILE]) if files[SETTINGS_FILE].ok else Settings()
    sources = _read_sources(files[SOURCES_FILE], known) if files[SOURCES_FILE].ok else []
    profiles = _read_profiles(files[PROFILES_FILE], known) if files[PROFILES_FILE].ok else []

    for name in CONFIG_FILES:
        problems.extend(sorted(files[name].problems, key=lambda p: p[1]))
    if problems:
        raise ConfigError(_render(problems))
    config = Config(directory=found, settings=settings, sources=sources, profiles=profiles,
                    industries=industries)
    if key is not None:
        cache.store("config", key, config, keep=_CACHED_CONFIGS)
    return config


_CACHED_CONFIGS = 8     # configurations kept in the cache dir (several config dirs, a few edits)
# what validation reads besides the files: this code, its vocabularies and default taxonomy;
# the libraries that judge selectors, database URLs and time zones; the time zone database
_CODE = ("config.py", "config_types.py", "constants.py", "items.py", "data/" + INDUSTRIES_FILE)
_LIBRARIES = ("lxml", "cssselect", "parsel", "sqlalchemy", "tzdata")


@functools.lru_cache(maxsize=1)
def _code_key() -> str:
    import importlib.util
    import zoneinfo

    from aggregator import geo  # profile locations are checked against the gazetteer

    here = Path(__file__).parent
    found = [sys.version, sys.prefix, geo.cache_key()]
    for name in _LIBRARIES:        # where each is installed and when (an upgrade rewrites it)
        spec = importlib.util.find_spec(name)
        found.append(f"{name}:{cache.stamp(spec.origin if spec else None)}")
    found += [cache.stamp(folder) for folder in zoneinfo.TZPATH]
    return cache.file_key([here / name for name in _CODE], found)


def _cache_key(found: Path | None, texts: Mapping[str, str | None]) -> str:
    parts = [_code_key(), str(found)]
    for name in CONFIG_FILES:
        text = texts[name]
        parts += [name, "(absent)" if text is None else text]
    return cache.file_key([], parts)


# --------------------------------------------------------------------------- starter


def starter_files() -> dict[str, str]:
    """The starter configuration ``eventscout init`` writes: file name -> text."""
    folder = resources.files("aggregator") / "data" / "starter"
    return {name: (folder / name).read_text("utf-8") for name in CONFIG_FILES}


def write_starter(directory: str | Path, force: bool = False) -> list[Path]:
    """Write the starter files into ``directory`` (created if needed); returns the paths.

    Raises FileExistsError naming the files that exist already, unless ``force``.
    """
    target = Path(directory)
    files = starter_files()
    existing = [target / name for name in files if (target / name).exists()]
    if existing and not force:
        raise FileExistsError(", ".join(str(p) for p in existing))
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
        written.append(target / name)
    return written
