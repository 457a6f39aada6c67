"""The event index: every per-event feature ranking needs, as numpy arrays, built once.

Text is indexed with BM25F over four fields (title, tags, organizer+group, description) into a
compressed postings layout (term -> slice of doc ids and weights), so a profile's query costs a
handful of vectorised additions whatever the number of events. Kinds, goals and industries are
one-hot boolean matrices; coordinates, start times, deadlines and prices are float arrays with
NaN for unknown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from aggregator import constants as C
from aggregator import geo
from aggregator.config_types import Industry
from aggregator.ranking.text import bigrams, tokens

# BM25F parameters: field weights and the usual saturation / length normalisation constants
FIELD_WEIGHTS = {"title": 3.0, "tags": 2.0, "organizer": 1.5, "description": 1.0}
K1 = 1.2
B = 0.75

# which goal each kind serves (SPEC: "why people network"): one table for the whole tool
KIND_GOALS = C.GOALS_BY_KIND


def _epoch(value: Any, tz_name: str | None, *, end_of_day: bool = False) -> float:
    """Seconds since the epoch for an aware datetime, a date (in the event's zone) or None."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return math.nan
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_zone(tz_name))
        return value.timestamp()
    if isinstance(value, date):
        moment = datetime.combine(value, time.max if end_of_day else time.min)
        return moment.replace(tzinfo=_zone(tz_name)).timestamp()
    return math.nan


def _zone(name: str | None) -> ZoneInfo | timezone:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def _price(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class EventIndex:
    events: list[dict]
    taxonomy: dict[str, Industry]
    vocab: dict[str, int]
    term_ptr: np.ndarray          # (V+1,) postings offsets per term id
    post_docs: np.ndarray         # doc row of each posting
    post_weight: np.ndarray       # BM25F weight of each posting
    title_terms: list[frozenset[str]]
    tag_terms: list[frozenset[str]]
    org_terms: list[frozenset[str]]   # organizer and group names
    start: np.ndarray             # epoch seconds, NaN unknown
    deadline: np.ndarray          # cfp / nomination deadline, epoch seconds, NaN none
    price: np.ndarray             # NaN unknown, 0 free
    lat: np.ndarray
    lon: np.ndarray
    online: np.ndarray            # bool
    cancelled: np.ndarray         # bool
    postponed: np.ndarray         # bool
    language: list[str | None]
    language_code: np.ndarray     # int, -1 unknown; codes in `language_codes`
    language_codes: dict[str, int]
    kinds: np.ndarray             # (n, len(KINDS)) bool
    goals: np.ndarray             # (n, len(GOALS)) bool, explicit goals plus those of the kinds
    industry_slugs: list[str]
    industries: np.ndarray        # (n, len(industry_slugs)) bool
    group_code: np.ndarray        # int, -1 none; codes in `labels`
    organizer_code: np.ndarray
    source_code: np.ndarray       # first source name
    labels: dict[str, int] = field(default_factory=dict)
    row_of_id: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.events)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(doc rows, BM25F weights) of a term; empty arrays when unknown."""
        tid = self.vocab.get(term)
        if tid is None:
            return _EMPTY_I, _EMPTY_F
        lo, hi = self.term_ptr[tid], self.term_ptr[tid + 1]
        return self.post_docs[lo:hi], self.post_weight[lo:hi]

    def term_vector(self, term: str) -> np.ndarray:
        vec = np.zeros(len(self.events), dtype=np.float64)
        docs, weights = self.postings(term)
        vec[docs] = weights
        return vec

    def has_all(self, keys: Iterable[str]) -> np.ndarray:
        """Bool mask of events whose text contains every key (unigram or bigram)."""
        mask = np.ones(len(self.events), dtype=bool)
        for key in keys:
            present = np.zeros(len(self.events), dtype=bool)
            present[self.postings(key)[0]] = True
            mask &= present
        return mask

    def label(self, name: str | None) -> int:
        return self.labels.get(_label_key(name), -1) if name else -1


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


def _label_key(name: str | None) -> str:
    return " ".join((name or "").casefold().split())


def _field_texts(event: Mapping[str, Any]) -> dict[str, str]:
    return {
        "title": event.get("title") or "",
        "tags": " . ".join(str(t) for t in event.get("tags") or ()),
        "organizer": " . ".join(str(x) for x in (event.get("organizer"), event.get("group")) if x),
        "description": event.get("description") or "",
    }


def build_index(events: list[dict], taxonomy: Mapping[str, Industry] | None = None) -> EventIndex:
    """Index event dicts (the docs/design.md contract) for ranking."""
    taxonomy = dict(taxonomy or {})
    n = len(events)
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    lengths: dict[str, list[int]] = {name: [] for name in FIELD_WEIGHTS}
    field_terms: dict[str, list[list[int]]] = {name: [] for name in FIELD_WEIGHTS}
    title_terms: list[frozenset[str]] = []
    tag_terms: list[frozenset[str]] = []
    org_terms: list[frozenset[str]] = []

    for event in events:
        for name, text in _field_texts(event).items():
            toks = tokens(text)
            all_terms = toks + bigrams(toks)
            lengths[name].append(len(toks))
            field_terms[name].append([vocab.setdefault(t, len(vocab)) for t in all_terms])
            if name == "title":
                title_terms.append(frozenset(all_terms))
            elif name == "tags":
                tag_terms.append(frozenset(all_terms))
            elif name == "organizer":
                org_terms.append(frozenset(all_terms))

    # BM25F: length-normalised, field-weighted term frequencies summed over fields
    weights: list[np.ndarray] = []
    for name, fw in FIELD_WEIGHTS.items():
        lens = np.asarray(lengths[name], dtype=np.float64)
        avg = lens.mean() if n and lens.mean() > 0 else 1.0
        norm = fw / (1 - B + B * lens / avg)
        counts = np.fromiter((len(t) for t in field_terms[name]), dtype=np.int64, count=n)
        rows.extend(np.repeat(np.arange(n), counts).tolist())
        for ids in field_terms[name]:
            cols.extend(ids)
        weights.append(np.repeat(norm, counts))
    vsize = max(len(vocab), 1)
    row_arr = np.asarray(rows, dtype=np.int64)
    col_arr = np.asarray(cols, dtype=np.int64)
    w_arr = np.concatenate(weights) if weights else _EMPTY_F
    keys = col_arr * max(n, 1) + row_arr                  # term-major, so postings come out grouped
    uniq, inverse = np.unique(keys, return_inverse=True)
    tf = np.bincount(inverse, weights=w_arr, minlength=len(uniq))
    post_terms = uniq // max(n, 1)
    post_docs = uniq % max(n, 1)
    df = np.bincount(post_terms, minlength=vsize).astype(np.float64)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    post_weight = idf[post_terms] * tf * (K1 + 1) / (tf + K1)
    term_ptr = np.zeros(vsize + 1, dtype=np.int64)
    np.cumsum(df.astype(np.int64), out=term_ptr[1:])

    # structured features
    kinds = np.zeros((n, len(C.KINDS)), dtype=bool)
    goals = np.zeros((n, len(C.GOALS)), dtype=bool)
    slugs = sorted(set(taxonomy) | {s for e in events for s in e.get("industries") or ()})
    slug_col = {s: i for i, s in enumerate(slugs)}
    industries = np.zeros((n, len(slugs)), dtype=bool)
    start = np.full(n, math.nan)
    deadline = np.full(n, math.nan)
    price = np.full(n, math.nan)
    lat = np.full(n, math.nan)
    lon = np.full(n, math.nan)
    online = np.zeros(n, dtype=bool)
    cancelled = np.zeros(n, dtype=bool)
    postponed = np.zeros(n, dtype=bool)
    labels: dict[str, int] = {}
    group_code = np.full(n, -1, dtype=np.int64)
    organizer_code = np.full(n, -1, dtype=np.int64)
    source_code = np.full(n, -1, dtype=np.int64)
    language: list[str | None] = []
    row_of_id: dict[str, int] = {}
    kind_col = {k: i for i, k in enumerate(C.KINDS)}
    goal_col = {g: i for i, g in enumerate(C.GOALS)}

    for row, event in enumerate(events):
        if event.get("id") is not None:
            row_of_id[str(event["id"])] = row
        tz_name = event.get("timezone")
        start[row] = _epoch(event.get("start"), tz_name)
        deadline[row] = _epoch(event.get("cfp_deadline"), tz_name, end_of_day=True)
        price[row] = _price(event.get("price"))
        online[row] = bool(event.get("online"))
        status = event.get("status") or C.SCHEDULED
        cancelled[row] = status == C.CANCELLED
        postponed[row] = status == C.POSTPONED
        if status == C.MOVED_ONLINE:
            online[row] = True
        lang = (event.get("language") or "").split("-")[0].casefold() or None
        language.append(lang)
        for kind in event.get("kinds") or ():
            if kind in kind_col:
                kinds[row, kind_col[kind]] = True
                for goal in KIND_GOALS.get(kind, ()):
                    goals[row, goal_col[goal]] = True
        for goal in event.get("goals") or ():
            if goal in goal_col:
                goals[row, goal_col[goal]] = True
        if not math.isnan(deadline[row]):
            goals[row, goal_col[C.VISIBILITY]] = True
        for slug in event.get("industries") or ():
            industries[row, slug_col[slug]] = True
        if event.get("latitude") is not None and event.get("longitude") is not None:
            lat[row], lon[row] = float(event["latitude"]), float(event["longitude"])
        elif event.get("city"):
            point = geo.locate(event["city"], event.get("country"))
            if point:
                lat[row], lon[row] = point
        for arr, value in ((group_code, event.get("group")),
                           (organizer_code, event.get("organizer")),
                           (source_code, (event.get("sources") or [None])[0])):
            if value:
                arr[row] = labels.setdefault(_label_key(value), len(labels))

    language_codes: dict[str, int] = {}
    language_code = np.fromiter(
        (-1 if lang is None else language_codes.setdefault(lang, len(language_codes))
         for lang in language), dtype=np.int64, count=n)
    return EventIndex(
        events=events, taxonomy=taxonomy, vocab=vocab, term_ptr=term_ptr,
        post_docs=post_docs, post_weight=post_weight, title_terms=title_terms,
        tag_terms=tag_terms, org_terms=org_terms, start=start, deadline=deadline, price=price,
        lat=lat, lon=lon,
        online=online, cancelled=cancelled, postponed=postponed, language=language,
        language_code=language_code, language_codes=language_codes,
        kinds=kinds, goals=goals, industry_slugs=slugs, industries=industries,
        group_code=group_code, organizer_code=organizer_code, source_code=source_code,
        labels=labels, row_of_id=row_of_id,
    )
