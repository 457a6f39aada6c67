"""Explainable matching of events and groups to interest profiles.

Pure functions: `now` is passed in, nothing is read from the clock, the network or the database.

API
---
``build_index(events, taxonomy) -> EventIndex``
    Index event dicts (the docs/design.md contract; ``start``/``cfp_deadline`` aware datetimes,
    dates or ISO strings) once; rank many profiles against it. ``taxonomy`` maps industry slugs
    to ``config_types.Industry`` (parents, keywords, synonyms).

``rank(index, profile, now, *, window=None, feedback=(), sent_ids=(), limit=None,
explain=False, min_score=None) -> list[Ranked]``
    Events for one ``config_types.Profile``, best first (ties: earlier start first).
    ``window=(from, to)`` keeps events that start in [from, to) or whose call-for-speakers /
    nomination deadline (``cfp_deadline``) falls in it; without a window, events that start or
    close from ``now`` on. ``feedback`` is a list of ``{"event_id": ID, "signal":
    "like"|"going"|"dislike"|"hide"}`` dicts (an ``"event"`` key with the event dict may stand in
    for an id that is not in the index). ``sent_ids`` are ids already sent in a digest.

``rank_groups(groups, events, profile, now, *, taxonomy=None, feedback=(), limit=None,
explain=False) -> list[Ranked]``
    Groups (SPEC group objects) for a profile: topic, industry, near the person or online, and
    active (events in the last/next 90 days).

``Ranked``: ``event`` (the dict as given; for groups the group dict), ``score`` (the sum of the
``components``, each component's weighted contribution), ``reasons`` (short human strings:
``"matches 'data engineering' in title"``, ``"12 km from Berlin"``, ``"online"``, ``"call for
speakers closes in 4 days"``, ``"you liked 2 events of this group"``, ``"fits your goal:
visibility"``), and with ``explain=True`` ``details``: each component's raw value and weight.

Hard constraints (an event that breaks one is never returned)
-------------------------------------------------------------
cancelled; hidden by feedback; outside the window; mentions an ``exclude`` phrase (whole words,
after folding and light stemming, in title, description, tags, organizer or group); none of
``kinds`` when the profile lists kinds; price above ``max_price`` (free and unknown pass, and so
do calls for speakers and awards:
speakers and nominees do not buy tickets); a
known language not in ``languages``; in person farther than ``radius_km`` from ``location``
(``radius_km = 0`` means no in-person events), unless online and ``online = true``; online
without a place inside the radius when ``online = false``. Events without a known place or
language pass those two tests.

Score components (see ``score.WEIGHTS``)
----------------------------------------
text (interests as BM25F phrases in title > tags > description, ``term^2`` weights, synonyms
from the taxonomy), industry (direct or a sub-industry 1, a parent 0.5; industry keywords when
an event has no industries), goal (event goals plus those its kinds serve), place (nearer is
better; online 0.6), time (deadline within 14 days for visibility seekers; online events in the
person's night sink), price, status (postponed sinks), novelty (already sent sinks), feedback
(likes/going/dislikes of the same group, organizer, source and title terms).
"""

from __future__ import annotations

from aggregator.ranking.groups import GroupIndex, index_groups, rank_groups
from aggregator.ranking.index import KIND_GOALS, EventIndex, build_index
from aggregator.ranking.score import WEIGHTS, ProfileQuery, Ranked, prepare, rank

__all__ = [
    "KIND_GOALS", "WEIGHTS", "EventIndex", "GroupIndex", "ProfileQuery", "Ranked", "build_index",
    "index_groups", "prepare", "rank", "rank_groups",
]
