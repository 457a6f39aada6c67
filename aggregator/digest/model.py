"""The digest model: which events and groups go into one profile's digest, and in which section.

Pure: ``now`` and the timezone are arguments; nothing here reads a clock, a file or the database.

Sections, in order (``constants.SECTIONS``): deadlines (calls for speakers and award nominations
whose ``cfp_deadline`` falls within 14 days of the week start), support, opportunities, visibility
(each event once, in the section that best fits the profile's goals), groups (groups to join) and
changes (items from earlier digests whose time, place or status changed since they were sent).

What was sent is remembered by the caller as ``{event_id: fingerprint(event)}`` at send time
(``Digest.sent_fingerprints()`` gives the entries to record after sending). An item sent before
and unchanged is not repeated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from aggregator.constants import (
    AWARD,
    CALL_FOR_SPEAKERS,
    CANCELLED,
    CAREER_FAIR,
    CONFERENCE,
    GOALS,
    HACKATHON,
    MEETUP,
    MENTORSHIP,
    MOVED_ONLINE,
    NETWORKING,
    OPPORTUNITIES,
    POSTPONED,
    RESCHEDULED,
    SCHEDULED,
    SECTION_CHANGES,
    SECTION_DEADLINES,
    SECTION_GROUPS,
    SECTION_TITLES,
    SECTIONS,
    SUPPORT,
    VISIBILITY,
    VOLUNTEER,
)
from aggregator.digest.display import (
    as_datetime,
    as_zone,
    clean,
    deadline_day,
    end_instant,
    fmt_when_short,
    place,
    plural,
    start_instant,
)

DEADLINE_DAYS = 14
FINGERPRINT_FIELDS = ("start", "end", "all_day", "venue", "city", "country", "online", "status")

# the goal a kind serves first, used to choose between several goals an event serves
KIND_GOAL = {
    MENTORSHIP: SUPPORT,
    MEETUP: SUPPORT,
    NETWORKING: SUPPORT,
    CAREER_FAIR: OPPORTUNITIES,
    CONFERENCE: OPPORTUNITIES,
    HACKATHON: OPPORTUNITIES,
    CALL_FOR_SPEAKERS: VISIBILITY,
    AWARD: VISIBILITY,
    VOLUNTEER: VISIBILITY,
}
DEADLINE_KINDS = (CALL_FOR_SPEAKERS, AWARD)

Week = tuple[int, int] | tuple[date, date] | str


@dataclass
class Ranked:
    """One ranked event or group: what the ranking module produces."""

    event: dict[str, Any]
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)


@dataclass
class DigestItem:
    """One entry of a section: an event (or a group, ``is_group``) with why it is there."""

    data: dict[str, Any]
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    is_group: bool = False
    change: str | None = None          # changes section: "moved from ... to ...", "cancelled"
    deadline: date | datetime | None = None   # deadlines section: the closing day/time

    @property
    def id(self) -> str:
        return str(self.data.get("id") or "")

    @property
    def event(self) -> dict[str, Any]:
        return self.data


@dataclass
class Section:
    key: str
    title: str
    items: list[DigestItem] = field(default_factory=list)


@dataclass
class Digest:
    profile: str
    email: str | None
    week: str | None                   # "2026-W49", or None for a --from/--to range
    start: datetime                    # first instant (midnight in ``tz``)
    end: datetime                      # first instant after the period
    tz: tzinfo
    now: datetime
    sections: list[Section]

    @property
    def from_date(self) -> date:
        return self.start.date()

    @property
    def to_date(self) -> date:
        """The last day of the period (inclusive)."""
        return (self.end - timedelta(days=1)).date()

    @property
    def label(self) -> str:
        """"2026-W49", or "2026-02-09 to 2026-02-15" for a custom range."""
        return self.week or f"{self.from_date.isoformat()} to {self.to_date.isoformat()}"

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def count(self, key: str) -> int:
        return len(self.section(key).items)

    @property
    def picks(self) -> int:
        return sum(self.count(k) for k in GOALS)

    @property
    def is_empty(self) -> bool:
        return not any(s.items for s in self.sections)

    def summary(self) -> str:
        """"12 picks, 2 deadlines, 1 change" (only the non-zero counts), or "nothing new"."""
        parts = []
        if self.picks:
            parts.append(plural(self.picks, "pick"))
        if self.count(SECTION_DEADLINES):
            parts.append(plural(self.count(SECTION_DEADLINES), "deadline"))
        if self.count(SECTION_GROUPS):
            parts.append(plural(self.count(SECTION_GROUPS), "group"))
        if self.count(SECTION_CHANGES):
            parts.append(plural(self.count(SECTION_CHANGES), "change"))
        return ", ".join(parts) or "nothing new"

    def event_items(self) -> list[DigestItem]:
        """Every event item (not groups), in section order."""
        return [i for s in self.sections for i in s.items if not i.is_group]

    def sent_fingerprints(self) -> dict[str, str]:
        """What to record once this digest is sent: ``{id: fingerprint}`` for every item."""
        return {i.id: fingerprint(i.data) for s in self.sections for i in s.items if i.id}


# ---------------------------------------------------------------------------- weeks

def week_label(year: int, week: int) -> str:
    return f"{year:04d}-W{week:02d}"


def parse_week(text: str) -> tuple[int, int]:
    """"2026-W49" (also "2026W49", "2026-w9") -> (2026, 49); ValueError with what is expected."""
    raw = (text or "").strip().upper().replace("-", "")
    year_text, sep, week_text = raw.partition("W")
    if not sep or len(year_text) != 4 or not year_text.isdigit() or not week_text.isdigit():
        raise ValueError(f"a week looks like 2026-W49 (ISO year and week), not {text!r}")
    year, week = int(year_text), int(week_text)
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week} (weeks run from 1 to 52 or 53)") from None
    return year, week


def default_week(now: datetime, tz: tzinfo | str | None) -> tuple[int, int]:
    """The ISO week that contains tomorrow in ``tz``: Sunday evening and Monday morning agree."""
    tomorrow = now.astimezone(as_zone(tz)).date() + timedelta(days=1)
    iso = tomorrow.isocalendar()
    return iso.year, iso.week


def week_bounds(year: int, week: int, tz: tzinfo | str | None) -> tuple[datetime, datetime]:
    """Monday 00:00 and the next Monday 00:00 of the ISO week, in ``tz``."""
    monday = date.fromisocalendar(year, week, 1)
    return _midnight(monday, as_zone(tz)), _midnight(monday + timedelta(days=7), as_zone(tz))


def range_bounds(first: date, last: date, tz: tzinfo | str | None) -> tuple[datetime, datetime]:
    """Midnight of ``first`` and midnight after ``last`` (inclusive), in ``tz``."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    return _midnight(first, as_zone(tz)), _midnight(last + timedelta(days=1), as_zone(tz))


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _resolve_week(week: Week, tz: tzinfo) -> tuple[str | None, datetime, datetime]:
    if isinstance(week, str):
        week = parse_week(week)
    first, second = week
    if isinstance(first, date) and isinstance(second, date):
        start, end = range_bounds(first, second, tz)
        iso = first.isocalendar()
        is_iso_week = first.weekday() == 0 and (second - first).days == 6
        return (week_label(iso.year, iso.week) if is_iso_week else None), start, end
    if isinstance(first, int) and isinstance(second, int):
        date.fromisocalendar(first, second, 1)   # ValueError for a week that does not exist
        start, end = week_bounds(first, second, tz)
        return week_label(first, second), start, end
    raise TypeError(f"week must be (year, week), (from_date, to_date) or '2026-W49', not {week!r}")


# ---------------------------------------------------------------------------- fingerprints

def _fp_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(as_zone("UTC")).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        parsed = as_datetime(value) if value[:4].isdigit() else None
        if parsed is not None:
            return _fp_value(parsed)
        return clean(value)
    return value


def fingerprint(event: Mapping[str, Any]) -> str:
    """A compact JSON string of an event's time, place and status (times as UTC instants).

    Stored when a digest is sent; ``describe_change`` reads it back to say what moved.
    """
    data = {key: _fp_value(event.get(key)) for key in FINGERPRINT_FIELDS}
    data["status"] = data["status"] or SCHEDULED
    data["all_day"] = bool(data["all_day"])
    data["online"] = bool(data["online"])
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _load_fingerprint(stored: str | Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(stored, Mapping):
        return json.loads(fingerprint(stored))
    try:
        data = json.loads(stored)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_change(
    stored: str | Mapping[str, Any], event: Mapping[str, Any], tz: tzinfo | str | None,
    ref_year: int | None = None,
) -> str | None:
    """What changed since ``stored`` (a fingerprint) in words, or None when nothing did.

    "cancelled", "moved from Tue 10 Feb 18:00 to Thu 12 Feb 18:00", "now at Hall B, Berlin".
    """
    zone = as_zone(tz)
    now_fp = json.loads(fingerprint(event))
    old = _load_fingerprint(stored)
    if old is None:   # an opaque fingerprint: we can only tell that something changed
        return None if stored == fingerprint(event) else "details changed"
    old = {key: old.get(key) for key in FINGERPRINT_FIELDS}
    old["status"] = old["status"] or SCHEDULED
    if old == now_fp:
        return None
    status, old_status = now_fp["status"], old["status"]
    if status == CANCELLED:
        return "cancelled" if old_status != CANCELLED else None
    parts: list[str] = []
    if status != old_status:
        if status == POSTPONED:
            parts.append("postponed")
        elif status == MOVED_ONLINE:
            parts.append("moved online")
        elif old_status in (CANCELLED, POSTPONED):
            parts.append(f"no longer {old_status}")
    old_event = dict(old)
    if old["start"] != now_fp["start"] or old["all_day"] != now_fp["all_day"]:
        before = fmt_when_short(old_event, zone, ref_year)
        after = fmt_when_short(dict(event), zone, ref_year)
        parts.append(f"moved from {before} to {after}" if before != after else "new time")
    elif old["end"] != now_fp["end"]:
        end = as_datetime(event.get("end"))
        if isinstance(end, datetime):
            after = fmt_when_short({"start": end}, zone, ref_year)
            parts.append(f"now ends {after}")
        else:
            parts.append("new end")
    old_place, new_place = place(old_event), place(dict(event))
    if old_place != new_place:
        if new_place and old_place:
            parts.append(f"now at {new_place} (was {old_place})")
        elif new_place:
            parts.append(f"now at {new_place}")
        elif now_fp["online"] and status != MOVED_ONLINE:
            parts.append("moved online")
        else:
            parts.append(f"no longer at {old_place}")
    elif old["online"] != now_fp["online"] and status != MOVED_ONLINE:
        parts.append("now also online" if now_fp["online"] else "no longer online")
    if not parts and status == RESCHEDULED:
        parts.append("rescheduled")
    return "; ".join(dict.fromkeys(parts)) or "details changed"


# ---------------------------------------------------------------------------- building

def _unpack(obj: Any, key: str = "event") -> tuple[dict[str, Any], float | None, list[str]]:
    """(item dict, score, reasons) from a Ranked-like object, a wrapper dict or a plain item."""
    for attr in (key, "event", "group", "item"):
        inner = getattr(obj, attr, None)
        if isinstance(inner, Mapping):
            return dict(inner), getattr(obj, "score", None), list(getattr(obj, "reasons", []) or [])
    if isinstance(obj, Mapping):
        for attr in (key, "event", "group", "item"):
            inner = obj.get(attr)
            if isinstance(inner, Mapping):
                return dict(inner), obj.get("score"), list(obj.get("reasons") or [])
        data = {k: v for k, v in obj.items() if k not in ("score", "reasons")}
        return data, obj.get("score"), list(obj.get("reasons") or [])
    raise TypeError(f"expected a ranked item with .{key}, .score and .reasons, got {obj!r}")


def _profile_value(profile: Any, name: str, default: Any = None) -> Any:
    if isinstance(profile, Mapping):
        return profile.get(name, default)
    return getattr(profile, name, default)


def best_section(event: Mapping[str, Any], goals: Iterable[str]) -> str:
    """The goal section for an event: one of the profile's goals, preferring the event's own goals
    and, among those, the goal its kind serves first."""
    wanted = [g for g in GOALS if g in set(goals)] or list(GOALS)
    own = [g for g in (event.get("goals") or []) if g in wanted]
    kind_goals = [KIND_GOAL[k] for k in (event.get("kinds") or []) if k in KIND_GOAL]
    candidates = own or [g for g in kind_goals if g in wanted] or wanted
    for goal in kind_goals:
        if goal in candidates:
            return goal
    return candidates[0]


def _is_past(event: Mapping[str, Any], now: datetime, tz: tzinfo) -> bool:
    end = end_instant(dict(event), tz)
    return end is not None and end <= now


def build_digest(
    profile: Any,
    week: Week,
    ranked_events: Iterable[Any],
    ranked_groups: Iterable[Any] = (),
    sent: Mapping[str, str] | None = None,
    now: datetime | None = None,
    tz: tzinfo | str | None = None,
    *,
    sent_events: Iterable[Mapping[str, Any]] = (),
) -> Digest:
    """The digest of ``profile`` for ``week``.

    ``ranked_events`` / ``ranked_groups``: Ranked-like objects (``.event`` or ``.group``,
    ``.score``, ``.reasons``) or dicts, best first; events should be those starting in the
    period or whose ``cfp_deadline`` falls within 14 days of its start.
    ``sent``: ``{id: fingerprint}`` of items sent in earlier digests.
    ``sent_events``: the current state of those sent events that are not among
    ``ranked_events`` (so a cancelled or moved event can be reported).
    ``tz``: the display timezone (default: the profile's ``timezone``, else UTC).
    """
    if now is None or now.tzinfo is None:
        raise ValueError("build_digest needs an aware `now`")
    zone = as_zone(tz if tz is not None else _profile_value(profile, "timezone"))
    label, start, end = _resolve_week(week, zone)
    ref_year = start.year
    sent = dict(sent or {})
    goals = _profile_value(profile, "goals") or list(GOALS)
    sections = {key: Section(key, SECTION_TITLES[key]) for key in SECTIONS}

    ranked: dict[str, tuple[dict[str, Any], float | None, list[str]]] = {}
    order: list[str] = []
    for obj in ranked_events:
        data, score, reasons = _unpack(obj, "event")
        key = str(data.get("id") or f"#{len(order)}")
        if key not in ranked:
            ranked[key] = (data, score, reasons)
            order.append(key)
    current = {str(e.get("id")): dict(e) for e in sent_events if e.get("id")}

    # changes: earlier items whose time, place or status moved since they were sent
    changed: list[DigestItem] = []
    for event_id, stored in sent.items():
        if event_id in ranked:
            data, score, reasons = ranked[event_id]
        elif event_id in current:
            data, score, reasons = current[event_id], None, []
        else:
            continue
        change = describe_change(stored, data, zone, ref_year)
        if change is None:
            continue
        old = _load_fingerprint(stored) or {}
        if _is_past(data, now, zone) and _is_past(old, now, zone):
            continue
        changed.append(DigestItem(data, score, reasons, change=change))
    changed.sort(key=lambda i: (start_instant(i.data, zone) or end, i.id))
    sections[SECTION_CHANGES].items = changed

    window_first = start.date()
    window_last = window_first + timedelta(days=DEADLINE_DAYS - 1)
    today = now.astimezone(zone).date()
    for key in order:
        if key in sent:
            continue    # sent before: unchanged, or already listed under changes
        data, score, reasons = ranked[key]
        if (data.get("status") or SCHEDULED) == CANCELLED:
            continue
        deadline = as_datetime(data.get("cfp_deadline"), zone)
        day = deadline_day(deadline, zone)
        if isinstance(deadline, datetime):
            open_now = deadline > now
        else:
            open_now = day is not None and day >= today
        if day is not None and window_first <= day <= window_last and open_now:
            sections[SECTION_DEADLINES].items.append(
                DigestItem(data, score, reasons, deadline=deadline))
            continue
        if _is_past(data, now, zone):
            continue    # already over (a run in the middle of the period)
        sections[best_section(data, goals)].items.append(DigestItem(data, score, reasons))
    sections[SECTION_DEADLINES].items.sort(
        key=lambda i: (deadline_day(i.deadline, zone) or window_last, i.id))

    seen_groups: set[str] = set()
    for obj in ranked_groups:
        data, score, reasons = _unpack(obj, "group")
        group_id = str(data.get("id") or "")
        if group_id and (group_id in sent or group_id in seen_groups):
            continue
        seen_groups.add(group_id)
        sections[SECTION_GROUPS].items.append(DigestItem(data, score, reasons, is_group=True))

    return Digest(
        profile=str(_profile_value(profile, "name") or ""),
        email=_profile_value(profile, "email"),
        week=label,
        start=start,
        end=end,
        tz=zone,
        now=now,
        sections=[sections[key] for key in SECTIONS],
    )
