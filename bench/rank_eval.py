"""Ranking quality: nDCG@10 and precision@5 per eval profile, eventscout vs a rank-bm25 baseline.

    python bench/rank_eval.py [--eval DIR] [--no-descriptions] [--show NAME]

Reads the shared eval set (EVENTSCOUT_EVAL, default ../shared/eval from the repository root):
event dicts are built from expected.json with descriptions taken from the site's event pages.
Three rankings are measured for every profile, over the events of the eval window:
- eventscout, with the kinds/goals/industries of expected.json (ideal labels);
- eventscout without industry and goal labels (what a weak classifier would leave: kinds only);
- rank-bm25 (BM25Okapi), the profile's interests as the query over title + description.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.ranking import build_index, rank  # noqa: E402
from aggregator.ranking.evaluate import default_taxonomy, load_eval, ndcg_at_k  # noqa: E402


def _bm25_tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def precision_at(keys: list[str], grades: dict[str, int], k: int = 5) -> float:
    return sum(grades.get(key, 0) >= 2 for key in keys[:k]) / k


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", default=os.environ.get("EVENTSCOUT_EVAL",
                                                         str(ROOT.parent / "shared" / "eval")))
    parser.add_argument("--no-descriptions", action="store_true")
    parser.add_argument("--show", help="print the top 10 of this profile with reasons")
    args = parser.parse_args()
    root = Path(args.eval)
    if not (root / "judgments.json").is_file():
        print(f"no eval set at {root} (set EVENTSCOUT_EVAL)")
        return 1
    data = load_eval(root, descriptions=not args.no_descriptions)
    taxonomy = default_taxonomy()
    index = build_index(data.events, taxonomy)
    unlabelled = [dict(e, industries=[], goals=[]) for e in data.events]
    index_unlabelled = build_index(unlabelled, taxonomy)

    from rank_bm25 import BM25Okapi

    in_window = data.events            # expected.json lists exactly the in-window events
    corpus = [_bm25_tokens(f"{e['title']} {e['description']}") for e in in_window]
    bm25 = BM25Okapi(corpus)

    rows = []
    print(f"{'profile':10} {'eventscout':>10} {'unlabelled':>10} {'rank-bm25':>10}"
          f"   {'P@5 es':>6} {'P@5 bm25':>8}")
    for profile in data.profiles:
        grades = data.judgments[profile.name]
        ours = rank(index, profile, data.now, window=data.window, limit=10)
        ours_u = rank(index_unlabelled, profile, data.now, window=data.window, limit=10)
        query = _bm25_tokens(" ".join(i.split("^")[0] for i in profile.interests))
        scores = bm25.get_scores(query)
        base = [in_window[i]["id"] for i in sorted(range(len(in_window)),
                                                   key=lambda i: -scores[i])]
        keys = [r.event["id"] for r in ours]
        keys_u = [r.event["id"] for r in ours_u]
        row = (ndcg_at_k(keys, grades), ndcg_at_k(keys_u, grades), ndcg_at_k(base, grades),
               precision_at(keys, grades), precision_at(base, grades))
        rows.append(row)
        print(f"{profile.name:10} {row[0]:10.3f} {row[1]:10.3f} {row[2]:10.3f}"
              f"   {row[3]:6.2f} {row[4]:8.2f}")
        if args.show == profile.name:
            for r in ours:
                grade = grades.get(r.event["id"], 0)
                print(f"    {grade} {r.score:6.3f} {r.event['title'][:50]:50}"
                      f" | {'; '.join(r.reasons)}")
            missed = [k for k, g in grades.items() if g >= 2 and k not in keys]
            print("    missed (grade>=2):", ", ".join(missed))
    mean = [sum(r[i] for r in rows) / len(rows) for i in range(5)]
    print(f"{'mean':10} {mean[0]:10.3f} {mean[1]:10.3f} {mean[2]:10.3f}"
          f"   {mean[3]:6.2f} {mean[4]:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
