"""Human-readable pieces shared by every renderer: when, where, kind, links, safe text.

Everything that comes from a source is untrusted: ``clean`` drops control characters (terminal
escape sequences, CR/LF) and ``safe_url`` keeps only http(s) links.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.constants import AWARD, CANCELLED, MOVED_ONLINE, POSTPONED, RESCHEDULED

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
STATUS_LABELS = {
    CANCELLED: "cancelled",
    POSTPONED: "postponed",
    RESCHEDULED: "rescheduled",
    MOVED_ONLINE: "moved online",
}

_SPACES = re.compile(r"\s+")
_BREAKS = frozenset("\r\n\t\f\v\x85\u2028\u2029")
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")     # Cc but for \t \n \v \f \r
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def clean(value: Any) -> str:
    """One line of display text: control and format characters dropped, whitespace collapsed."""
    if value is None:
        return ""
    text = str(value)
    if text.isascii():
        # ASCII has no format characters; its controls are the ones below, and the line breaks
        # and tabs among them are whitespace that the collapsing turns into one space anyway
        return _SPACES.sub(" ", _ASCII_CONTROLS.sub("", text)).strip()
    chars: list[str] = []
    for ch in text:
        if ch in _BREAKS:
            chars.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf"):
            chars.append(ch)
    text = "".join(chars)
    return _SPACES.sub(" ", text).strip()


def safe_url(value: Any) -> str | None:
    """The URL when it is an absolute http(s) link, with unsafe characters percent-encoded."""
    if not value or not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cf")).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if not parts.netloc.isascii():
        try:
            netloc = parts.netloc.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        text = parts._replace(netloc=netloc).geturl()
    return quote(text, safe=_URL_SAFE)


def as_zone(value: tzinfo | str | None, default: str = "UTC") -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    try:
        return ZoneInfo(value or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def as_datetime(value: Any, zone: tzinfo | None = None) -> datetime | date | None:
    """A date or aware datetime from a date, datetime or ISO string (naive means ``zone``)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value \
                else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone or ZoneInfo("UTC"))
        return value
    if isinstance(value, date):
        return value
    return None


def event_zone(event: dict[str, Any]) -> tzinfo:
    return as_zone(event.get("timezone"))


def event_start(event: dict[str, Any]) -> datetime | date | None:
    return as_datetime(event.get("start"), event_zone(event))


def event_end(event: dict[str, Any]) -> datetime | date | None:
    return as_datetime(event.get("end"), event_zone(event))


def all_day_range(event: dict[str, Any]) -> tuple[date, date] | None:
    """(first day, last day inclusive) of an all-day event, or None when it is timed."""
    start = event_start(event)
    if start is None:
        return None
    if not event.get("all_day") and isinstance(start, datetime):
        return None
    first = start.date() if isinstance(start, datetime) else start
    end = event_end(event)
    if end is None:
        last = first
    elif isinstance(end, datetime):
        # a midnight end after the first day is an exclusive end (iCal style)
        last = end.date()
        if end.time() == time(0) and last > first:
            last -= timedelta(days=1)
    else:
        last = end
    return first, max(first, last)


def start_instant(event: dict[str, Any], tz: tzinfo) -> datetime | None:
    """When the event begins, as an aware datetime (all-day: midnight in ``tz``)."""
    start = event_start(event)
    if start is None:
        return None
    if isinstance(start, datetime):
        return start
    return datetime.combine(start, time(0), tzinfo=tz)


def end_instant(event: dict[str, Any], tz: tzinfo) -> datetime | None:
    """When the event is over (all-day: midnight after the last day in ``tz``)."""
    days = all_day_range(event)
    if days is not None:
        return datetime.combine(days[1] + timedelta(days=1), time(0), tzinfo=tz)
    end = event_end(event)
    if isinstance(end, datetime):
        return end
    return start_instant(event, tz)


def fmt_day(day: date, ref_year: int | None = None) -> str:
    text = f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    if ref_year is not None and day.year != ref_year:
        text += f" {day.year}"
    return text


def fmt_clock(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def zone_abbr(moment: datetime) -> str:
    name = moment.tzname() or ""
    if not name or name[0] in "+-":
        offset = moment.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hours, mins = divmod(abs(minutes), 60)
        name = f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")
    return name


def fmt_moment(moment: datetime, tz: tzinfo, ref_year: int | None = None) -> str:
    """"Tue 10 Feb 18:00" in ``tz``."""
    local = moment.astimezone(tz)
    return f"{fmt_day(local.date(), ref_year)} {fmt_clock(local)}"


def fmt_days(first: date, last: date, ref_year: int | None = None) -> str:
    if first == last:
        return f"{fmt_day(first, ref_year)} (all day)"
    if (first.year, first.month) == (last.year, last.month):
        year = f" {last.year}" if ref_year is not None and last.year != ref_year else ""
        return f"{DAYS[first.weekday()]} {first.day} – {fmt_day(last)}{year}"
    return f"{fmt_day(first, ref_year)} – {fmt_day(last, ref_year)}"


def fmt_when(event: dict[str, Any], tz: tzinfo, ref_year: int | None = None) -> str:
    """"Tue 9 Feb 18:30–20:30 CET" in the profile's zone; all-day events keep their own days."""
    days = all_day_range(event)
    if days is not None:
        return fmt_days(days[0], days[1], ref_year)
    start = event_start(event)
    if not isinstance(start, datetime):
        return "date to be announced"
    s = start.astimezone(tz)
    end = event_end(event)
    if not isinstance(end, datetime) or end <= start:
        return f"{fmt_day(s.date(), ref_year)} {fmt_clock(s)} {zone_abbr(s)}"
    e = end.astimezone(tz)
    if e.date() == s.date():
        return f"{fmt_day(s.date(), ref_year)} {fmt_clock(s)}–{fmt_clock(e)} {zone_abbr(e)}"
    if zone_abbr(s) == zone_abbr(e):
        return (f"{fmt_day(s.date(), ref_year)} {fmt_clock(s)} – "
                f"{fmt_day(e.date(), ref_year)} {fmt_clock(e)} {zone_abbr(e)}")
    return (f"{fmt_day(s.date(), ref_year)} {fmt_clock(s)} {zone_abbr(s)} – "
            f"{fmt_day(e.date(), ref_year)} {fmt_clock(e)} {zone_abbr(e)}")


def fmt_when_short(event: dict[str, Any], tz: tzinfo, ref_year: int | None = None) -> str:
    """The start only: "Tue 10 Feb 18:00" (used to say what moved)."""
    days = all_day_range(event)
    if days is not None:
        return fmt_day(days[0], ref_year)
    start = event_start(event)
    if not isinstance(start, datetime):
        return "no date"
    return fmt_moment(start, tz, ref_year)


def place(event: dict[str, Any]) -> str:
    """"Venue, City, CC" or "" when no physical place is known."""
    parts: list[str] = []
    for key in ("venue", "city", "country"):
        text = clean(event.get(key))
        word = re.compile(rf"\b{re.escape(text)}\b", re.IGNORECASE) if text else None
        if word and not any(word.search(p) for p in parts):
            parts.append(text)
    return ", ".join(parts)


def fmt_where(event: dict[str, Any]) -> str:
    where = place(event)
    online = bool(event.get("online"))
    if where and online:
        return f"{where} (also online)"
    if online:
        return "online"
    return where or "place not given"


def fmt_kind(event: dict[str, Any]) -> str:
    kinds = [clean(k) for k in event.get("kinds") or [] if clean(k)]
    return ", ".join(kinds) or "event"


def deadline_label(event: dict[str, Any]) -> str:
    if AWARD in (event.get("kinds") or []):
        return "nominations close"
    return "call for speakers closes"


def deadline_day(value: Any, tz: tzinfo) -> date | None:
    moment = as_datetime(value, tz)
    if isinstance(moment, datetime):
        return moment.astimezone(tz).date()
    return moment


def fmt_deadline(
    event: dict[str, Any], tz: tzinfo, today: date, ref_year: int | None = None,
) -> str:
    """"call for speakers closes Thu 12 Feb (in 4 days)"."""
    moment = as_datetime(event.get("cfp_deadline"), tz)
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        local = moment.astimezone(tz)
        day = local.date()
        when = f"{fmt_day(day, ref_year)} {fmt_clock(local)} {zone_abbr(local)}"
    else:
        day = moment
        when = fmt_day(day, ref_year)
    left = (day - today).days
    if left == 0:
        rel = "today"
    elif left == 1:
        rel = "tomorrow"
    elif left > 1:
        rel = f"in {left} days"
    else:
        rel = "closed"
    return f"{deadline_label(event)} {when} ({rel})"


def fmt_status(event: dict[str, Any]) -> str:
    return STATUS_LABELS.get(str(event.get("status") or ""), "")


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"
