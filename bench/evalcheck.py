"""Compare what eventscout stored for the eval mini-web with its ground truth (expected.json).

Used by tests/test_eval_collect.py and by `python bench/eval_collect.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_expected(eval_dir: Path, origin: str) -> dict[str, Any]:
    raw = (eval_dir / "expected.json").read_text(encoding="utf-8").replace("{BASE}", origin)
    return json.loads(raw)


@dataclass
class Report:
    expected: int = 0
    found: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)      # one real event stored twice or more
    false_merges: list[str] = field(default_factory=list)    # one record holding two real events
    wrong_start: list[str] = field(default_factory=list)
    wrong_status: list[str] = field(default_factory=list)
    matches: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 0.0

    def summary(self) -> str:
        return (f"found {self.found}/{self.expected} ({self.recall:.1%}); duplicated {len(self.duplicated)}; "
                f"false merges {len(self.false_merges)}; wrong start {len(self.wrong_start)}; "
                f"wrong status {len(self.wrong_status)}")


def _candidates(exp: dict[str, Any], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    urls = set(exp["urls"])
    occ = exp.get("recurrence_id")
    out = []
    for ev in stored:
        if occ and ev.get("recurrence_id") and ev["recurrence_id"][:10] != occ:
            continue
        if urls & set(ev.get("urls") or []):
            out.append(ev)
    if out:
        return out
    start = _utc(exp["start_utc"])
    for ev in stored:
        s = datetime.fromisoformat(ev["start"]) if ev.get("start") else None
        if s is None or abs(s - start) > timedelta(days=1, hours=14):
            continue
        if fuzz.token_set_ratio(exp["title"].lower(), ev["title"].lower()) >= 90:
            out.append(ev)
    return out


def start_ok(exp: dict[str, Any], ev: dict[str, Any]) -> bool:
    if exp.get("all_day"):
        return bool(ev.get("all_day")) and str(ev["start"])[:10] == exp["start_date"]
    return bool(ev.get("start")) and datetime.fromisoformat(ev["start"]) == _utc(exp["start_utc"])


def in_window_by_deadline(exp: dict[str, Any]) -> bool:
    return exp.get("in_window_by") == "deadline"


def compare(stored: list[dict[str, Any]], expected: list[dict[str, Any]]) -> Report:
    """stored: the JSON event objects of `eventscout events --format json`."""
    rep = Report(expected=len(expected))
    owners: dict[str, list[str]] = {}
    for exp in expected:
        cands = _candidates(exp, stored)
        if not cands:
            rep.missing.append(exp["key"])
            continue
        rep.found += 1
        if len(cands) > 1:
            rep.duplicated.append(f"{exp['key']}: {[c['id'] for c in cands]}")
        ev = next((c for c in cands if start_ok(exp, c)), cands[0])
        rep.matches[exp["key"]] = ev
        owners.setdefault(ev["id"], []).append(exp["key"])
        if not start_ok(exp, ev):
            rep.wrong_start.append(f"{exp['key']}: expected {exp.get('start_utc') or exp.get('start_date')}"
                                   f", stored {ev.get('start')}")
        if ev.get("status") != exp["status"]:
            rep.wrong_status.append(f"{exp['key']}: expected {exp['status']}, stored {ev.get('status')}")
    for event_id, keys in owners.items():
        # occurrences of one weekly series are separate records; anything else sharing is a false merge
        if len(keys) > 1:
            rep.false_merges.append(f"{event_id}: {keys}")
    return rep


def window(expected: dict[str, Any]) -> tuple[datetime, datetime]:
    return _utc(expected["window"]["from"]), _utc(expected["window"]["to"])


def as_date(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def check_v2(stored: list[dict[str, Any]], expected: dict[str, Any]) -> list[str]:
    """Problems with the second crawl's lifecycle changes (empty when all is right)."""
    v2 = expected["v2"]
    by_key = {e["key"]: e for e in expected["events"]}
    problems: list[str] = []

    def find(key: str) -> dict[str, Any] | None:
        exp = by_key.get(key) or next((n for n in v2["new"] if n["key"] == key), None)
        if exp is None:
            return None
        cands = _candidates(exp, stored)
        return cands[0] if len(cands) == 1 else None

    for mv in v2["moved"]:
        ev = find(mv["key"])
        if ev is None:
            problems.append(f"moved {mv['key']}: not found exactly once")
            continue
        if datetime.fromisoformat(ev["start"]) != _utc(mv["new_start_utc"]):
            problems.append(f"moved {mv['key']}: start {ev['start']}, expected {mv['new_start_utc']}")
        olds = [c for c in ev.get("changes", []) if c["field"] == "start_utc"]
        if not any(c["old"] and _utc(c["old"]) == _utc(mv["old_start_utc"]) for c in olds):
            problems.append(f"moved {mv['key']}: no change record with the old start {mv['old_start_utc']}")
        if ev["status"] != mv["status"]:
            problems.append(f"moved {mv['key']}: status {ev['status']}, expected {mv['status']}")
    for key in v2["cancelled"]:
        ev = find(key)
        if ev is None or ev["status"] != "cancelled":
            problems.append(f"cancelled {key}: status {ev and ev['status']}")
    for key in v2["vanished"]:
        ev = find(key)
        if ev is None or ev["status"] != "cancelled" or ev.get("status_reason") != "vanished":
            problems.append(f"vanished {key}: {ev and (ev['status'], ev.get('status_reason'))}")
    for key in v2["moved_online"]:
        ev = find(key)
        if ev is None or ev["status"] != "moved-online" or not ev["online"]:
            problems.append(f"moved online {key}: {ev and (ev['status'], ev['online'])}")
    for new in v2["new"]:
        ev = find(new["key"])
        if ev is None:
            problems.append(f"new {new['key']}: not found exactly once")
        elif not start_ok(new, ev):
            problems.append(f"new {new['key']}: start {ev['start']}, expected {new['start_utc']}")
    return problems
