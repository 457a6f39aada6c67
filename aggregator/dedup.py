"""When two records are one real-world event.

- Within a source: the same iCal UID (per occurrence) or the same canonical URL.
- Across sources: the same UID or canonical URL (per occurrence), or a near-identical title at
  the same start (within an hour; all-day listings match by date) in the same city or both online.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from aggregator.items import EventItem
from aggregator.normalize import slugify

WINDOW = timedelta(hours=1)
# a stored title is compared with every item at nearby hours: its folded forms are cached
_STOP = re.compile(
    r"\b(the|a|an|and|of|for|in|on|at|to|with|de|la|el|los|las|y|en|der|die|das|und|het|een|"
    r"van|\d{4}|edition|annual|conference|summit|meetup|workshop|webinar|event|online|virtual)\b")


@lru_cache(maxsize=1 << 16)
def fold_title(title: str) -> str:
    text = unicodedata.normalize("NFKD", title.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=1 << 16)
def core_title(title: str) -> str:
    return re.sub(r"\s+", " ", _STOP.sub(" ", fold_title(title))).strip()


def source_key(item: EventItem) -> str:
    """Identity of an item inside its source (stable while the event moves)."""
    occurrence = item.recurrence_id or ""
    if item.uid:
        uid = item.uid if not occurrence or occurrence in item.uid else f"{item.uid}/{occurrence}"
        return f"uid:{uid}"
    if item.url:
        return f"url:{item.url}#{occurrence}" if occurrence else f"url:{item.url}"
    return f"title:{slugify(item.title)}"


DUPLICATE = "duplicate"     # the same key and start seen before in the source
REPEAT = "repeat"           # the same key and start-suffixed key seen before


def key_in_source(item: EventItem, seen: dict[str, object]) -> str:
    """The item's key inside its source, given the keys its source listed before in this run
    (`seen`, updated); DUPLICATE or REPEAT for an item to drop.

    The same key seen twice with a different start is a different event (a listing that links
    every item to one page): its start date joins its key."""
    key = source_key(item)
    if key in seen:
        if seen[key] == item.start_utc:
            return DUPLICATE
        assert item.start_utc is not None
        key = f"{key}@{item.start_utc:%Y-%m-%dT%H:%M}"
        if key in seen:
            return REPEAT
    seen[key] = item.start_utc
    return key


def title_similarity(a: str, b: str) -> float:
    fa, fb = fold_title(a), fold_title(b)
    if not fa or not fb:
        return 0.0
    ca, cb = core_title(a) or fa, core_title(b) or fb
    return max(fuzz.token_set_ratio(fa, fb), fuzz.token_sort_ratio(ca, cb), fuzz.ratio(
        ca.replace(" ", ""), cb.replace(" ", "")))


Place = tuple[bool, str, str | None]     # online, lower-case city, country


def place_of(a: dict[str, Any]) -> Place:
    """What same_place compares, of one record (computed once when it is compared often)."""
    return bool(a.get("online")), (a.get("city") or "").lower(), a.get("country")


def same_places(pa: Place, pb: Place) -> bool:
    if pa[0] and pb[0]:
        return True
    ca, cb = pa[1], pb[1]
    if ca and cb:
        return ca == cb or ca in cb or cb in ca
    # one side does not say where: let the country decide when both give it
    na, nb = pa[2], pb[2]
    return bool(na and nb and na == nb)


def same_place(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return same_places(place_of(a), place_of(b))


def same_event(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """a and b: dicts with title, start_utc, end_utc, all_day, city, country, online."""
    sa, sb = a["start_utc"], b["start_utc"]
    if a.get("all_day") or b.get("all_day"):
        # a date-only listing matches a timed record on any of its days
        a0, a1 = sa, a.get("end_utc") or sa + timedelta(days=1)
        b0, b1 = sb, b.get("end_utc") or sb + timedelta(days=1)
        pad = timedelta(hours=14)   # local midnights differ from UTC by up to 14 h
        if not (a0 - pad < b1 and b0 - pad < a1):
            return False
        if abs(sa - sb) > timedelta(days=1, hours=14):
            return False
        delta_exact = False
    else:
        if abs(sa - sb) > WINDOW:
            return False
        delta_exact = sa == sb
    if not same_place(a, b):
        return False
    sim = title_similarity(a["title"], b["title"])
    if sim >= 88:
        return True
    # the same minute in the same place with clearly related titles
    return delta_exact and sim >= 70
