"""Event dates written as text: "Thursday, March 17 at 7:00 PM", "Feb 9, 6:30 PM - 8:30 PM",
"Tuesday 2 February 2027, 6:00 PM – 8:30 PM (GMT)", "9 February 2027 18:30", "2027-02-09 18:30".

Pure functions, regex based (fast; dateparser is not used). They never raise: any text,
however odd, gives a value or ``None``.

- Times without an offset come back **naive** (local time in the source's zone);
  a trailing offset or an unambiguous zone abbreviation ("GMT", "+01:00", "CET") makes them aware.
- A date written without a year takes the first year that puts it on or after
  ``now - 30 days`` (``now`` seen in ``tz`` when given), so "March 17" read in January is
  this March and "January 5" read in December is next January. A weekday that matches only
  one of the two nearest candidate years picks that year.
- Dates right after deadline words ("call for speakers closes 19 February", "until",
  "deadline") are not event dates and are skipped by :func:`find_range`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["find_date", "find_datetime", "find_range", "find_deadline"]

MAX_TEXT = 20_000            # only the start of a very long text is searched
PAST_SLACK = timedelta(days=30)

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "january jan jän janvier januar januari enero ene gennaio janeiro",
        "february feb februar februari février fevrier febrero febbraio fevereiro fev",
        "march mar märz maerz maart mars marzo março marco mrt",
        "april apr avril abril aprile abr",
        "may mai mei mayo maggio maio",
        "june jun juni juin junio giugno junho",
        "july jul juli juillet julio luglio julho",
        "august aug août aout agosto ago",
        "september sep sept septembre septiembre setiembre settembre setembro set",
        "october oct oktober octobre octubre ottobre outubro okt",
        "november nov novembre noviembre novembro",
        "december dec dez dezember décembre decembre diciembre dicembre dezembro dic",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _num)

_WEEKDAYS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "monday mon montag maandag lunes lundi lunedì segunda",
        "tuesday tue tues dienstag dinsdag martes mardi martedì terça",
        "wednesday wed mittwoch woensdag miércoles miercoles mercredi mercoledì quarta",
        "thursday thu thur thurs donnerstag donderdag jueves jeudi giovedì quinta",
        "friday fri freitag vrijdag viernes vendredi venerdì sexta",
        "saturday sat samstag zaterdag sábado sabado samedi sabato",
        "sunday sun sonntag zondag domingo dimanche domenica",
    ]
):
    for _name in _names.split():
        _WEEKDAYS.setdefault(_name, _num)

# unambiguous zone abbreviations only (IST, BST-as-Bangladesh etc. are left out or fixed)
_ABBREVIATIONS: dict[str, int] = {
    "utc": 0, "gmt": 0, "z": 0, "wet": 0, "west": 60, "bst": 60, "cet": 60, "cest": 120,
    "met": 60, "mest": 120, "eet": 120, "eest": 180, "msk": 180, "eat": 180, "wat": 60,
    "cat": 120, "sast": 120, "est": -300, "edt": -240, "cst": -360, "cdt": -300,
    "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "akst": -540, "akdt": -480,
    "hst": -600, "jst": 540, "kst": 540, "aest": 600, "aedt": 660, "acst": 570,
    "acdt": 630, "awst": 480, "nzst": 720, "nzdt": 780, "sgt": 480, "hkt": 480,
}


def _alternation(names: dict[str, int]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_MON = rf"(?:{_alternation(_MONTHS)})"
_WD = rf"(?:{_alternation(_WEEKDAYS)})"

# a clock time: "7:00 PM", "7 pm", "7pm", "19:00", "19.30 Uhr", "19h30", "noon"
_TIME = r"""
    (?:
        (?P<{p}h>[012]?\d)(?:(?:[:.]|h)(?P<{p}m>[0-5]\d)(?::[0-5]\d)?)?\s*
        (?P<{p}ap>[ap]\.?\s?m\.?(?![a-z]))
      | (?P<{p}h24>[012]?\d)(?:[:]|h)(?P<{p}m24>[0-5]\d)(?::[0-5]\d(?:\.\d+)?)?
        (?:\s*(?:uhr|h|hrs|horas?)\b)?
      | (?P<{p}noon>noon|midday|midnight)
    )
"""

# a calendar date, in the orders people write them
_DATE = r"""
    (?:
        (?:(?P<{p}wd1>{wd})\.?,?\s+)?
        (?P<{p}mon1>{mon})\.?\s+(?P<{p}day1>[0-3]?\d)(?:st|nd|rd|th)?\b
        (?:,?\s+(?P<{p}year1>(?:19|20)\d\d)\b)?
      | (?:(?P<{p}wd2>{wd})\.?,?\s+)?
        (?P<{p}day2>[0-3]?\d)(?:st|nd|rd|th|\.|er|º)?\s+(?:de\s+|of\s+)?
        (?P<{p}mon2>{mon})\.?(?![a-z])
        (?:,?\s+(?:de\s+)?(?P<{p}year2>(?:19|20)\d\d)\b)?
      | (?:(?P<{p}wd3>{wd})\.?,?\s+)?
        (?P<{p}year3>(?:19|20)\d\d)-(?P<{p}mon3>[01]?\d)-(?P<{p}day3>[0-3]?\d)(?![\d])
      | (?:(?P<{p}wd4>{wd})\.?,?\s+)?
        (?P<{p}day4>[0-3]?\d)\.(?P<{p}mon4>[01]?\d)\.(?P<{p}year4>(?:19|20)\d\d)\b
    )
"""

_TIME_SEP = r"(?:\s*(?:,|\bat\b|@|\bfrom\b|\bum\b|\bà\b|\ba\s+las\b|\bom\b|\||·|-|–|—|T)?\s*)"
_RANGE_SEP = r"(?:\s*(?:-|–|—|\bto\b|\buntil\b|\btill\b|\bbis\b|\btot\b|\bhasta\b|\bau\b)\s*)"
_ZONE = (
    r"(?:[ \t]*\(?[ \t]*(?:(?P<off>(?:utc|gmt)[ \t]?[+-]\d{1,2}(?::?\d\d)?|[+-]\d\d:\d\d)"
    r"|(?P<abbr>[a-z]{1,4}))\)?(?![\w]))"
)


def _fmt(template: str, prefix: str) -> str:
    return template.replace("{p}", prefix).replace("{wd}", _WD).replace("{mon}", _MON)


def warm_up() -> None:
    """Compile the regex now (a process about to fork parse workers, so they share it)."""
    _pattern()


@cache
def _pattern() -> re.Pattern[str]:
    """The date-range regex, compiled on first use: compiling it takes a sixth of a second, which
    every command would pay at import (the CLI imports the parsers) though few read text dates."""
    return re.compile(
        rf"""
        (?<![\w])
        {_fmt(_DATE, "s")}
        (?:{_TIME_SEP}{_fmt(_TIME, "st")})?
        (?:
            {_RANGE_SEP}
            (?:
                {_fmt(_DATE, "e")}(?:{_TIME_SEP}{_fmt(_TIME, "et")})?
              | {_fmt(_TIME, "ot")}
            )
        )?
        {_ZONE}?
        """,
        re.IGNORECASE | re.VERBOSE,
    )


_DEADLINE_BEFORE = re.compile(
    r"(?:\bclos(?:e|es|ed|ing)\b|\bdeadline\b|\bdue\b|\buntil\b|\btill\b|\bby\b|\bbefore\b"
    r"|\bhasta\b|\bbis\b|\bcierran?\b|\bsluit\b)(?:\s+on)?\s*:?\s*$",
    re.IGNORECASE,
)


# a date in an e-mail quote header ("On Mon, Nov 12, 2012 at 6:17 PM, Ann wrote:")
# or a posting stamp is not an event date
_QUOTE_AFTER = re.compile(r"[^\n]{0,80}\b(?:wrote|schrieb|escribi[oó]|a [ée]crit|schreef)\b")
_POSTED_BEFORE = re.compile(
    r"\b(?:posted|published|updated|last modified|sent|publicado|gepubliceerd|ver[öo]ffentlicht)"
    r"\b(?:\s+on)?\s*:?\s*$",
    re.IGNORECASE,
)


_DIGITS = re.compile(r"\d+")
_LEAD = 40      # "Wednesday, 17. September ": weekday and month before the day
_TAIL = 160     # the rest of a match after its first digits
_SECONDS = re.compile(r"\d:[0-5]\d:[0-5]\d")


@dataclass
class _Found:
    start: datetime | date
    end: datetime | date | None
    has_time: bool
    pos: int
    deadline_context: bool


def _local_today(now: datetime | None, tz: str | None) -> date:
    if now is None:
        now = datetime.now(UTC)
    if now.tzinfo is not None and tz:
        try:
            now = now.astimezone(ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError, KeyError):
            pass
    return now.date()


def _month(value: str | None) -> int | None:
    if not value:
        return None
    v = value.lower().rstrip(".")
    if v.isdigit():
        n = int(v)
        return n if 1 <= n <= 12 else None
    return _MONTHS.get(v)


def _pick_year(month: int, day: int, weekday: int | None, today: date) -> date | None:
    threshold = today - PAST_SLACK
    candidates: list[date] = []
    for year in range(today.year - 1, today.year + 3):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d >= threshold:
            candidates.append(d)
    if not candidates:
        return None
    if weekday is not None:
        near = candidates[:2]
        matching = [d for d in near if d.weekday() == weekday]
        if len(matching) == 1:
            return matching[0]
    return candidates[0]


def _date_from(m: re.Match[str], prefix: str, today: date, ref: date | None) -> date | None:
    for i in ("1", "2", "3", "4"):
        mon_text = m.group(f"{prefix}mon{i}")
        if mon_text is None:
            continue
        month = _month(mon_text)
        day_text = m.group(f"{prefix}day{i}")
        year_text = m.group(f"{prefix}year{i}")
        wd_text = m.group(f"{prefix}wd{i}")
        if month is None or not day_text:
            return None
        day = int(day_text)
        weekday = _WEEKDAYS.get(wd_text.lower()) if wd_text else None
        if year_text:
            try:
                return date(int(year_text), month, day)
            except ValueError:
                return None
        if ref is not None:        # an end date without year follows its start
            for year in (ref.year, ref.year + 1):
                try:
                    d = date(year, month, day)
                except ValueError:
                    continue
                if d >= ref:
                    return d
            return None
        return _pick_year(month, day, weekday, today)
    return None


def _time_from(m: re.Match[str], prefix: str) -> time | None:
    if m.group(f"{prefix}noon"):
        return time(0, 0) if m.group(f"{prefix}noon").lower() == "midnight" else time(12, 0)
    h = m.group(f"{prefix}h")
    if h is not None:
        hour = int(h)
        minute = int(m.group(f"{prefix}m") or 0)
        ampm = m.group(f"{prefix}ap").lower().replace(".", "").replace(" ", "")
        if not 1 <= hour <= 12:
            return None
        if ampm == "pm" and hour != 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        return time(hour, minute)
    h24 = m.group(f"{prefix}h24")
    if h24 is not None:
        hour, minute = int(h24), int(m.group(f"{prefix}m24") or 0)
        if hour > 23:
            return None
        return time(hour, minute)
    return None


def _zone_from(m: re.Match[str]) -> tzinfo | None:
    off = m.group("off")
    if off:
        text = off.lower().replace("utc", "").replace("gmt", "").replace(" ", "")
        sign = -1 if text.startswith("-") else 1
        digits = text[1:].replace(":", "")
        if not digits.isdigit() or len(digits) > 4:
            return None
        if len(digits) <= 2:
            hours, minutes = int(digits), 0
        else:
            hours, minutes = int(digits[:-2]), int(digits[-2:])
        if hours > 14 or minutes > 59:
            return None
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    abbr = m.group("abbr")
    # only upper-case abbreviations: "west", "cat", "eat" written in lower case are words
    if abbr and abbr.isupper() and abbr.lower() in _ABBREVIATIONS:
        return timezone(timedelta(minutes=_ABBREVIATIONS[abbr.lower()]))
    return None


def _iter_found(text: str, tz: str | None, now: datetime | None) -> list[_Found]:
    if not isinstance(text, str) or not text:
        return []
    text = text[:MAX_TEXT]
    today = _local_today(now, tz)
    found: list[_Found] = []
    for m in _matches(text):
        try:
            item = _from_match(m, text, today)
        except (ValueError, OverflowError):
            item = None
        if item is not None:
            found.append(item)
    return found


def _matches(text: str) -> list[re.Match[str]]:
    """Every match of the full pattern, scanning only near digits (every date has one):
    a match starts at most ``_LEAD`` characters before its first digit. Long prose with
    few numbers is skipped at the speed of a digit search."""
    out: list[re.Match[str]] = []
    scan_from = 0
    for digits in _DIGITS.finditer(text):
        if digits.start() < scan_from:
            continue
        begin = max(scan_from, digits.start() - _LEAD)
        m = _pattern().search(text, begin, min(len(text), digits.end() + _TAIL))
        if m is not None and m.start() <= digits.start():
            out.append(m)
            scan_from = m.end()
        else:
            scan_from = digits.end()
    return out


def _from_match(m: re.Match[str], text: str, today: date) -> _Found | None:
    start_day = _date_from(m, "s", today, None)
    if start_day is None:
        return None
    start_time = _time_from(m, "st")
    has_year = any(m.group(f"syear{i}") for i in "1234")
    if start_time is not None and not has_year and _SECONDS.search(m.group(0)):
        return None                  # "Jul 18 17:45:21 host kernel: ...": a log line
    zone = _zone_from(m) if start_time is not None else None
    end_day = _date_from(m, "e", today, start_day)
    end_time = _time_from(m, "et") if end_day is not None else _time_from(m, "ot")
    start: datetime | date
    end: datetime | date | None = None
    if start_time is not None:
        start = datetime.combine(start_day, start_time, tzinfo=zone)
        if end_time is not None:
            end = datetime.combine(end_day or start_day, end_time, tzinfo=zone)
            if end_day is None and end <= start:      # "10 PM - 1 AM": past midnight
                end += timedelta(days=1)
            if end <= start:
                end = None
    else:
        start = start_day
        if end_day is not None and end_time is None and end_day >= start_day:
            end = end_day
    before = text[max(0, m.start() - 60):m.start()]
    return _Found(
        start=start,
        end=end,
        has_time=start_time is not None,
        pos=m.start(),
        deadline_context=bool(
            _DEADLINE_BEFORE.search(before)
            or _POSTED_BEFORE.search(before)
            or _QUOTE_AFTER.match(text, m.end(), m.end() + 100)
        ),
    )


def find_range(
    text: str, tz: str | None = None, now: datetime | None = None, *, require_time: bool = False
) -> tuple[datetime | date, datetime | date | None] | None:
    """The event's (start, end) written in ``text``; ``end`` may be ``None``.

    Prefers the first date with a clock time; without one, the first date alone
    (``date`` objects, an all-day value) unless ``require_time``. Dates that follow
    deadline words are skipped. Datetimes are naive unless the text gives an offset.
    """
    found = [f for f in _iter_found(text, tz, now) if not f.deadline_context]
    timed = [f for f in found if f.has_time]
    if timed:
        return timed[0].start, timed[0].end
    if found and not require_time:
        return found[0].start, found[0].end
    return None


def find_datetime(text: str, tz: str | None = None, now: datetime | None = None) -> datetime | None:
    """The first event date *with a clock time* in ``text`` (naive local, or aware), else None."""
    found = find_range(text, tz, now, require_time=True)
    if found is None or not isinstance(found[0], datetime):
        return None
    return found[0]


def find_date(text: str, tz: str | None = None, now: datetime | None = None) -> date | None:
    """The first date in ``text`` (deadline words are not skipped), as a ``date``."""
    for f in _iter_found(text, tz, now):
        return f.start.date() if isinstance(f.start, datetime) else f.start
    return None


_DEADLINE_PHRASE = re.compile(
    r"\b(?:call\s+for\s+(?:speakers|papers|proposals|talks|entries|submissions|abstracts)"
    r"|cfp|nominations?|entries|submissions|applications|proposals)\b"
    r"[^.!?\n]{0,30}?\b(?:clos(?:e|es|ing)|due|deadline|ends?|until|by)\b(?:\s+on)?:?\s*",
    re.IGNORECASE,
)


def find_deadline(
    text: str, tz: str | None = None, now: datetime | None = None
) -> datetime | date | None:
    """The closing date of a call for speakers / nominations written in ``text``
    ("Call for speakers closes 19 February 2027.", "Nominations close 5 March 2027"):
    a ``date``, or a naive/aware ``datetime`` when a time is given. None when absent."""
    if not isinstance(text, str) or not text:
        return None
    text = text[:MAX_TEXT]
    today = _local_today(now, tz)
    for phrase in _DEADLINE_PHRASE.finditer(text):
        m = _pattern().match(text, phrase.end())
        if m is None:
            continue
        try:
            item = _from_match(m, text, today)
        except (ValueError, OverflowError):
            item = None
        if item is not None:
            return item.start
    return None
