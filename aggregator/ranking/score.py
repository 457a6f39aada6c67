"""Rank indexed events for one profile: hard constraints first, then separate score components."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from aggregator import constants as C
from aggregator import geo
from aggregator.config_types import Industry, Profile
from aggregator.ranking.index import EventIndex
from aggregator.ranking.text import Phrase, parse_phrase, tokens

# weight of each component in the final score (the score is the sum of the contributions)
WEIGHTS: dict[str, float] = {
    "text": 0.45,        # interests in title / tags / description (BM25F, phrases, synonyms)
    "industry": 0.20,    # the event's industries against the profile's (with parents/children)
    "goal": 0.15,        # the event serves one of the person's goals
    "place": 0.10,       # near the person, or online
    "time": 0.10,        # deadline soon (visibility), online at night in the person's zone
    "price": 0.03,       # a small preference for cheaper events
    "status": 0.30,      # postponed events sink
    "novelty": 0.30,     # already sent in an earlier digest
    "feedback": 0.20,    # likes / going / dislikes of the same group, organizer, source, terms
}
PHRASE_SCALE = 4.0       # BM25F score at which a phrase counts as 63 % matched
SYNONYM_WEIGHT = 0.6     # a synonym from the taxonomy counts this much of the interest itself
PARTIAL_WEIGHT = 0.3     # some words of a multi-word interest, not the phrase
KEYWORD_WEIGHT = 0.5     # industry keywords stand in when an event has no industries
DEADLINE_SOON_DAYS = 14
NIGHT_HOURS = (22, 7)    # an online event starting in these local hours is inconvenient
DAY = 86400.0
GOAL_ORDER = {g: i for i, g in enumerate(C.GOALS)}


@dataclass
class Ranked:
    """One ranked event (or group): the dict itself, its score and why it was picked."""

    event: dict
    score: float
    reasons: list[str] = field(default_factory=list)
    components: dict[str, float] = field(default_factory=dict)   # contribution of each component
    details: dict[str, str] = field(default_factory=dict)        # with explain=True: raw values

    @property
    def item(self) -> dict:
        return self.event


@dataclass
class _Interest:
    phrase: Phrase
    synonyms: list[Phrase]


@dataclass
class _Match:
    interest: _Interest
    own: tuple[np.ndarray, np.ndarray]              # (score, phrase present) per candidate
    synonyms: list[tuple[np.ndarray, np.ndarray]]


@dataclass
class ProfileQuery:
    """A profile prepared for matching (parsed phrases, expanded industries, located home)."""

    profile: Profile
    interests: list[_Interest]
    excludes: list[Phrase]
    industries: set[str]          # the profile's industries and their children
    parents: set[str]             # parents of the profile's industries (a partial match)
    keywords: list[Phrase]        # keywords of the profile's industries
    home: geo.Place | None
    home_name: str | None
    zone: ZoneInfo | timezone
    goals: tuple[str, ...]


def _children(taxonomy: Mapping[str, Industry], slugs: Iterable[str]) -> set[str]:
    found = set(slugs)
    changed = True
    while changed:
        changed = False
        for ind in taxonomy.values():
            if ind.parent in found and ind.slug not in found:
                found.add(ind.slug)
                changed = True
    return found


def _parents(taxonomy: Mapping[str, Industry], slugs: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for slug in slugs:
        seen = {slug}
        parent = taxonomy[slug].parent if slug in taxonomy else None
        while parent and parent not in seen:
            found.add(parent)
            seen.add(parent)
            parent = taxonomy[parent].parent if parent in taxonomy else None
    return found


@dataclass
class _Tables:
    """Parsed taxonomy names, computed once per taxonomy."""

    names: dict[str, list[Phrase]]         # slug -> slug, label and synonyms as phrases
    keywords: dict[str, list[Phrase]]      # slug -> label, keywords and synonyms as phrases


_TABLES: dict[int, tuple[Mapping[str, Industry], _Tables]] = {}


def _tables(taxonomy: Mapping[str, Industry]) -> _Tables:
    cached = _TABLES.get(id(taxonomy))
    if cached is not None and cached[0] is taxonomy:
        return cached[1]

    def parsed(names: Iterable[str]) -> list[Phrase]:
        return [p for p in (parse_phrase(n) for n in names) if p]

    tables = _Tables(
        names={s: parsed([i.slug, i.label, *i.synonyms]) for s, i in taxonomy.items()},
        keywords={s: parsed([i.label, *i.keywords, *i.synonyms]) for s, i in taxonomy.items()},
    )
    if len(_TABLES) > 16:
        _TABLES.clear()
    _TABLES[id(taxonomy)] = (taxonomy, tables)
    return tables


def _synonyms(phrase: Phrase, tables: _Tables) -> list[Phrase]:
    """Other names for an interest that names an industry (its slug, label or a synonym).

    An interest that is only one of an industry's keywords ("kubernetes" for cloud) is not
    expanded: the industry as a whole is broader than the person asked for.
    """
    out: dict[tuple[str, ...], Phrase] = {}
    for names in tables.names.values():
        if any(p.tokens == phrase.tokens for p in names):
            for alt in names:
                if alt.tokens != phrase.tokens:
                    out.setdefault(alt.tokens, alt)
    return list(out.values())


def prepare(profile: Profile, taxonomy: Mapping[str, Industry]) -> ProfileQuery:
    """Parse and expand a profile once; pass it to ``rank(query=...)`` to rank it repeatedly."""
    tables = _tables(taxonomy)
    interests = [
        _Interest(p, _synonyms(p, tables))
        for p in (parse_phrase(raw) for raw in profile.interests) if p
    ]
    excludes = [p for p in (parse_phrase(raw) for raw in profile.exclude) if p]
    industries = _children(taxonomy, profile.industries)
    keywords: dict[tuple[str, ...], Phrase] = {}
    for slug in sorted(industries):
        for p in tables.keywords.get(slug) or [q for q in [parse_phrase(slug)] if q]:
            keywords.setdefault(p.tokens, p)
    home = geo.find_place(profile.location) if profile.location else None
    zone: ZoneInfo | timezone = UTC
    for name in (profile.timezone, home.timezone if home else None):
        if name:
            try:
                zone = ZoneInfo(name)
                break
            except (ZoneInfoNotFoundError, ValueError):
                continue
    home_name = profile.location.split(",")[0].strip() if profile.location else None
    goals = tuple(g for g in C.GOALS if g in profile.goals) or C.GOALS
    return ProfileQuery(
        profile=profile, interests=interests, excludes=excludes, industries=industries,
        parents=_parents(taxonomy, profile.industries) - industries,
        keywords=list(keywords.values()), home=home, home_name=home_name, zone=zone,
        goals=goals,
    )


def _phrase_score(index: EventIndex, phrase: Phrase, rows: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Saturated BM25F match (0..1) of one phrase for the given event rows, and where the
    whole phrase is present."""
    full = np.zeros(len(index))
    for key in phrase.keys:
        docs, weights = index.postings(key)
        full[docs] += weights
    present = index.has_all(phrase.keys)
    if len(phrase.tokens) > 1:
        # the phrase itself must be there for full credit; loose words earn a little
        loose = np.zeros(len(index))
        for tok in phrase.tokens:
            docs, weights = index.postings(tok)
            loose[docs] += weights
        full = np.where(present, full, 0.0)
        full += PARTIAL_WEIGHT * loose / len(phrase.tokens)
    return 1.0 - np.exp(-full[rows] / PHRASE_SCALE), present[rows]


def _epoch(moment: datetime | date) -> float:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment.isoformat()}: pass an aware datetime")
        return moment.timestamp()
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp()


def _feedback_rows(index: EventIndex, feedback: Iterable[Mapping[str, Any]]
                   ) -> tuple[set[int], list[tuple[str, dict]]]:
    """Hidden event rows and (signal, event dict) pairs for the other signals."""
    hidden: set[int] = set()
    signals: list[tuple[str, dict]] = []
    for entry in feedback:
        signal = entry.get("signal") or entry.get("action")
        event_id = entry.get("event_id", entry.get("id"))
        row = index.row_of_id.get(str(event_id)) if event_id is not None else None
        event = entry.get("event") or (index.events[row] if row is not None else None)
        if signal == C.HIDE:
            if row is not None:
                hidden.add(row)
        elif signal in (C.LIKE, C.GOING, C.DISLIKE) and event:
            signals.append((signal, dict(event)))
    return hidden, signals


_SIGNAL_VALUE = {C.LIKE: 1.0, C.GOING: 1.5, C.DISLIKE: -1.0}
_VERB = {C.LIKE: "liked", C.GOING: "are going to", C.DISLIKE: "disliked"}


def rank(
    index: EventIndex,
    profile: Profile,
    now: datetime,
    *,
    window: tuple[datetime | date, datetime | date] | None = None,
    feedback: Iterable[Mapping[str, Any]] = (),
    sent_ids: Collection[str] = frozenset(),
    limit: int | None = None,
    explain: bool = False,
    min_score: float | None = None,
    query: ProfileQuery | None = None,
    timeless: bool = False,
) -> list[Ranked]:
    """Events of ``index`` for ``profile``, best first. See the package docstring."""
    q = query or prepare(profile, index.taxonomy)
    n = len(index)
    if n == 0:
        return []
    now_s = _epoch(now)

    # ---- hard constraints -------------------------------------------------------------
    mask = ~index.cancelled
    if timeless:
        in_window = np.ones(n, dtype=bool)
    elif window is not None:
        lo, hi = _epoch(window[0]), _epoch(window[1])
        in_window = ((index.start >= lo) & (index.start < hi)) | (
            (index.deadline >= lo) & (index.deadline < hi))
    else:
        in_window = (index.start >= now_s) | (index.deadline >= now_s)
    mask &= in_window
    for phrase in q.excludes:
        mask &= ~index.has_all(phrase.keys)
    if profile.kinds:
        cols = [C.KINDS.index(k) for k in profile.kinds if k in C.KINDS]
        mask &= index.kinds[:, cols].any(axis=1)
    if profile.max_price is not None:
        # speakers and nominees do not buy a ticket: a call for speakers or an award passes
        answers_a_call = index.kinds[:, [C.KINDS.index(C.CALL_FOR_SPEAKERS), C.KINDS.index(C.AWARD)]].any(axis=1)
        mask &= np.isnan(index.price) | (index.price <= profile.max_price) | answers_a_call
    if profile.languages:
        allowed = {lang.split("-")[0].casefold() for lang in profile.languages}
        codes = [-1] + [index.language_codes[lang] for lang in allowed
                        if lang in index.language_codes]
        mask &= np.isin(index.language_code, codes)
    hidden, signals = _feedback_rows(index, feedback)
    if hidden:
        mask[list(hidden)] = False

    # place: in person within the radius, or online when the person takes online events
    dist = np.full(n, np.nan)
    if q.home is not None:
        lat1, lon1 = math.radians(q.home.latitude), math.radians(q.home.longitude)
        lat2, lon2 = np.radians(index.lat), np.radians(index.lon)
        h = (np.sin((lat2 - lat1) / 2) ** 2
             + math.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
        dist = 2 * geo.EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    radius = profile.radius_km
    located = ~np.isnan(dist)
    if radius is not None and q.home is not None:
        nearby = located & (dist <= radius) & (radius > 0)
        in_person_ok = nearby | (~located & ~index.online & (radius > 0))
    else:
        nearby = located
        in_person_ok = np.ones(n, dtype=bool)
    if profile.online:
        mask &= in_person_ok | index.online
    else:
        mask &= in_person_ok & (nearby | ~index.online)

    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return []

    # ---- components (raw values in 0..1, or -1..1 for penalties) -----------------------
    raw: dict[str, np.ndarray] = {}
    phrase_scores: list[_Match] = []
    text = np.zeros(rows.size)
    top_weight = max((i.phrase.weight for i in q.interests), default=1.0)
    for interest in q.interests:
        own = _phrase_score(index, interest.phrase, rows)
        alts = [_phrase_score(index, alt, rows) for alt in interest.synonyms]
        best = np.maximum.reduce([own[0], *(SYNONYM_WEIGHT * a[0] for a in alts)])
        phrase_scores.append(_Match(interest, own, alts))
        text += interest.phrase.weight * best
    raw["text"] = np.minimum(1.5, text / top_weight)

    ind = np.zeros(rows.size)
    ind_cols = [i for i, s in enumerate(index.industry_slugs) if s in q.industries]
    par_cols = [i for i, s in enumerate(index.industry_slugs) if s in q.parents]
    ev_ind = index.industries[rows]
    if ind_cols:
        ind = np.where(ev_ind[:, ind_cols].any(axis=1), 1.0, ind)
    if par_cols:
        ind = np.where((ind == 0) & ev_ind[:, par_cols].any(axis=1), 0.5, ind)
    untagged = ~ev_ind.any(axis=1)
    if q.keywords and untagged.any():
        kw = np.maximum.reduce([_phrase_score(index, p, rows)[0] for p in q.keywords])
        ind = np.where(untagged, KEYWORD_WEIGHT * kw, ind)
    raw["industry"] = ind

    goal_cols = [C.GOALS.index(g) for g in q.goals]
    raw["goal"] = index.goals[rows][:, goal_cols].any(axis=1).astype(float)

    d = dist[rows]
    on = index.online[rows]
    near = nearby[rows]
    if radius is not None and radius > 0:
        place_near = 1.0 - 0.5 * np.clip(d / radius, 0.0, 1.0)
    else:
        place_near = 1.0 / (1.0 + np.nan_to_num(d, nan=1e6) / 100.0)
    place = np.where(near, place_near, np.where(on, 0.6, 0.3))
    raw["place"] = np.nan_to_num(place, nan=0.3)

    time_score = np.zeros(rows.size)
    days_left = (index.deadline[rows] - now_s) / DAY
    soon = (days_left >= 0) & (days_left <= DEADLINE_SOON_DAYS)
    if C.VISIBILITY in q.goals:
        time_score = np.where(soon, 1.0 - 0.5 * days_left / DEADLINE_SOON_DAYS, 0.0)
    offset = (now.astimezone(q.zone).utcoffset() or timedelta()).total_seconds()
    hour = ((index.start[rows] + offset) % DAY) / 3600.0
    night = on & ~near & ((hour >= NIGHT_HOURS[0]) | (hour < NIGHT_HOURS[1]))
    time_score = np.where(night, time_score - 1.0, time_score)
    raw["time"] = np.zeros(rows.size) if timeless else np.nan_to_num(time_score)

    price = index.price[rows]
    scale = profile.max_price if profile.max_price else 200.0
    raw["price"] = -np.clip(np.nan_to_num(price, nan=0.0) / scale, 0.0, 1.0)
    raw["status"] = -index.postponed[rows].astype(float)
    if sent_ids:
        sent = {str(s) for s in sent_ids}
        raw["novelty"] = -np.fromiter(
            (str(index.events[r].get("id")) in sent for r in rows), dtype=float, count=rows.size)
    else:
        raw["novelty"] = np.zeros(rows.size)

    fb = np.zeros(rows.size)
    fb_notes: dict[int, dict[tuple[str, str], int]] = {}
    for signal, event in signals:
        value = _SIGNAL_VALUE[signal]
        for what, arr, share in (("group", index.group_code, 1.0),
                                 ("organizer", index.organizer_code, 0.6),
                                 ("source", index.source_code, 0.25)):
            name = event.get(what) if what != "source" else (event.get("sources") or [None])[0]
            code = index.label(name)
            if code < 0:
                continue
            hit = arr[rows] == code
            fb += np.where(hit, value * share, 0.0)
            if what != "source":
                for pos in np.flatnonzero(hit):
                    notes = fb_notes.setdefault(int(pos), {})
                    notes[(signal, what)] = notes.get((signal, what), 0) + 1
        title_terms = [t for t in tokens(event.get("title")) if t in index.vocab]
        for term in title_terms:
            docs, weights = index.postings(term)
            vec = np.zeros(n)
            vec[docs] = weights
            fb += value * 0.1 * (1.0 - np.exp(-vec[rows] / PHRASE_SCALE))
    raw["feedback"] = np.tanh(fb)

    contrib = {name: WEIGHTS[name] * values for name, values in raw.items()}
    total = np.sum(list(contrib.values()), axis=0)
    order = np.lexsort((index.start[rows], -total))
    if min_score is not None:
        order = order[total[order] >= min_score]
    if limit is not None:
        order = order[:limit]

    out: list[Ranked] = []
    for pos in order:
        row = int(rows[pos])
        event = index.events[row]
        ranked = Ranked(
            event=event, score=round(float(total[pos]), 4),
            components={k: round(float(v[pos]), 4) for k, v in contrib.items()},
        )
        ranked.reasons = _reasons(index, q, row, pos, phrase_scores, raw, d, near, on,
                                  days_left, fb_notes)
        if explain:
            ranked.details = {k: f"{float(v[pos]):.3f} x {WEIGHTS[k]}" for k, v in raw.items()}
            if not math.isnan(d[pos]):
                ranked.details["distance_km"] = f"{d[pos]:.1f}"
        out.append(ranked)
    return out


def _where(index: EventIndex, row: int, phrase: Phrase) -> str:
    keys = set(phrase.keys)
    if keys <= index.title_terms[row]:
        return "title"
    if keys <= index.tag_terms[row]:
        return "tags"
    if keys <= index.org_terms[row]:
        return "organizer"
    return "description"


def _reasons(index: EventIndex, q: ProfileQuery, row: int, pos: int,
             phrase_scores: list[_Match],
             raw: dict[str, np.ndarray], d: np.ndarray, near: np.ndarray, on: np.ndarray,
             days_left: np.ndarray, fb_notes: dict[int, dict[tuple[str, str], int]]) -> list[str]:
    event = index.events[row]
    reasons: list[str] = []
    matched = []
    for match in phrase_scores:
        interest, (own, present) = match.interest, match.own
        if own[pos] > 0 and present[pos]:
            matched.append((interest.phrase.weight * own[pos], f"'{interest.phrase.text}'",
                            _where(index, row, interest.phrase)))
        else:
            for alt, (score, alt_present) in zip(interest.synonyms, match.synonyms, strict=True):
                if score[pos] > 0 and alt_present[pos]:
                    matched.append((SYNONYM_WEIGHT * interest.phrase.weight * score[pos],
                                    f"'{alt.text}' (for '{interest.phrase.text}')",
                                    _where(index, row, alt)))
                    break
    for _, text, where in sorted(matched, key=lambda m: -m[0])[:2]:
        reasons.append(f"matches {text} in {where}")

    if raw["industry"][pos] >= 1.0:
        slugs = [s for s in event.get("industries") or () if s in q.industries]
        if slugs:
            label = index.taxonomy[slugs[0]].label if slugs[0] in index.taxonomy else slugs[0]
            reasons.append(f"in your industry: {label}")

    if near[pos] and not math.isnan(d[pos]):
        km = d[pos]
        if km < 2:
            reasons.append(f"in {q.home_name}" if q.home_name else "nearby")
        else:
            reasons.append(f"{km:.0f} km from {q.home_name}")
    elif on[pos]:
        reasons.append("online")

    if not math.isnan(days_left[pos]) and 0 <= days_left[pos] <= DEADLINE_SOON_DAYS:
        days = int(days_left[pos])
        what = ("nominations close" if C.AWARD in (event.get("kinds") or ())
                else "call for speakers closes")
        when = "today" if days == 0 else ("tomorrow" if days == 1 else f"in {days} days")
        reasons.append(f"{what} {when}")

    fits = [g for g in q.goals if index.goals[row, C.GOALS.index(g)]]
    if fits:
        reasons.append("fits your goal: " + ", ".join(fits))

    for (signal, what), count in sorted(fb_notes.get(pos, {}).items()):
        noun = "event" if count == 1 else "events"
        reasons.append(f"you {_VERB[signal]} {count} {noun} of this {what}")

    if raw["time"][pos] < 0:
        reasons.append("late at night in your time zone")
    if event.get("status") == C.POSTPONED:
        reasons.append("postponed")
    if raw["novelty"][pos] < 0:
        reasons.append("already in an earlier digest")
    price = event.get("price")
    if price == 0:
        reasons.append("free")
    return reasons
