"""The digest model: weeks, which section an event lands in, what is not repeated, what changed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from digest_scenario import BERLIN, NOW, PROFILE, WEEK, berlin, event, make_digest, scenario

from aggregator.config_types import Profile
from aggregator.constants import SECTIONS
from aggregator.digest import (
    Ranked,
    build_digest,
    default_week,
    describe_change,
    fingerprint,
    parse_week,
    week_bounds,
)


def ids(digest, key):
    return [item.id for item in digest.section(key).items]


# ---------------------------------------------------------------------------- weeks

@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 2, 8, 20, 0, tzinfo=BERLIN), (2026, 7)),     # Sunday evening: next week
    (datetime(2026, 2, 9, 6, 0, tzinfo=BERLIN), (2026, 7)),      # Monday morning: this week
    (datetime(2026, 2, 14, 6, 0, tzinfo=BERLIN), (2026, 7)),     # Saturday: tomorrow is Sunday
    (datetime(2026, 2, 8, 23, 30, tzinfo=ZoneInfo("UTC")), (2026, 7)),  # Monday 00:30 in Berlin
    (datetime(2026, 12, 31, 12, 0, tzinfo=BERLIN), (2026, 53)),  # 2026 has 53 ISO weeks
    (datetime(2027, 1, 3, 19, 0, tzinfo=BERLIN), (2027, 1)),
])
def test_default_week_is_the_iso_week_containing_tomorrow(now, expected):
    assert default_week(now, BERLIN) == expected, \
        f"a run at {now.isoformat()} should default to the week containing the next day"


def test_parse_week_accepts_iso_labels_and_rejects_others():
    assert parse_week("2026-W49") == (2026, 49)
    assert parse_week("2026w7") == (2026, 7)
    assert parse_week("2026-W53") == (2026, 53)
    for bad in ("2026-49", "W49", "2026-W", "20-W10", "2025-W53", "2026-W00"):
        with pytest.raises(ValueError):
            parse_week(bad)


def test_week_bounds_are_local_midnights_across_a_dst_change():
    start, end = week_bounds(2026, 13, "Europe/Berlin")   # Mon 23 Mar - Mon 30 Mar 2026
    assert (start.isoformat(), end.isoformat()) == (
        "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00")


def test_digest_identity_and_period(digest):
    assert (digest.profile, digest.week, digest.label) == ("ana", "2026-W07", "2026-W07")
    assert (digest.from_date, digest.to_date) == (date(2026, 2, 9), date(2026, 2, 15))
    assert [s.key for s in digest.sections] == list(SECTIONS)


def test_a_from_to_range_is_labelled_by_its_dates():
    d = build_digest(PROFILE, (date(2026, 2, 10), date(2026, 2, 20)), [], [], {}, NOW, BERLIN)
    assert (d.week, d.label) == (None, "2026-02-10 to 2026-02-20")
    assert d.end == datetime(2026, 2, 21, tzinfo=BERLIN)


# ---------------------------------------------------------------------------- placement

def test_every_item_lands_in_the_expected_section(digest):
    assert ids(digest, "deadlines") == ["pycon-de-2026", "women-in-data-awards"]
    assert ids(digest, "support") == ["pyladies-mentoring", "dbt-webinar"]
    assert ids(digest, "opportunities") == ["data-job-fair"]
    assert ids(digest, "visibility") == []
    assert ids(digest, "groups") == ["group-pyladies-berlin"]
    assert ids(digest, "changes") == ["data-council-meetup", "hack-night"]


def test_an_event_appears_only_once(digest):
    all_ids = [i.id for s in digest.sections for i in s.items]
    assert len(all_ids) == len(set(all_ids)), f"an event is listed twice: {all_ids}"


def test_sent_and_unchanged_items_are_not_repeated(digest):
    all_ids = {i.id for s in digest.sections for i in s.items}
    assert "rust-meetup" not in all_ids, "the Rust meetup was sent last week and has not changed"


def test_event_goes_to_the_best_goal_the_profile_has():
    webinar = scenario()["events"]["dbt-webinar"]           # goals: support, opportunities
    only_opps = Profile(name="bo", email="bo@example.org", goals=["opportunities"])
    d = build_digest(only_opps, WEEK, [Ranked(webinar, 1.0, [])], [], {}, NOW, BERLIN)
    assert ids(d, "opportunities") == ["dbt-webinar"]
    assert ids(d, "support") == []
    # the kind decides between the event's goals: a conference serving both is an opportunity
    conf = event("conf", "DataConf", berlin(2, 11, 9), berlin(2, 11, 17), kinds=["conference"],
                 goals=["visibility", "opportunities"])
    d = build_digest(PROFILE, WEEK, [Ranked(conf, 1.0, [])], [], {}, NOW, BERLIN)
    assert ids(d, "opportunities") == ["conf"]


def test_deadline_window_is_14_days_from_the_week_start_and_still_open():
    def cfp(id, deadline):
        return event(id, id, date(2026, 6, 1), None, kinds=["call-for-speakers"],
                     goals=["visibility"], cfp_deadline=deadline)
    ranked = [Ranked(e, 1.0, []) for e in (
        cfp("last-day", date(2026, 2, 22)),           # day 14 of the window: in
        cfp("too-late", date(2026, 2, 23)),           # day 15: not a deadline of this digest
        cfp("closed", berlin(2, 8, 12)),              # closed before now
        cfp("tonight", berlin(2, 8, 23, 59)),         # still open tonight... but before the week
    )]
    d = build_digest(PROFILE, WEEK, ranked, [], {}, NOW, BERLIN)
    assert ids(d, "deadlines") == ["last-day"]
    assert ids(d, "visibility") == ["too-late", "closed", "tonight"]


def test_cancelled_events_never_sent_are_left_out():
    gone = event("gone", "Gone", berlin(2, 11, 18), status="cancelled")
    d = build_digest(PROFILE, WEEK, [Ranked(gone, 1.0, [])], [], {}, NOW, BERLIN)
    assert d.is_empty and d.summary() == "nothing new"


def test_ranked_items_may_be_plain_dicts():
    fair = scenario()["events"]["data-job-fair"]
    d = build_digest({"name": "ana", "goals": []}, "2026-W07",
                     [{"event": fair, "score": 2.0, "reasons": ["x"]}], [], {}, NOW,
                     "Europe/Berlin")
    item = d.section("opportunities").items[0]
    assert (item.id, item.score, item.reasons) == ("data-job-fair", 2.0, ["x"])


def test_sent_fingerprints_cover_every_item(digest):
    sent = digest.sent_fingerprints()
    assert set(sent) == {i.id for s in digest.sections for i in s.items}
    # sending the same digest again with those recorded leaves nothing but nothing new
    again = make_digest(sent={**scenario()["sent"], **sent})
    assert again.is_empty, [(s.key, [i.id for i in s.items]) for s in again.sections if s.items]


def test_summary_counts(digest):
    assert digest.summary() == "3 picks, 2 deadlines, 1 group, 2 changes"


def test_now_must_be_aware():
    with pytest.raises(ValueError):
        build_digest(PROFILE, WEEK, [], [], {}, datetime(2026, 2, 8, 18, 0), BERLIN)


# ---------------------------------------------------------------------------- changes

def test_change_items_say_what_changed(digest):
    changes = {i.id: i.change for i in digest.section("changes").items}
    assert changes == {
        "data-council-meetup": "moved from Tue 10 Feb 18:00 to Thu 12 Feb 18:00",
        "hack-night": "cancelled",
    }


def test_describe_change_for_place_and_status():
    before = event("e", "E", berlin(2, 10, 18), berlin(2, 10, 20), venue="Hall A")
    stored = fingerprint(before)
    assert describe_change(stored, before, BERLIN) is None
    assert describe_change(stored, dict(before, venue="Hall B"), BERLIN) == \
        "now at Hall B, Berlin, DE (was Hall A, Berlin, DE)"
    assert describe_change(stored, dict(before, status="postponed"), BERLIN) == "postponed"
    assert describe_change(stored, dict(before, status="moved-online", online=True), BERLIN) == \
        "moved online"
    assert describe_change(stored, dict(before, end=berlin(2, 10, 21)), BERLIN) == \
        "now ends Tue 10 Feb 21:00"
    # the same instant written in another zone is no change
    same = dict(before, start=before["start"].astimezone(ZoneInfo("UTC")))
    assert describe_change(stored, same, BERLIN) is None


def test_unchanged_past_events_and_unknown_ids_are_ignored():
    old = event("old", "Old", berlin(1, 10, 18), berlin(1, 10, 20))
    moved_past = dict(old, start=berlin(1, 12, 18), end=berlin(1, 12, 20))
    d = build_digest(PROFILE, WEEK, [], [], {"old": fingerprint(old), "unknown": "{}"},
                     NOW, BERLIN, sent_events=[moved_past])
    assert d.is_empty, "a change to an event that is over is not worth reporting"
