"""A fixed digest scenario: profile "ana" in Berlin, the week 2026-W07 (Mon 9 – Sun 15 Feb 2026),
run on Sunday 8 Feb 2026 at 18:00 CET. Event dicts are written here, in the shape of
docs/design.md ("The event dict"); nothing comes from the database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.config_types import Profile
from aggregator.digest import Ranked, build_digest, fingerprint

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 2, 8, 18, 0, tzinfo=BERLIN)
WEEK = (2026, 7)


def event(id: str, title: str, start: Any, end: Any = None, **fields: Any) -> dict[str, Any]:
    """An event dict with every field of the contract; ``fields`` override the defaults."""
    tz = fields.pop("timezone", "Europe/Berlin")
    data: dict[str, Any] = {
        "id": id, "title": title, "description": None,
        "url": f"https://events.example.org/{id}", "urls": [f"https://events.example.org/{id}"],
        "start": start, "end": end, "timezone": tz,
        "all_day": isinstance(start, date) and not isinstance(start, datetime),
        "venue": None, "city": "Berlin", "country": "DE", "online": False,
        "kinds": ["meetup"], "goals": ["support"], "industries": ["software"], "tags": [],
        "status": "scheduled", "price": 0, "currency": None, "organizer": None, "group": None,
        "cfp_deadline": None, "sources": ["test"],
        "first_seen": datetime(2026, 1, 20, 9, 0, tzinfo=ZoneInfo("UTC")),
        "last_seen": datetime(2026, 2, 8, 6, 0, tzinfo=ZoneInfo("UTC")),
        "changes": [], "latitude": None, "longitude": None, "language": "en",
    }
    data.update(fields)
    return data


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def scenario() -> dict[str, Any]:
    mentoring = event(
        "pyladies-mentoring", "PyLadies Berlin: Mentoring evening",
        berlin(2, 10, 18, 30), berlin(2, 10, 20, 30), venue="Factory Berlin",
        kinds=["meetup", "mentorship"], goals=["support"], group="PyLadies Berlin",
        description="Pair up with a mentor for an evening of Python.")
    fair = event(
        "data-job-fair", "Data Engineering Job Fair", berlin(2, 12, 10), berlin(2, 12, 16),
        venue="Estrel Congress Center", kinds=["career-fair"], goals=["opportunities"])
    webinar = event(
        "dbt-webinar", "Intro to dbt (webinar)",
        datetime(2026, 2, 11, 12, 0, tzinfo=ZoneInfo("America/New_York")),
        datetime(2026, 2, 11, 13, 0, tzinfo=ZoneInfo("America/New_York")),
        timezone="America/New_York", city=None, country=None, online=True,
        kinds=["webinar"], goals=["support", "opportunities"])
    pycon = event(
        "pycon-de-2026", "PyCon DE & PyData 2026", date(2026, 4, 14), date(2026, 4, 16),
        venue="darmstadtium", city="Darmstadt", kinds=["conference"],
        goals=["opportunities", "visibility"], cfp_deadline=date(2026, 2, 15),
        changes=[{"field": "start", "old": "2026-04-13", "new": "2026-04-14",
                  "seen": "2026-01-25T10:00:00+00:00"}])
    awards = event(
        "women-in-data-awards", "Women in Data Awards 2026", date(2026, 5, 20), None,
        timezone="Europe/London", city="London", country="GB", online=True,
        kinds=["award"], goals=["visibility"],
        cfp_deadline=datetime(2026, 2, 20, 23, 59, tzinfo=ZoneInfo("Europe/London")))
    rust = event("rust-meetup", "Rust Meetup Berlin", berlin(2, 11, 19), berlin(2, 11, 21))
    moved = event(
        "data-council-meetup", "Data Council Berlin Meetup", berlin(2, 12, 18), berlin(2, 12, 20),
        venue="Spielfeld", kinds=["meetup"], goals=["opportunities"],
        changes=[{"field": "start", "old": "2026-02-10T18:00:00+01:00",
                  "new": "2026-02-12T18:00:00+01:00", "seen": "2026-02-06T08:00:00+00:00"}])
    moved_before = dict(moved, start=berlin(2, 10, 18), end=berlin(2, 10, 20), changes=[])
    hack = event(
        "hack-night", "Hack Night", berlin(2, 13, 19), berlin(2, 13, 23), status="cancelled",
        kinds=["hackathon"], goals=["opportunities"],
        changes=[{"field": "status", "old": "scheduled", "new": "cancelled",
                  "seen": "2026-02-07T08:00:00+00:00"}])
    hack_before = dict(hack, status="scheduled", changes=[])
    ranked = [
        Ranked(mentoring, 4.2, ["matches 'mentoring' in title", "3 km from Berlin"]),
        Ranked(pycon, 3.9, ["matches 'python' in title", "call for speakers closes in 7 days"]),
        Ranked(fair, 3.8, ["matches 'data engineering' in title", "11 km from Berlin"]),
        Ranked(moved, 3.1, ["matches 'data' in title"]),
        Ranked(webinar, 2.5, ["matches 'data' in description", "online"]),
        Ranked(awards, 2.0, ["award nominations close in 12 days"]),
        Ranked(rust, 1.5, ["2 km from Berlin"]),
    ]
    groups = [Ranked({"id": "group-pyladies-berlin", "name": "PyLadies Berlin",
                      "url": "https://berlin.pyladies.com/", "city": "Berlin", "country": "DE",
                      "industries": ["software"], "tags": ["python"], "events_last_90d": 4,
                      "events_next_90d": 3, "last_event": date(2026, 1, 27)},
                     2.2, ["matches 'python' in tags", "active: 3 events in the next 90 days"])]
    sent = {
        "rust-meetup": fingerprint(rust),
        "data-council-meetup": fingerprint(moved_before),
        "hack-night": fingerprint(hack_before),
    }
    return {"ranked": ranked, "groups": groups, "sent": sent, "sent_events": [hack],
            "events": {e["id"]: e for e in (mentoring, fair, webinar, pycon, awards, rust, moved,
                                            hack)}}


PROFILE = Profile(name="ana", email="ana@example.org",
                  interests=["python", "data engineering", "mentoring"],
                  goals=["support", "opportunities", "visibility"], timezone="Europe/Berlin")


def make_digest(ranked: list[Any] | None = None, groups: list[Any] | None = None,
                sent: dict[str, str] | None = None, sent_events: list[Any] | None = None,
                profile: Profile = PROFILE):
    s = scenario()
    return build_digest(
        profile, WEEK,
        s["ranked"] if ranked is None else ranked,
        s["groups"] if groups is None else groups,
        s["sent"] if sent is None else sent,
        NOW, BERLIN,
        sent_events=s["sent_events"] if sent_events is None else sent_events,
    )

