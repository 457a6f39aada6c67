"""Ranking quality and hard constraints on the shared eval set (8 profiles with graded judgments).

Reads EVENTSCOUT_EVAL (default ../shared/eval from the repository root); skipped when absent.
bench/rank_eval.py prints the full figures, including a rank-bm25 baseline.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from aggregator import constants as C
from aggregator import geo
from aggregator.ranking import build_index, rank
from aggregator.ranking.evaluate import EvalSet, default_taxonomy, load_eval, ndcg_at_k
from aggregator.ranking.text import fold

ROOT = Path(__file__).resolve().parents[2]
EVAL = Path(os.environ.get("EVENTSCOUT_EVAL", ROOT.parent / "shared" / "eval"))
NDCG_FLOOR = 0.75


@pytest.fixture(scope="module")
def data() -> EvalSet:
    if not (EVAL / "judgments.json").is_file():
        pytest.skip(f"eval set not found at {EVAL} (set EVENTSCOUT_EVAL)")
    return load_eval(EVAL)


@pytest.fixture(scope="module")
def ranked(data: EvalSet) -> dict[str, list]:
    index = build_index(data.events, default_taxonomy())
    return {p.name: rank(index, p, data.now, window=data.window) for p in data.profiles}


def test_mean_ndcg_at_10_is_above_the_floor(data: EvalSet, ranked: dict[str, list]) -> None:
    scores = {name: ndcg_at_k([r.event["id"] for r in items], data.judgments[name])
              for name, items in ranked.items()}
    mean = sum(scores.values()) / len(scores)
    detail = ", ".join(f"{n}={s:.3f}" for n, s in scores.items())
    assert mean >= NDCG_FLOOR, f"mean nDCG@10 {mean:.3f} fell below {NDCG_FLOOR} ({detail})"


def test_no_grade_zero_event_in_any_top_five(data: EvalSet, ranked: dict[str, list]) -> None:
    bad = [(name, r.event["title"]) for name, items in ranked.items() for r in items[:5]
           if data.judgments[name].get(r.event["id"], 0) == 0]
    assert not bad, f"irrelevant or ruled-out events in a top 5: {bad}"


def _moment(value: datetime | date | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(12), tzinfo=UTC)


def test_no_hard_constraint_is_violated(data: EvalSet, ranked: dict[str, list]) -> None:
    lo, hi = data.window
    problems = []
    for p in data.profiles:
        home = geo.locate(p.location)
        for r in ranked[p.name]:
            e = r.event
            text = fold(" ".join([e["title"], e["description"] or "", *e["tags"]]))
            why = []
            if e["status"] == C.CANCELLED:
                why.append("cancelled")
            why += [f"mentions {t!r}" for t in p.exclude
                    if re.search(rf"\b{re.escape(fold(t))}\b", text)]
            answers_a_call = {C.CALL_FOR_SPEAKERS, C.AWARD} & set(e["kinds"])
            if p.max_price is not None and (e["price"] or 0) > p.max_price and not answers_a_call:
                why.append(f"price {e['price']} > {p.max_price}")
            if p.kinds and not set(p.kinds) & set(e["kinds"]):
                why.append(f"kinds {e['kinds']} not in {p.kinds}")
            if p.languages and e["language"] and e["language"] not in p.languages:
                why.append(f"language {e['language']}")
            start, deadline = _moment(e["start"]), _moment(e["cfp_deadline"])
            if not (lo <= start < hi or (deadline is not None and lo <= deadline < hi)):
                why.append("outside the window")
            where = geo.locate(e["city"], e["country"]) if e["city"] else None
            near = (home is not None and where is not None and p.radius_km is not None
                    and p.radius_km > 0 and geo.distance_km(home, where) <= p.radius_km)
            if not near and not (e["online"] and p.online):
                why.append(f"in {e['city']}, outside {p.radius_km} km of {p.location}"
                           + (" and online events are unwanted" if e["online"] else ""))
            if why:
                problems.append(f"{p.name}: {e['title']!r}: {'; '.join(why)}")
    assert not problems, "hard constraints violated:\n" + "\n".join(problems)


def test_every_ranked_event_has_reasons(ranked: dict[str, list]) -> None:
    empty = [(name, r.event["title"]) for name, items in ranked.items() for r in items[:10]
             if not r.reasons]
    assert not empty, f"ranked events without any reason: {empty}"
