"""Renderers: text, markdown, html, json (ics in ics.py, the email in email.py).

Every item shows its title, when (in the profile's timezone), where or "online", kind, why it was
picked, and its link. Text from sources is untrusted: control characters are dropped, HTML is
escaped by Jinja2's autoescape, markdown markup characters are backslash-escaped, and only http(s)
links are shown.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import jinja2

from aggregator.constants import SCHEDULED
from aggregator.digest.display import (
    as_datetime,
    clean,
    fmt_day,
    fmt_deadline,
    fmt_kind,
    fmt_status,
    fmt_when,
    fmt_where,
    place,
    plural,
    safe_url,
)
from aggregator.digest.model import Digest, DigestItem

WIDTH = 78
FORMATS = ("text", "markdown", "html", "json", "ics", "eml")


@dataclass
class ItemView:
    """One item as rows of (label, value) ready for any renderer."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    url: str | None = None
    cancelled: bool = False


def item_view(item: DigestItem, digest: Digest) -> ItemView:
    data = item.data
    ref_year = digest.start.year
    reasons = "; ".join(r for r in (clean(x) for x in item.reasons) if r)
    url = safe_url(data.get("url"))
    if item.is_group:
        view = ItemView(clean(data.get("name")) or "(unnamed group)", url=url)
        where = place(data)
        if where:
            view.rows.append(("Where", where))
        activity = _group_activity(data, ref_year)
        if activity:
            view.rows.append(("Activity", activity))
    else:
        status = data.get("status") or SCHEDULED
        view = ItemView(clean(data.get("title")) or "(untitled event)", url=url,
                        cancelled=status == "cancelled")
        if item.change:
            view.rows.append(("Change", clean(item.change)))
        if item.deadline is not None:
            today = digest.now.astimezone(digest.tz).date()
            view.rows.append(("Deadline", fmt_deadline(data, digest.tz, today, ref_year)))
        view.rows.append(("When", fmt_when(data, digest.tz, ref_year)))
        view.rows.append(("Where", fmt_where(data)))
        view.rows.append(("Kind", fmt_kind(data)))
        if fmt_status(data) and not item.change:
            view.rows.append(("Status", fmt_status(data)))
    if reasons:
        view.rows.append(("Why", reasons))
    if url:
        view.rows.append(("Link", url))
    return view


def _group_activity(group: dict[str, Any], ref_year: int) -> str:
    parts = []
    upcoming = group.get("events_next_90d")
    recent = group.get("events_last_90d")
    if isinstance(upcoming, int) and upcoming > 0:
        parts.append(f"{plural(upcoming, 'event')} in the next 90 days")
    if isinstance(recent, int) and recent > 0:
        parts.append(f"{plural(recent, 'event')} in the last 90 days")
    last = as_datetime(group.get("last_event"))
    if last is not None:
        day = last.date() if isinstance(last, datetime) else last
        parts.append(f"last event {fmt_day(day, ref_year)}")
    return "; ".join(parts)


def period_text(digest: Digest) -> str:
    """"Mon 7 – Sun 13 Dec 2026"."""
    first, last = digest.from_date, digest.to_date
    if first == last:
        return f"{fmt_day(first)} {first.year}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{fmt_day(first).rsplit(' ', 1)[0]} – {fmt_day(last)} {last.year}"
    if first.year == last.year:
        return f"{fmt_day(first)} – {fmt_day(last)} {last.year}"
    return f"{fmt_day(first)} {first.year} – {fmt_day(last)} {last.year}"


def heading(digest: Digest) -> str:
    return f"Your events for {digest.label}"


def subheading(digest: Digest) -> str:
    who = clean(digest.profile)
    return f"{period_text(digest)} · for {who} · {digest.summary()}"


def footer(digest: Digest) -> str:
    return (f"Sent by eventscout for profile '{clean(digest.profile)}'. To stop these emails, "
            "remove the email address from this profile in profiles.toml.")


EMPTY_TEXT = "Nothing new for you in this period: no new events, deadlines or changes."


# ---------------------------------------------------------------------------- text

def _wrap(text: str, first: str, rest: str, width: int = WIDTH) -> list[str]:
    wrapper = textwrap.TextWrapper(width=width, initial_indent=first, subsequent_indent=rest,
                                   break_long_words=False, break_on_hyphens=False)
    return wrapper.wrap(text) or [first.rstrip()]


def render_text(digest: Digest) -> str:
    lines = _wrap(heading(digest), "", "")
    lines += _wrap(subheading(digest), "", "")
    if digest.is_empty:
        lines += ["", *_wrap(EMPTY_TEXT, "", "")]
    label_width = 9
    for section in digest.sections:
        if not section.items:
            continue
        lines += ["", "", section.title, "=" * len(section.title)]
        for item in section.items:
            view = item_view(item, digest)
            lines.append("")
            lines += _wrap(view.title, "* ", "  ")
            for label, value in view.rows:
                first = f"  {label + ':':<{label_width}} "
                lines += _wrap(value, first, " " * len(first))
    lines += ["", "-- ", *_wrap(footer(digest), "", "")]
    return "\n".join(line.rstrip() if line != "-- " else line for line in lines) + "\n"


# ---------------------------------------------------------------------------- markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~]|&(?=#?\w+;))")
_MD_WORD_START = re.compile(r"(?:(?<=\s)|^)([-+=#])")
_MD_NUMBERED = re.compile(r"(?:(?<=\s)|^)(\d+)([.)])")


def md_escape(text: str) -> str:
    """Untrusted text as literal markdown: markup characters escaped, including the ones that
    would start a list, heading or rule when a wrapped line begins with them."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_WORD_START.sub(r"\\\1", text)
    return _MD_NUMBERED.sub(r"\1\\\2", text)


def render_markdown(digest: Digest) -> str:
    lines = [f"# {md_escape(heading(digest))}", ""]
    lines += _wrap(f"*{md_escape(subheading(digest))}*", "", "")
    if digest.is_empty:
        lines += ["", *_wrap(md_escape(EMPTY_TEXT), "", "")]
    for section in digest.sections:
        if not section.items:
            continue
        lines += ["", f"## {md_escape(section.title)}"]
        for item in section.items:
            view = item_view(item, digest)
            title = md_escape(view.title)
            if view.cancelled:
                title = f"~~{title}~~"
            lines += ["", *_wrap(f"**{title}**", "", "")]
            lines.append("")
            for label, value in view.rows:
                shown = f"<{value}>" if label == "Link" else md_escape(value)
                lines += _wrap(f"**{label}:** {shown}", "- ", "  ")
    lines += ["", "---", "", *_wrap(f"*{md_escape(footer(digest))}*", "", "")]
    return "\n".join(line.rstrip() for line in lines) + "\n"


# ---------------------------------------------------------------------------- html

@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("aggregator.digest", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(digest: Digest) -> str:
    sections = [
        {"key": s.key, "title": s.title, "items": [item_view(i, digest) for i in s.items]}
        for s in digest.sections if s.items
    ]
    template = _environment().get_template("digest.html.j2")
    return template.render(
        heading=heading(digest),
        subheading=subheading(digest),
        sections=sections,
        empty_text=EMPTY_TEXT if digest.is_empty else "",
        footer=footer(digest),
    )


# ---------------------------------------------------------------------------- json

def jsonable(value: Any) -> Any:
    """Python values as JSON values: datetimes and dates as ISO 8601, sets as sorted lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    return value


def item_json(item: DigestItem) -> dict[str, Any]:
    data = jsonable(item.data)
    data["score"] = item.score
    data["reasons"] = list(item.reasons)
    if item.change is not None:
        data["change"] = item.change
    return data


def to_json(digest: Digest) -> dict[str, Any]:
    """``{profile, week, from, to, sections: [{key, title, items}]}`` (from/to: inclusive days)."""
    return {
        "profile": digest.profile,
        "week": digest.week,
        "from": digest.from_date.isoformat(),
        "to": digest.to_date.isoformat(),
        "sections": [
            {"key": s.key, "title": s.title, "items": [item_json(i) for i in s.items]}
            for s in digest.sections
        ],
    }


def render_json(digest: Digest) -> str:
    return json.dumps(to_json(digest), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------- dispatch

def render(digest: Digest, fmt: str, **options: Any) -> str | bytes:
    """The digest in ``fmt`` (one of FORMATS); ``eml`` returns bytes and needs ``from_addr``."""
    if fmt == "text":
        return render_text(digest)
    if fmt == "markdown":
        return render_markdown(digest)
    if fmt == "html":
        return render_html(digest)
    if fmt == "json":
        return render_json(digest)
    if fmt == "ics":
        from aggregator.digest.ics import render_ics
        return render_ics(digest)
    if fmt == "eml":
        from aggregator.digest.email import build_message
        return build_message(digest, **options).as_bytes()
    raise ValueError(f"unknown digest format {fmt!r}; choose one of {', '.join(FORMATS)}")
