"""The ``csv`` source type: a table with a header row, read with a field mapping (item field
-> column) or the python-organizers preset.

Bytes are decoded as UTF-8 (with or without BOM; UTF-16 with a BOM), falling back to
Windows-1252 and then Latin-1; CRLF, quoted multi-line cells and ``;``/tab delimiters are
handled by the csv module.

    parse(body, url, source, ctx) -> ParseResult
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

from aggregator.config_types import SourceConfig
from spiders.base import ParseContext, ParseResult, SourceError
from spiders.fieldmap import Collector, FieldMapping, build_event, resolve_mapping

_DELIMITERS = (",", ";", "\t", "|")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),     # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def parse(body: bytes, url: str, source: SourceConfig, ctx: ParseContext) -> ParseResult:
    mapping = resolve_mapping(source)
    result = ParseResult()
    text = _decode(body, result)
    rows = _reader(text)
    header = _header(rows)
    if header is None:
        raise SourceError("empty CSV file: no header row")
    aliases = _match_columns(header, mapping)

    collector = Collector(result=result, max_items=ctx.max_items)
    row_number = 1                                   # the header is row 1, as in a spreadsheet
    try:
        for cells in rows:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            record: dict[str, Any] = {}
            for name, cell in zip(header, cells, strict=False):
                record.setdefault(name, cell)
            for configured, actual in aliases.items():
                record[configured] = record.get(actual)
            item = build_event(record, mapping, source, url, f"row {row_number}", collector)
            if item is not None and not collector.add(item):
                break
    except csv.Error as exc:
        raise SourceError(f"malformed CSV after row {row_number}: {exc}") from exc
    return collector.finish()


def _decode(body: bytes, result: ParseResult) -> str:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            try:
                return body.decode(encoding)
            except UnicodeDecodeError as exc:
                raise SourceError(f"not a valid {encoding} CSV file: {exc.reason}") from exc
    if b"\x00" in body[:4096]:
        raise SourceError("not a CSV file: binary data")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_error = exc.start
    for encoding in ("cp1252", "latin-1"):
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        result.warnings.append(
            f"not valid UTF-8 at byte {first_error}; read as {encoding} instead"
        )
        return text
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _delimiter(text: str) -> str:
    """The delimiter that occurs most often in the first line (outside quotes); ',' on ties."""
    first = text.split("\n", 1)[0]
    unquoted = "".join(part for i, part in enumerate(first.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _reader(text: str) -> Any:
    return csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))


def _header(rows: Any) -> list[str] | None:
    try:
        for cells in rows:
            names = [cell.strip() for cell in cells]
            if any(names):
                return names
    except csv.Error as exc:
        raise SourceError(f"malformed CSV header: {exc}") from exc
    return None


def _match_columns(header: list[str], mapping: FieldMapping) -> dict[str, str]:
    """Configured column -> header name for columns that differ only in case or spacing.
    Raises SourceError naming every required column that is missing."""
    present = set(header)
    folded = {" ".join(name.split()).casefold(): name for name in reversed(header)}
    aliases: dict[str, str] = {}
    missing: list[str] = []
    for column in dict.fromkeys([*mapping.required, *mapping.fields.values()]):
        if column in present:
            continue
        actual = folded.get(" ".join(column.split()).casefold())
        if actual is not None:
            aliases[column] = actual
        elif column in mapping.required:
            missing.append(column)
    if missing:
        raise SourceError(
            f"CSV column(s) not found: {', '.join(repr(m) for m in missing)}; "
            f"the header has: {', '.join(repr(h) for h in header if h)}"
        )
    return aliases
