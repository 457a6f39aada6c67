"""Ranking on small hand-written events: constraints, components, reasons, feedback, groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aggregator import constants as C
from aggregator.config_types import Industry, Profile
from aggregator.ranking import build_index, rank, rank_groups

NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
WINDOW = (datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 8, tzinfo=UTC))
BERLIN = (52.52437, 13.41053)
TAXONOMY = {
    "software": Industry("software", "Software", ["python"], ["tech"]),
    "data": Industry("data", "Data & AI", ["data engineering"], ["data", "ai"]),
    "finance": Industry("finance", "Finance", ["banking"], ["finance"]),
    "fintech": Industry("fintech", "Fintech", ["payments"], ["fintech"], parent="finance"),
}


def event(id: str, title: str, **extra: object) -> dict:
    base: dict = {
        "id": id, "title": title, "description": "", "url": f"https://example.org/{id}",
        "start": datetime(2027, 2, 10, 18, 0, tzinfo=UTC), "timezone": "Europe/Berlin",
        "city": "Berlin", "country": "DE", "latitude": None, "longitude": None,
        "online": False, "kinds": [C.MEETUP], "goals": [], "industries": [], "tags": [],
        "status": C.SCHEDULED, "price": None, "organizer": None, "group": None,
        "cfp_deadline": None, "sources": ["test"], "language": "en",
    }
    base.update(extra)
    return base


def profile(**extra: object) -> Profile:
    values: dict = {
        "name": "ana", "interests": ["data engineering^2", "python"],
        "industries": ["data"], "goals": [C.SUPPORT, C.OPPORTUNITIES, C.VISIBILITY],
        "location": "Berlin, DE", "radius_km": 50, "online": True, "exclude": ["crypto"],
        "max_price": 50, "languages": ["en", "de"],
    }
    values.update(extra)
    return Profile(**values)


def ids(ranked: list) -> list[str]:
    return [r.event["id"] for r in ranked]


EVENTS = [
    event("de-meetup", "Data Engineering Meetup", industries=["data"]),
    event("py-night", "Packaging Night", description="Talks about python packaging."),
    event("crypto", "Data Engineering for Crypto Exchanges", industries=["data"]),
    event("far", "Data Engineering Days", city="Munich", country="DE"),
    event("online", "Data Engineering Webinar", online=True, city=None, country=None,
          kinds=[C.WEBINAR]),
    event("pricey", "Data Engineering Summit", price=499, kinds=[C.CONFERENCE]),
    event("free", "Data Engineering Lunch", price=0),
    event("cancelled", "Data Engineering Drinks", status=C.CANCELLED),
    event("french", "Ingénierie des données", language="fr"),
    event("late", "Data Engineering Retreat", start=datetime(2027, 4, 1, tzinfo=UTC)),
    event("cfp", "Data Engineering Conf 2027: Call for Speakers", kinds=[C.CALL_FOR_SPEAKERS],
          start=datetime(2027, 6, 1, tzinfo=UTC), cfp_deadline=date(2027, 2, 3)),
    event("cooking", "Sourdough Baking Class"),
]


@pytest.fixture(scope="module")
def index():
    return build_index(EVENTS, TAXONOMY)


def test_hard_constraints_remove_excluded_far_pricey_cancelled_foreign_and_late(index) -> None:
    got = set(ids(rank(index, profile(), NOW, window=WINDOW)))
    for gone, why in [("crypto", "mentions the excluded term 'crypto'"),
                      ("far", "is in Munich, 500 km away with radius_km 50"),
                      ("pricey", "costs 499 with max_price 50"),
                      ("cancelled", "is cancelled"),
                      ("french", "is in French, not one of en/de"),
                      ("late", "starts after the window")]:
        assert gone not in got, f"event {gone!r} {why} but was ranked"
    assert {"de-meetup", "online", "free", "cfp", "py-night", "cooking"} <= got


def test_best_match_first_and_irrelevant_last(index) -> None:
    ranked = rank(index, profile(), NOW, window=WINDOW)
    assert ranked[0].event["id"] == "de-meetup", [(r.event["id"], r.score) for r in ranked]
    assert ranked[-1].event["id"] == "cooking"
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


def test_reasons_are_short_human_strings(index) -> None:
    by_id = {r.event["id"]: r for r in rank(index, profile(), NOW, window=WINDOW)}
    assert by_id["de-meetup"].reasons == [
        "matches 'data engineering' in title", "in your industry: Data & AI", "in Berlin",
        "fits your goal: support, opportunities"]
    assert "matches 'python' in description" in by_id["py-night"].reasons
    assert "online" in by_id["online"].reasons
    assert "call for speakers closes in 3 days" in by_id["cfp"].reasons
    assert "fits your goal: visibility" in by_id["cfp"].reasons
    assert "free" in by_id["free"].reasons


def test_distance_reason_and_radius_zero_means_online_only() -> None:
    north = event("north", "Data Engineering Meetup", latitude=BERLIN[0] + 12 / 111.195,
                  longitude=BERLIN[1])
    online = event("web", "Data Engineering Webinar", online=True, city=None)
    idx = build_index([north, online], TAXONOMY)
    assert "12 km from Berlin" in rank(idx, profile(), NOW, window=WINDOW)[0].reasons
    assert ids(rank(idx, profile(radius_km=0), NOW, window=WINDOW)) == ["web"]
    assert ids(rank(idx, profile(online=False), NOW, window=WINDOW)) == ["north"]


def test_kinds_filter_and_window_by_deadline(index) -> None:
    only_cfp = rank(index, profile(kinds=[C.CALL_FOR_SPEAKERS]), NOW, window=WINDOW)
    assert ids(only_cfp) == ["cfp"], "the CFP is in the window by its deadline, not its start"


def test_components_sum_to_score_and_explain_gives_raw_values(index) -> None:
    ranked = rank(index, profile(), NOW, window=WINDOW, explain=True)
    for r in ranked:
        assert sum(r.components.values()) == pytest.approx(r.score, abs=1e-3)
        assert set(r.details) >= {"text", "industry", "goal", "place", "time"}
    by_id = {r.event["id"]: r for r in ranked}
    assert by_id["de-meetup"].components["text"] > 0
    assert by_id["de-meetup"].components["industry"] == pytest.approx(0.2)
    assert by_id["cooking"].components["text"] == 0.0
    assert by_id["cooking"].components["industry"] == 0.0


def test_synonyms_and_parent_industries() -> None:
    events = [event("ai", "AI Builders Meetup"), event("pay", "Payments Meetup",
                                                       industries=["fintech"])]
    idx = build_index(events, TAXONOMY)
    ranked = rank(idx, profile(interests=["data"], industries=["finance"]), NOW, window=WINDOW)
    by_id = {r.event["id"]: r for r in ranked}
    assert "matches 'ai' (for 'data') in title" in by_id["ai"].reasons
    assert by_id["pay"].components["industry"] > 0, "fintech is a child of finance"


def test_feedback_likes_boost_the_group_and_hide_removes() -> None:
    events = [event("a1", "Python Meetup", group="PyBerlin"),
              event("a2", "Python Meetup", group="PyBerlin"),
              event("b1", "Python Meetup", group="Other Group"),
              event("c1", "Python Meetup", group="PyBerlin", start=NOW + timedelta(days=20))]
    idx = build_index(events, TAXONOMY)
    feedback = [{"event_id": "a1", "signal": C.LIKE}, {"event_id": "a2", "signal": C.LIKE},
                {"event_id": "a1", "signal": C.HIDE}]
    ranked = rank(idx, profile(), NOW, window=WINDOW, feedback=feedback)
    assert ids(ranked)[0] in {"a2", "c1"} and "a1" not in ids(ranked)
    by_id = {r.event["id"]: r for r in ranked}
    assert "you liked 2 events of this group" in by_id["c1"].reasons
    assert by_id["c1"].score > by_id["b1"].score
    disliked = rank(idx, profile(), NOW, window=WINDOW,
                    feedback=[{"event_id": "b1", "signal": C.DISLIKE}])
    assert ids(disliked)[-1] == "b1"


def test_sent_items_sink_and_limit(index) -> None:
    ranked = rank(index, profile(), NOW, window=WINDOW, sent_ids={"de-meetup"}, limit=3)
    assert len(ranked) == 3 and ranked[0].event["id"] != "de-meetup"


def test_rank_groups_prefers_active_nearby_or_online_groups() -> None:
    groups = [
        {"id": "g1", "name": "Berlin Data Engineers", "city": "Berlin", "country": "DE",
         "industries": ["data"], "tags": [], "events_last_90d": 3, "events_next_90d": 2},
        {"id": "g2", "name": "Data Engineering Online", "city": None, "country": None,
         "industries": ["data"], "tags": [], "online": True, "events_last_90d": 1,
         "events_next_90d": 1},
        {"id": "g3", "name": "Data Engineering Berlin (dormant)", "city": "Berlin",
         "country": "DE", "industries": ["data"], "tags": [], "events_last_90d": 0,
         "events_next_90d": 0},
        {"id": "g4", "name": "Lisbon Data Engineers", "city": "Lisbon", "country": "PT",
         "industries": ["data"], "tags": [], "events_last_90d": 5, "events_next_90d": 5},
    ]
    ranked = rank_groups(groups, [], profile(), NOW, taxonomy=TAXONOMY)
    assert [r.event["id"] for r in ranked] == ["g1", "g2", "g3"], "Lisbon is out of radius"
    assert "2 events in the next 90 days" in ranked[0].reasons
    assert "no events in the last or next 90 days" in ranked[-1].reasons


def test_a_pricey_conference_calling_for_speakers_passes_max_price(index) -> None:
    pricey_cfp = [dict(e, id="pricey-cfp", kinds=["conference", "call-for-speakers"])
                  for e in EVENTS if e["id"] == "pricey"]
    ranked = ids(rank(build_index([*EVENTS, *pricey_cfp], TAXONOMY), profile(), NOW, window=WINDOW))
    assert "pricey-cfp" in ranked, "a call for speakers is answered without a ticket: max_price must not hide it"
    assert "pricey" not in ranked
