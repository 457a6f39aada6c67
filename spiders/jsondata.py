"""The ``json`` source type: a JSON array of event records (or one under ``items``, a dotted
path) read with a field mapping or the confs-tech preset. JSON Lines is read too.

    parse(body, url, source, ctx) -> ParseResult
"""

from __future__ import annotations

import json
from typing import Any

from aggregator.config_types import SourceConfig
from spiders.base import ParseContext, ParseResult, SourceError
from spiders.fieldmap import (
    MISSING,
    Collector,
    FieldMapping,
    build_event,
    has_key,
    lookup,
    resolve_mapping,
)


def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext) -> ParseResult:
    mapping = resolve_mapping(source)
    result = ParseResult()
    document = _load(body, result)
    records = _records(document, mapping)
    _check_keys(records, mapping, result)

    collector = Collector(result=result, max_items=ctx.max_items)
    for index, record in enumerate(records, start=1):
        where = f"item {index}"
        if not isinstance(record, dict):
            collector.skip(f"{where}: not an object but {_kind(record)}; skipped")
            continue
        item = build_event(record, mapping, source, url, where, collector)
        if item is not None and not collector.add(item):
            break
    return collector.finish()


def _decode(body: bytes, result: ParseResult) -> str:
    """JSON text from bytes: UTF-8/16/32 (BOM or not), else cp1252 with a warning."""
    try:
        return body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as exc:
        if b"\x00" in body:
            raise SourceError(f"not a JSON file: binary data ({exc.reason})") from exc
        result.warnings.append(
            f"not valid UTF-8 at byte {exc.start}; read as Windows-1252 instead"
        )
        return body.decode("cp1252", errors="replace")


def _load(body: bytes, result: ParseResult) -> Any:
    text = _decode(body, result)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = _json_lines(text) if exc.msg == "Extra data" else None
        if lines is not None:
            return lines
        raise SourceError(
            f"invalid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise SourceError("invalid JSON: nested too deeply") from exc


def _json_lines(text: str) -> list[Any] | None:
    """The records of a JSON Lines body, or None when it is not one."""
    records = []
    for line in text.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                return None
    return records


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", type(None): "null",
            bool: "a boolean"}.get(type(value), "a number")


def _records(document: Any, mapping: FieldMapping) -> list[Any]:
    if mapping.items_path:
        found = lookup(document, mapping.items_path)
        if not isinstance(found, list):
            what = "is missing" if found is MISSING else f"is {_kind(found)}, not an array"
            raise SourceError(
                f"items path {mapping.items_path!r} {what} in the JSON document"
                + _array_hint(document)
            )
        return found
    if isinstance(document, list):
        return document
    raise SourceError(
        f"expected a JSON array of events at the top level, found {_kind(document)}"
        + _array_hint(document)
    )


def _array_hint(document: Any) -> str:
    """"; arrays found at: data.events, ..." — where to point `items`."""
    paths: list[str] = []

    def walk(node: Any, prefix: str, depth: int) -> None:
        if depth > 3 or len(paths) >= 5:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                path = f"{prefix}.{key}" if prefix else str(key)
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    paths.append(path)
                else:
                    walk(value, path, depth + 1)

    walk(document, "", 0)
    if not paths:
        return ""
    return f"; set [source.fields] items to one of: {', '.join(paths)}"


def _check_keys(records: list[Any], mapping: FieldMapping, result: ParseResult) -> None:
    """A configured key that no record has is most likely a typo: say so."""
    if not records:
        return
    sample = [r for r in records[:200] if isinstance(r, dict)]
    if not sample:
        return
    absent = [key for key in mapping.required if not has_key(sample, key)]
    if mapping.fields["title"] in absent or mapping.fields["start"] in absent:
        raise SourceError(
            "key(s) not found in any JSON record: " + ", ".join(absent)
            + f"; the records have: {', '.join(sorted(_keys(sample))[:30])}"
        )
    for key in absent:
        result.warnings.append(f"key {key!r} is not in any JSON record")


def _keys(records: list[dict[str, Any]]) -> set[str]:
    keys: set[str] = set()
    for record in records:
        keys.update(str(k) for k in record)
    return keys
