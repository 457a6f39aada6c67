"""Listing output: table, json, jsonl, csv (ics lives with the digest renderers)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from typing import Any

from aggregator.queries import to_json_value


def as_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([to_json_value(r) for r in rows], ensure_ascii=False, indent=2)


def as_jsonl(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(to_json_value(r), ensure_ascii=False) + "\n" for r in rows)


def _cell(value: Any) -> str:
    value = to_json_value(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(_cell(v) if not isinstance(v, dict) else json.dumps(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def as_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def as_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, int]],
             width: int | None = None) -> str:
    """columns: (key, header, minimum width); the last column takes what the terminal has left."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    if not rows:
        return ""
    cells = [[_cell(r.get(key)).replace("\n", " ") for key, _h, _m in columns] for r in rows]
    widths = []
    for i, (_key, header, minimum) in enumerate(columns):
        natural = max([len(header)] + [len(c[i]) for c in cells])
        widths.append(max(minimum, min(natural, 40)))
    total = sum(widths) + 2 * (len(widths) - 1)
    # shrink the widest columns until the table fits
    while total > width and max(widths) > 8:
        i = widths.index(max(widths))
        widths[i] -= 1
        total -= 1

    def fit(text: str, n: int) -> str:
        return text if len(text) <= n else text[: max(n - 1, 0)] + "…"

    lines = ["  ".join(fit(h, w).ljust(w) for (_k, h, _m), w in zip(columns, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(fit(c, w).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"
