"""Rank groups for a profile: topic, industry, place (or online) and how active they are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aggregator import constants as C
from aggregator.config_types import Industry, Profile
from aggregator.ranking.index import build_index
from aggregator.ranking.score import Ranked, rank

ACTIVITY_WEIGHT = 0.25
ACTIVE_EVENTS = 6            # this many events in the last/next 90 days is "fully active"
WINDOW = timedelta(days=90)


def _key(name: str | None) -> str:
    return " ".join((name or "").casefold().split())


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _activity(group: Mapping[str, Any], own: list[dict], now: datetime) -> tuple[int, int]:
    """(events in the last 90 days, events in the next 90 days), from the group or its events."""
    last, nxt = group.get("events_last_90d"), group.get("events_next_90d")
    if last is not None and nxt is not None:
        return int(last), int(nxt)
    starts = [s for s in (_aware(e.get("start")) for e in own) if s]
    return (sum(now - WINDOW <= s < now for s in starts),
            sum(now <= s < now + WINDOW for s in starts))


@dataclass
class GroupIndex:
    """Groups indexed as documents (name, description, tags, their events' titles): built once,
    ranked for many profiles."""

    groups: list[dict]
    docs: list[dict]
    by_group: dict[str, list[dict]]
    index: Any


def index_groups(groups: list[dict], events: Iterable[dict],
                 taxonomy: Mapping[str, Industry] | None = None) -> GroupIndex:
    by_group: dict[str, list[dict]] = {}
    for event in events:
        if event.get("group"):
            by_group.setdefault(_key(event["group"]), []).append(event)
    docs: list[dict] = []
    for group in groups:
        own = by_group.get(_key(group.get("name")), [])
        online = bool(group.get("online")) or (
            bool(own) and not group.get("city") and all(e.get("online") for e in own))
        docs.append({
            "id": group.get("id"),
            "title": group.get("name") or "",
            "description": " . ".join(
                [group.get("description") or ""] + [e.get("title") or "" for e in own]),
            "tags": list(group.get("tags") or []),
            "industries": sorted(set(group.get("industries") or ())
                                 | {s for e in own for s in e.get("industries") or ()}),
            "kinds": [], "goals": [C.SUPPORT, C.OPPORTUNITIES],
            "city": group.get("city"), "country": group.get("country"),
            "latitude": group.get("latitude"), "longitude": group.get("longitude"),
            "online": online, "group": group.get("name"),
            "language": group.get("language"),
        })
    return GroupIndex(groups, docs, by_group, build_index(docs, taxonomy))


def rank_groups(
    groups: list[dict],
    events: Iterable[dict],
    profile: Profile,
    now: datetime,
    *,
    taxonomy: Mapping[str, Industry] | None = None,
    feedback: Iterable[Mapping[str, Any]] = (),
    limit: int | None = None,
    explain: bool = False,
    prepared: GroupIndex | None = None,
) -> list[Ranked]:
    """Groups (SPEC group objects, optionally with `description`), best first.

    Each group is matched as one document made of its name, description, tags and the titles
    of its events (events whose `group` is the group's name); online-only groups count as
    online. Active groups rank higher: an `activity` component from `events_last_90d` and
    `events_next_90d` (computed from `events` when the group lacks them); a group with no
    event in either period sinks.

    ``prepared``: the result of ``index_groups`` for these groups and events (ranking many
    profiles reuses it).
    """
    prepared = prepared or index_groups(groups, events, taxonomy)
    groups, docs, by_group, index = prepared.groups, prepared.docs, prepared.by_group, prepared.index
    ranked = rank(index, profile, now, feedback=feedback, explain=explain, timeless=True)
    row_of = {id(doc): row for row, doc in enumerate(docs)}
    out: list[Ranked] = []
    for item in ranked:
        row = row_of[id(item.event)]
        group = groups[row]
        last, nxt = _activity(group, by_group.get(_key(group.get("name")), []), now)
        activity = min(1.0, (nxt + 0.5 * last) / ACTIVE_EVENTS) if (last or nxt) else -1.0
        contribution = round(ACTIVITY_WEIGHT * activity, 4)
        reasons = list(item.reasons)
        if nxt:
            reasons.append(f"{nxt} event{'s' if nxt != 1 else ''} in the next 90 days")
        elif last:
            reasons.append(f"{last} event{'s' if last != 1 else ''} in the last 90 days")
        else:
            reasons.append("no events in the last or next 90 days")
        out.append(Ranked(
            event=group, score=round(item.score + contribution, 4), reasons=reasons,
            components={**item.components, "activity": contribution}, details=item.details,
        ))
    out.sort(key=lambda r: -r.score)
    return out[:limit] if limit is not None else out
