"""Writers for the sample source formats: RSS 2.0, Atom, iCalendar, HTML with JSON-LD,
HTML listings and JSON. Used by the demo (aggregator.demo) and by the synthetic benchmark
corpus (bench/synth.py), so both produce the same, real-world shaped documents.

Every writer is a pure function of its arguments (no clock, no randomness): the same
events give the same bytes.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import icalendar
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "data" / "templates"

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)

SCHEMA = "https://schema.org/"


@dataclass
class SampleEvent:
    """One event as a source publishes it. ``start``/``end`` are aware, in ``tz``."""

    key: str                               # slug, unique within a corpus
    title: str
    start: datetime
    end: datetime | None
    tz: str
    url: str
    summary: str                           # one or two sentences, plain text
    body: list[str] = field(default_factory=list)   # further paragraphs, plain text
    venue: str | None = None
    address: str | None = None             # street and postcode
    city: str | None = None
    country: str | None = None             # ISO alpha-2
    online: bool = False
    all_day: bool = False
    kind_text: str | None = None           # "Meetup", "Career Fair", ...
    schema_type: str = "Event"             # schema.org type for JSON-LD
    price: float | None = None             # None unknown, 0 free
    currency: str | None = None
    organizer: str | None = None
    performers: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    cfp_deadline: datetime | None = None
    cfp_url: str | None = None
    posted: datetime | None = None         # when the source first listed it
    uid: str | None = None
    rrule: dict[str, Any] | None = None    # iCal only: {"FREQ": "WEEKLY", "COUNT": 10}
    exdates: list[datetime] = field(default_factory=list)
    language: str = "en"

    # -- derived texts -------------------------------------------------------------------
    @property
    def where(self) -> str:
        if self.online and not self.venue:
            return "Online"
        parts = [p for p in (self.venue, self.address, self.city) if p]
        text = ", ".join(parts)
        return f"{text} (and online)" if self.online else text

    @property
    def short_where(self) -> str:
        if self.online and not self.venue:
            return "Online event"
        return " · ".join(p for p in (self.venue, self.city) if p)

    @property
    def price_text(self) -> str | None:
        if self.price is None:
            return None
        if self.price == 0:
            return "Free"
        symbol = {"EUR": "€", "GBP": "£", "USD": "$"}.get(self.currency or "")
        amount = f"{self.price:,.0f}" if self.price == int(self.price) else f"{self.price:,.2f}"
        return f"{symbol}{amount}" if symbol else f"{self.currency} {amount}"

    @property
    def when_text(self) -> str:
        if self.all_day:
            return long_date(self.start)
        text = f"{long_date(self.start)}, {clock(self.start)}"
        if self.end:
            if self.end.date() == self.start.date():
                text += f" – {clock(self.end)}"
            else:
                text += f" – {long_date(self.end)}, {clock(self.end)}"
        return f"{text} ({self.start.tzname()})"

    @property
    def short_when(self) -> str:
        day = f"{_DAYS[self.start.weekday()][:3]}, {_MONTHS[self.start.month - 1][:3]} "
        day += str(self.start.day)
        return day if self.all_day else f"{day} · {clock(self.start)}"

    @property
    def cfp_text(self) -> str | None:
        return long_date(self.cfp_deadline) if self.cfp_deadline else None

    @property
    def paragraphs(self) -> list[str]:
        paras = [self.summary, *self.body]
        if self.performers:
            paras.append("Speakers: " + "; ".join(self.performers) + ".")
        paras.append(f"Where: {self.where}")
        if self.price_text:
            paras.append(
                "Free to attend, registration required." if self.price == 0
                else f"Tickets: {self.price_text}"
            )
        return paras

    @property
    def body_html(self) -> str:
        return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in self.paragraphs)

    @property
    def feed_html(self) -> str:
        return self.body_html


# -- formatting helpers ----------------------------------------------------------------------
def clock(dt: datetime) -> str:
    """``7:00 PM``"""
    hour = dt.hour % 12 or 12
    return f"{hour}:{dt.minute:02d} {'AM' if dt.hour < 12 else 'PM'}"


def long_date(dt: datetime | date) -> str:
    """``Thursday 17 March 2027``"""
    return f"{_DAYS[dt.weekday()]} {dt.day} {_MONTHS[dt.month - 1]} {dt.year}"


def meetup_when(dt: datetime) -> str:
    """Meetup's wording, without a year: ``Thursday, March 17 at 7:00 PM``."""
    return f"{_DAYS[dt.weekday()]}, {_MONTHS[dt.month - 1]} {dt.day} at {clock(dt)}"


def _rfc822(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC))


def _iso_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xcal(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _floating(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M")


def dump_jsonld(data: Any) -> str:
    """JSON for a <script> element: "</" escaped so a description cannot end the script."""
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


_ENV = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["xml", "html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters.update(
    rfc822=_rfc822, iso_utc=_iso_utc, xcal=_xcal, floating=_floating, clock=clock,
    jsonld=lambda d: Markup(dump_jsonld(d)),
)


def _render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def toml_value(value: Any) -> str:
    """A TOML literal for a string, number, boolean or list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)   # JSON escapes are valid in TOML
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


# -- feeds -----------------------------------------------------------------------------------
@dataclass
class Channel:
    title: str
    link: str
    self_url: str
    description: str
    built: datetime
    language: str = "en"
    author: str = ""
    id: str = ""


class _MeetupItem:
    """An event seen through a Meetup group feed: the date only in the description."""

    def __init__(self, event: SampleEvent, group: str):
        self._e = event
        self._group = group

    def __getattr__(self, name: str) -> Any:
        return getattr(self._e, name)

    @property
    def feed_html(self) -> str:
        e = self._e
        paras = [self._group, e.summary, *e.body]
        if e.performers:
            paras.append("Speakers: " + "; ".join(e.performers) + ".")
        if e.price == 0:
            paras.append("🎟️ Free to attend, registration required.")
        elif e.price_text:
            paras.append(f"🎟️ {e.price_text}")
        if e.online and not e.venue:
            paras.append("Online event")
        else:
            paras.append(", ".join(p for p in (e.venue, e.address, e.city) if p))
        paras.append(meetup_when(e.start))
        paras.append(e.url)
        return " ".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paras)


def rss(channel: Channel, events: list[SampleEvent], *, style: str = "ev", group: str = "") -> str:
    """RSS 2.0. ``style="ev"``: dates in the RSS event module (``ev:startdate``);
    ``style="meetup"``: dates only as Meetup's text in the description."""
    if style not in ("ev", "meetup"):
        raise ValueError(f"unknown feed style {style!r}")
    items: list[Any] = events if style == "ev" else [_MeetupItem(e, group) for e in events]
    return _render("rss.xml.j2", channel=channel, items=items, style=style)


def atom(channel: Channel, events: list[SampleEvent]) -> str:
    """Atom 1.0 with xCal ``dtstart``/``dtend`` in UTC."""
    for e in events:
        if not e.uid:
            raise ValueError(f"Atom entries need an id: {e.key}")
    return _render("atom.xml.j2", channel=channel, items=events)


# -- iCalendar -------------------------------------------------------------------------------
def ics(name: str, description: str, events: list[SampleEvent], *, stamp: datetime,
        prodid: str = "-//eventscout//sample calendar//EN") -> bytes:
    """An RFC 5545 calendar with VTIMEZONEs for every TZID used."""
    cal = icalendar.Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-caldesc", description)
    for e in events:
        ev = icalendar.Event()
        ev.add("uid", e.uid or f"{e.key}@eventscout.example")
        ev.add("dtstamp", stamp.astimezone(UTC))
        ev.add("sequence", 0)
        ev.add("status", "CONFIRMED")
        ev.add("summary", e.title)
        ev.add("description", "\n\n".join(e.paragraphs))
        if e.all_day:
            ev.add("dtstart", e.start.date())
            last = (e.end or e.start).date()
            ev.add("dtend", last + timedelta(days=1))
        else:
            ev.add("dtstart", e.start)
            if e.end:
                ev.add("dtend", e.end)
        if e.rrule:
            ev.add("rrule", e.rrule)
        for ex in e.exdates:
            ev.add("exdate", ex)
        ev.add("location", e.url if e.online and not e.venue else e.where)
        ev.add("url", e.url)
        if e.categories:
            ev.add("categories", e.categories)
        if e.organizer:
            host = urlsplit(e.url).hostname or "example.org"
            org = icalendar.vCalAddress(f"mailto:events@{host}")
            org.params["cn"] = icalendar.vText(e.organizer)
            ev.add("organizer", org)
        cal.add_component(ev)
    # VTIMEZONEs covering the calendar's span (a year either side), not 1970-2038
    cal.add_missing_timezones(
        first_date=date(stamp.year - 1, 1, 1), last_date=date(stamp.year + 2, 1, 1)
    )
    return cal.to_ical()


# -- structured data -------------------------------------------------------------------------
_MODE = {
    "online": SCHEMA + "OnlineEventAttendanceMode",
    "offline": SCHEMA + "OfflineEventAttendanceMode",
    "mixed": SCHEMA + "MixedEventAttendanceMode",
}


def jsonld(e: SampleEvent) -> dict[str, Any]:
    """A schema.org Event (or subtype) as a JSON-LD object."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": e.schema_type,
        "name": e.title,
        "description": "\n\n".join(e.paragraphs),
        "url": e.url,
        "startDate": e.start.date().isoformat() if e.all_day else e.start.isoformat(),
    }
    if e.end:
        data["endDate"] = e.end.date().isoformat() if e.all_day else e.end.isoformat()
    data["eventStatus"] = SCHEMA + "EventScheduled"
    place = None
    if e.venue:
        place = {
            "@type": "Place",
            "name": e.venue,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": e.address or "",
                "addressLocality": e.city or "",
                "addressCountry": e.country or "",
            },
        }
    virtual = {"@type": "VirtualLocation", "url": e.url}
    if e.online and place:
        data["eventAttendanceMode"] = _MODE["mixed"]
        data["location"] = [place, virtual]
    elif e.online:
        data["eventAttendanceMode"] = _MODE["online"]
        data["location"] = virtual
    else:
        data["eventAttendanceMode"] = _MODE["offline"]
        if place:
            data["location"] = place
    if e.price is not None:
        data["offers"] = {
            "@type": "Offer",
            "price": f"{e.price:.2f}",
            "priceCurrency": e.currency or "EUR",
            "availability": SCHEMA + "InStock",
            "url": e.url,
        }
    if e.organizer:
        data["organizer"] = {"@type": "Organization", "name": e.organizer}
    if e.performers:
        data["performer"] = [{"@type": "Person", "name": p.split(" (")[0]} for p in e.performers]
    data["inLanguage"] = e.language
    if e.cfp_deadline:
        data["hasParticipationOffer"] = {
            "@type": "Offer",
            "name": "Call for speakers",
            "category": "speaker",
            "url": e.cfp_url or e.url,
            "availabilityEnds": e.cfp_deadline.isoformat(),
            "price": "0",
            "priceCurrency": e.currency or "EUR",
        }
    return data


def event_page(e: SampleEvent, *, site: str, home: str) -> str:
    """An event's own page: HTML5 with its JSON-LD in the head."""
    return _render(
        "event_page.html.j2", title=e.title, url=e.url, lang=e.language, jsonld=jsonld(e),
        events=[e], site=site, home=home,
    )


def multi_event_page(events: list[SampleEvent], *, title: str, url: str, site: str,
                     home: str) -> str:
    """One page holding several events: a JSON-LD ``@graph`` of Event objects."""
    graph = []
    for e in events:
        item = jsonld(e)
        item.pop("@context")
        graph.append(item)
    data = {"@context": "https://schema.org", "@graph": graph}
    return _render(
        "event_page.html.j2", title=title, url=url, lang="en", jsonld=data, events=events,
        site=site, home=home,
    )


@dataclass
class Link:
    href: str
    event: SampleEvent

    def __getattr__(self, name: str) -> Any:
        return getattr(self.event, name)


def follow_listing(title: str, links: list[tuple[str, SampleEvent]], *, home: str) -> str:
    """A ticketing-site listing: cards whose ``a.event-card__link`` lead to event pages."""
    return _render("follow_listing.html.j2", title=title, home=home,
                   events=[Link(h, e) for h, e in links])


def html_listing(title: str, intro: str, links: list[tuple[str, SampleEvent]], *, home: str,
                 page: int = 1, pages: int = 1, prev_href: str | None = None,
                 next_href: str | None = None) -> str:
    """A listing without structured data: ``article.listing`` items, floating local times in
    ``time.start``/``time.end`` ``datetime`` attributes, ``a.pager__next`` to the next page."""
    return _render(
        "html_listing.html.j2", title=title, intro=intro, home=home, page=page, pages=pages,
        prev_href=prev_href, next_href=next_href, events=[Link(h, e) for h, e in links],
    )
