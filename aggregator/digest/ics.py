"""iCalendar (RFC 5545) output: one VEVENT per event, and one all-day VEVENT per deadline.

UIDs are stable (``{id}@eventscout``, deadlines ``{id}-deadline@eventscout``) so a calendar client
that imports a later digest updates the entries; SEQUENCE is the number of recorded changes;
cancelled events carry STATUS:CANCELLED.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from aggregator.constants import CANCELLED, POSTPONED
from aggregator.digest.display import (
    all_day_range,
    as_datetime,
    as_zone,
    clean,
    deadline_day,
    deadline_label,
    event_end,
    event_start,
    fmt_kind,
    fmt_moment,
    fmt_where,
    safe_url,
    zone_abbr,
)
from aggregator.digest.model import Digest

PRODID = "-//eventscout//eventscout digest//EN"
UID_DOMAIN = "eventscout"
ICS_STATUS = {CANCELLED: "CANCELLED", POSTPONED: "TENTATIVE"}
UTC = ZoneInfo("UTC")
_ZoneKey = tuple[str, int, int]     # tzid, first year, last year


def event_uid(event: dict[str, Any]) -> str:
    return f"{clean(event.get('id'))}@{UID_DOMAIN}"


def deadline_uid(event: dict[str, Any]) -> str:
    return f"{clean(event.get('id'))}-deadline@{UID_DOMAIN}"


def _text(value: Any, limit: int = 4000) -> str:
    """Untrusted text for a property: control characters dropped (line breaks kept)."""
    if value is None:
        return ""
    paragraphs = [clean(line) for line in str(value).splitlines()]
    return "\n".join(p for p in paragraphs if p)[:limit]


def _event_vevent(event: dict[str, Any], now: datetime, reasons: Iterable[str] = ()) -> \
        icalendar.Event | None:
    start = event_start(event)
    if start is None:
        return None
    vevent = icalendar.Event()
    vevent.add("uid", event_uid(event))
    vevent.add("dtstamp", now.astimezone(UTC))
    days = all_day_range(event)
    if days is not None:
        vevent.add("dtstart", days[0])
        vevent.add("dtend", days[1] + timedelta(days=1))
    else:
        assert isinstance(start, datetime)
        vevent.add("dtstart", start)
        end = event_end(event)
        if isinstance(end, datetime) and end > start:
            vevent.add("dtend", end.astimezone(start.tzinfo))
    vevent.add("summary", clean(event.get("title")) or "(untitled event)")
    where = fmt_where(event)
    if where != "place not given":
        vevent.add("location", where)
    url = safe_url(event.get("url"))
    description = [_text(event.get("description"))]
    why = "; ".join(clean(r) for r in reasons if clean(r))
    if why:
        description.append(f"Why: {why}")
    if url:
        vevent.add("url", url)
        description.append(url)
    text = "\n\n".join(d for d in description if d)
    if text:
        vevent.add("description", text)
    vevent.add("sequence", len(event.get("changes") or []))
    vevent.add("status", ICS_STATUS.get(str(event.get("status") or ""), "CONFIRMED"))
    kinds = [clean(k) for k in event.get("kinds") or [] if clean(k)]
    if kinds:
        vevent.add("categories", kinds)
    return vevent


def _deadline_vevent(event: dict[str, Any], now: datetime, tz: tzinfo) -> icalendar.Event | None:
    day = deadline_day(event.get("cfp_deadline"), tz)
    if day is None:
        return None
    title = clean(event.get("title")) or "(untitled event)"
    label = deadline_label(event)
    vevent = icalendar.Event()
    vevent.add("uid", deadline_uid(event))
    vevent.add("dtstamp", now.astimezone(UTC))
    vevent.add("dtstart", day)
    vevent.add("dtend", day + timedelta(days=1))
    vevent.add("summary", f"{label[0].upper()}{label[1:]}: {title}")
    vevent.add("transp", "TRANSPARENT")
    url = safe_url(event.get("cfp_url")) or safe_url(event.get("url"))
    deadline = as_datetime(event.get("cfp_deadline"), tz)
    at = f" at {fmt_moment(deadline, tz)} {zone_abbr(deadline.astimezone(tz))}" \
        if isinstance(deadline, datetime) else ""
    lines = [f"{label[0].upper()}{label[1:]}{at} for {title} ({fmt_kind(event)})."]
    if url:
        vevent.add("url", url)
        lines.append(url)
    vevent.add("description", "\n\n".join(lines))
    changes = [c for c in event.get("changes") or [] if c.get("field") == "cfp_deadline"]
    vevent.add("sequence", len(changes))
    vevent.add("status", "CANCELLED" if event.get("status") == CANCELLED else "CONFIRMED")
    vevent.add("categories", ["deadline"])
    return vevent


def build_calendar(
    entries: Iterable[tuple[dict[str, Any], Iterable[str]]],
    now: datetime,
    tz: tzinfo | str | None = None,
    *,
    deadlines_from: date | None = None,
    name: str | None = None,
) -> icalendar.Calendar:
    """A calendar of (event, reasons) pairs; each event's call-for-speakers (or nomination)
    deadline becomes its own all-day entry when it is on or after ``deadlines_from``."""
    cal, zones = _calendar(entries, now, tz, deadlines_from=deadlines_from, name=name)
    for position, (_key, timezone) in enumerate(zones):
        cal.subcomponents.insert(position, copy.deepcopy(timezone))
    return cal


def calendar_bytes(
    entries: Iterable[tuple[dict[str, Any], Iterable[str]]],
    now: datetime,
    tz: tzinfo | str | None = None,
    *,
    deadlines_from: date | None = None,
    name: str | None = None,
) -> bytes:
    """``build_calendar(...).to_ical()``, with each VTIMEZONE serialised once per process (a
    digest run writes the same few zones into a thousand calendars)."""
    cal, zones = _calendar(entries, now, tz, deadlines_from=deadlines_from, name=name)
    body = cal.to_ical()
    if not zones:
        return body
    # the zones go first among the components, where build_calendar puts them
    first = body.find(b"\r\nBEGIN:")
    at = first + 2 if first >= 0 else body.rindex(b"END:VCALENDAR")
    return body[:at] + b"".join(_vtimezone_ical(*key) for key, _timezone in zones) + body[at:]


def _calendar(entries: Iterable[tuple[dict[str, Any], Iterable[str]]], now: datetime,
              tz: tzinfo | str | None, *, deadlines_from: date | None,
              name: str | None) -> tuple[icalendar.Calendar, list[tuple[_ZoneKey, icalendar.Timezone]]]:
    """The calendar without its VTIMEZONEs, and each of them with its (tzid, first year, last
    year)."""
    zone = as_zone(tz)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("x-wr-calname", clean(name))
    seen: set[str] = set()
    days: list[date] = []
    for event, reasons in entries:
        uid = event_uid(event)
        if uid in seen:
            continue
        seen.add(uid)
        for key in ("start", "end"):
            value = event.get(key)
            if isinstance(value, date):
                days.append(value.date() if isinstance(value, datetime) else value)
        vevent = _event_vevent(event, now, reasons)
        if vevent is not None:
            cal.add_component(vevent)
        day = deadline_day(event.get("cfp_deadline"), zone)
        if day is not None and (deadlines_from is None or day >= deadlines_from):
            deadline = _deadline_vevent(event, now, zone)
            if deadline is not None:
                cal.add_component(deadline)
    # the zones' rules for the years the events span (not 1970-2038), each zone computed once
    first = min(days, default=now.date()).year - 1
    last = max(days, default=now.date()).year + 1
    zones = []
    for tzid in sorted(cal.get_missing_tzids()):
        timezone = _vtimezone(tzid, first, last)
        if timezone is not None:
            zones.append(((tzid, first, last), timezone))
    return cal, zones


@lru_cache(maxsize=256)
def _vtimezone_ical(tzid: str, first_year: int, last_year: int) -> bytes:
    timezone = _vtimezone(tzid, first_year, last_year)
    return timezone.to_ical() if timezone is not None else b""


@lru_cache(maxsize=256)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> icalendar.Timezone | None:
    """The VTIMEZONE of a zone for those years (computing one costs tens of milliseconds)."""
    try:
        return icalendar.Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1),
                                            last_date=date(last_year, 12, 31))
    except ValueError:
        return None


def events_to_ics(events: Iterable[dict[str, Any]], now: datetime,
                  tz: tzinfo | str | None = None) -> bytes:
    """RFC 5545 bytes for a plain list of event dicts (``events --format ics``)."""
    return calendar_bytes(((e, ()) for e in events), now, tz)


def events_calendar(events: Iterable[dict[str, Any]], now: datetime,
                    tz: tzinfo | str | None = None) -> bytes:
    """The name the CLI uses for ``events_to_ics``."""
    return events_to_ics(events, now, tz)


def render_ics(digest: Digest) -> str:
    entries = [(item.data, item.reasons) for item in digest.event_items()]
    return calendar_bytes(entries, digest.now, digest.tz, deadlines_from=digest.from_date,
                          name=f"eventscout {digest.label}").decode("utf-8")
