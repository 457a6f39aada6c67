"""`sources add` and `sources remove`: type detection and editing sources.toml in place
(tomlkit keeps the user's comments and layout)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import tomlkit

from aggregator import constants as C
from aggregator.config_types import Config
from aggregator.normalize import slugify

MAX_BYTES = 5 * 1024 * 1024
_ALT = re.compile(r"<link\b[^>]*>", re.I)


class AdminError(Exception):
    """A source cannot be added or removed; the message says why."""


def fetch(url: str, user_agent: str, timeout: float = 20.0) -> tuple[bytes, str, str]:
    """(body, content type, final URL)."""
    if not re.match(r"^(https?|file)://", url, re.I):
        raise AdminError(f"not an http(s):// or file:// URL: {url}")
    req = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
            body = resp.read(MAX_BYTES + 1)
            ctype = resp.headers.get("Content-Type", "") if hasattr(resp, "headers") else ""
            final = resp.geturl()
    except urllib.error.HTTPError as exc:
        raise AdminError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AdminError(f"{url}: cannot fetch: {reason}") from None
    if len(body) > MAX_BYTES:
        raise AdminError(f"{url}: larger than {MAX_BYTES // 1024 // 1024} MB")
    return body, ctype.lower(), final


def detect(url: str, user_agent: str, *, depth: int = 0) -> tuple[str, str, dict[str, Any]]:
    """(type, url, extra keys) for a URL; follows feed autodiscovery on HTML pages."""
    body, ctype, final = fetch(url, user_agent)
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"begin:vcalendar") or "text/calendar" in ctype:
        return C.ICAL, final, {}
    if head.startswith(b"<?xml") or head.startswith(b"<rss") or head.startswith(b"<feed") or head.startswith(b"<rdf"):
        if b"<rss" in head or b"<feed" in head or b"<rdf" in head:
            return C.FEED, final, {}
    if head.startswith(b"{") or head.startswith(b"["):
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            raise AdminError(f"{url}: looks like JSON but does not parse") from None
        if isinstance(data, dict) and str(data.get("version", "")).startswith("https://jsonfeed.org"):
            return C.FEED, final, {}
        first = data[0] if isinstance(data, list) and data else None
        if isinstance(first, dict) and {"name", "startDate", "url"} <= set(first):
            return C.JSON, final, {"preset": "confs-tech"}
        raise AdminError(f"{url}: a JSON file without a known preset; add it to sources.toml by hand "
                         "with a [source.fields] mapping")
    first_line = body.split(b"\n", 1)[0].decode("utf-8", "replace")
    if "Subject" in first_line and "Start Date" in first_line:
        return C.CSV, final, {"preset": "python-organizers"}
    text = body.decode("utf-8", "replace")
    if "<html" in text[:2000].lower() or "text/html" in ctype:
        for tag in _ALT.findall(text):
            low = tag.lower()
            if 'rel="alternate"' in low or "rel='alternate'" in low or "rel=alternate" in low:
                m = re.search(r"""href\s*=\s*["']([^"']+)["']""", tag, re.I)
                if m and any(t in low for t in ("rss+xml", "atom+xml", "feed+json", "text/calendar")):
                    target = urljoin(final, m.group(1))
                    if depth == 0:
                        return detect(target, user_agent, depth=1)
        import extruct

        try:
            data = extruct.extract(text, base_url=final, syntaxes=["json-ld", "microdata", "rdfa", "microformat"],
                                   errors="ignore")
        except (ValueError, TypeError):
            data = {}
        blob = json.dumps(data)
        if re.search(r'Event"|Organization"|"h-event"', blob):
            return C.PAGE, final, {}
        raise AdminError(f"{url}: no feed, calendar or structured event data found; for a plain listing "
                         "add an html source with [source.select] selectors by hand")
    raise AdminError(f"{url}: not a feed, calendar, event page or known data file")


def _load(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except (OSError, tomlkit.exceptions.ParseError) as exc:
        raise AdminError(f"{path}: {exc}") from None


def _save(path: Path, doc: tomlkit.TOMLDocument) -> None:
    tmp = path.with_suffix(".toml.tmp")
    try:
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise AdminError(f"cannot write {path}: {exc.strerror}") from None


def add_source(config_dir: Path, config: Config, url: str, *, name: str | None = None,
               type_: str | None = None, user_agent: str, **hints: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if type_ is None:
        type_, url, extra = detect(url, user_agent)
    if type_ in (C.HTML,) or (type_ in (C.JSON, C.CSV) and not extra):
        raise AdminError(f"a {type_} source needs selectors or a field mapping: add it to sources.toml by hand")
    taken = {s.name for s in config.sources}
    if name is None:
        parts = urlsplit(url)
        base = slugify(f"{parts.hostname or ''} {Path(parts.path).stem}", 40) or "source"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise AdminError(f"invalid source name {name!r}: use a-z, 0-9 and -")
    if name in taken:
        raise AdminError(f"a source named {name!r} exists already")
    if any(s.url == url for s in config.sources):
        raise AdminError(f"{url} is already configured")
    bad = [i for i in hints.get("industries") or [] if i not in config.industries]
    if bad:
        raise AdminError(f"unknown industry {', '.join(bad)}; valid: {', '.join(sorted(config.industries))}")
    path = config_dir / "sources.toml"
    doc = _load(path)
    table = tomlkit.table()
    table.add("name", name)
    table.add("type", type_)
    table.add("url", url)
    for key in ("group", "city", "country", "timezone"):
        if hints.get(key):
            table.add(key, hints[key])
    if hints.get("industries"):
        table.add("industries", list(hints["industries"]))
    for key, value in extra.items():
        table.add(key, value)
    table.add("enabled", True)
    if "source" not in doc:
        doc.add("source", tomlkit.aot())
    doc["source"].append(table)  # type: ignore[union-attr]
    _save(path, doc)
    return {"name": name, "type": type_, "url": url, **extra}


def remove_source(config_dir: Path, name: str) -> None:
    path = config_dir / "sources.toml"
    doc = _load(path)
    entries = doc.get("source")
    if entries is None:
        raise AdminError(f"no source named {name!r} in {path}")
    for i, table in enumerate(entries):
        if table.get("name") == name:
            del entries[i]
            if len(entries) == 0:
                del doc["source"]
            _save(path, doc)
            return
    raise AdminError(f"no source named {name!r} in {path}")
