"""Bundled demo: sample sources whose event dates are placed relative to "now".

``materialize(dest, now)`` writes a complete configuration directory (``eventscout.toml``,
``sources.toml``, ``profiles.toml``) plus the sample source documents it points at with
``file://`` URLs: two RSS 2.0 feeds (one with ``ev:`` event-module dates, one Meetup-style with
the date only in the description text), two iCalendar files (one with a weekly RRULE), a
listing page whose links lead to event pages with JSON-LD, a conference page with a call for
speakers, a paginated HTML listing for ``html`` selectors and a JSON file with a field mapping.

The events are described once, in ``data/catalog.toml``; ``render.py`` writes the documents.
Whatever ``now`` is, the digest week (the ISO week that contains tomorrow, in Europe/Berlin)
holds at least eight events that have not started yet, and a call-for-speakers deadline falls
within the next 14 days.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aggregator.constants import HTML, JSON
from aggregator.demo import render
from aggregator.demo.render import Channel, SampleEvent, toml_value

CATALOG = Path(__file__).parent / "data" / "catalog.toml"

#: the zone whose ISO week the demo fills ([digest] timezone in the written eventscout.toml)
DIGEST_TIMEZONE = "Europe/Berlin"
PROFILE_NAME = "demo"

_WHEN = re.compile(r"^(?P<base>week|day)\+(?P<n>\d+)(?: (?P<hh>\d{1,2}):(?P<mm>\d{2}))?$")

# the JSON source's keys, as its [source.fields] mapping names them
JSON_FIELDS = {
    "items": "data.events",
    "title": "name",
    "url": "url",
    "start": "starts_at",
    "end": "ends_at",
    "timezone": "tz",
    "online": "virtual",
    "venue": "venue_name",
    "city": "city",
    "country": "country",
    "description": "description",
    "price": "price",
    "currency": "currency",
    "kind": "category",
    "organizer": "host",
}


@dataclass(frozen=True)
class DigestWeek:
    """The window the demo must fill, and the earliest start it places an event at."""

    start: datetime          # Monday 00:00 in DIGEST_TIMEZONE
    end: datetime            # the next Monday 00:00 (exclusive)
    earliest: datetime       # no week event starts before this


def digest_week(now: datetime, tz: str = DIGEST_TIMEZONE) -> DigestWeek:
    """The ISO week containing tomorrow (SPEC: the default digest week) in ``tz``.

    Events are placed from ``now + 1 day`` when at least three days of the week remain after
    that, otherwise (Friday evening to Saturday night) from ``now + 2 hours`` so that the
    short rest of the week still holds them.
    """
    zone = ZoneInfo(tz)
    tomorrow = (now.astimezone(zone) + timedelta(days=1)).date()
    monday = tomorrow - timedelta(days=tomorrow.weekday())
    start = datetime.combine(monday, time(0, 0), zone)
    end = datetime.combine(monday + timedelta(days=7), time(0, 0), zone)
    earliest = now + timedelta(days=1)
    if end - earliest < timedelta(days=3):
        earliest = now + timedelta(hours=2)
    return DigestWeek(start, end, earliest)


def _parse_when(when: str, key: str) -> tuple[str, int, time | None]:
    m = _WHEN.match(when)
    if not m:
        raise ValueError(f"catalog event {key}: bad when {when!r}")
    clock = time(int(m["hh"]), int(m["mm"])) if m["hh"] else None
    if m["base"] == "week" and (clock is None or int(m["n"]) > 6):
        raise ValueError(f"catalog event {key}: 'week+K HH:MM' needs 0 <= K <= 6 and a time")
    return m["base"], int(m["n"]), clock


def _place(when: str, key: str, tz: ZoneInfo, now: datetime, week: DigestWeek) -> datetime:
    """The event's start (aware, in ``tz``); all-day events start at local midnight."""
    base, n, clock = _parse_when(when, key)
    if base == "day":
        today = now.astimezone(tz).date()
        return datetime.combine(today + timedelta(days=n), clock or time(0, 0), tz)
    assert clock is not None
    monday = week.start.date()
    latest = week.end - timedelta(hours=1)
    fits = []
    for offset in range(7):
        start = datetime.combine(monday + timedelta(days=offset), clock, tz)
        if week.earliest <= start < latest and start >= week.start:
            fits.append(start)
    if fits:
        # weekday K of 7 when the whole week is ahead; the same share of what is left otherwise,
        # so that a late-week run still spreads its events over the remaining days
        return fits[n * len(fits) // 7]
    # nothing at the preferred time of day: the next half hour after `earliest`
    start = week.earliest.astimezone(tz) + timedelta(minutes=30)
    return start.replace(minute=0 if start.minute < 30 else 30, second=0, microsecond=0)


def _catalog() -> dict[str, Any]:
    with CATALOG.open("rb") as f:
        return tomllib.load(f)


class _Builder:
    def __init__(self, dest: Path, now: datetime):
        self.dest = dest
        self.now = now
        self.week = digest_week(now)
        cat = _catalog()
        self.sources: list[dict[str, Any]] = cat["source"]
        self.by_source: dict[str, list[SampleEvent]] = {s["name"]: [] for s in self.sources}
        for index, spec in enumerate(cat["event"]):
            for position, name in enumerate(spec["sources"]):
                if name not in self.by_source:
                    raise ValueError(f"catalog event {spec['key']}: unknown source {name}")
                self.by_source[name].append(self._event(spec, index, position, name))

    def _event(self, spec: dict[str, Any], index: int, position: int, source: str) -> SampleEvent:
        src = next(s for s in self.sources if s["name"] == source)
        tz = ZoneInfo(spec["tz"])
        start = _place(spec["when"], spec["key"], tz, self.now, self.week)
        all_day = _parse_when(spec["when"], spec["key"])[2] is None
        days = spec.get("days", 0)
        if all_day:
            end = start + timedelta(days=days) if days else None
        else:
            end = start + timedelta(days=days, minutes=spec.get("minutes", 120))
        title = spec["alt_title"] if position and "alt_title" in spec else spec["title"]
        key = spec["key"]
        url = src["site"] + f"{key}/"
        if src["format"] == "follow":
            url = src["site"] + f"{key}-tickets.html"
        elif src["format"] == "page":
            url = src["site"]
        if src["type"] == JSON:
            url = f"{src['site']}{40100 + index}"
        if src["type"] == HTML and position:
            first = next(s for s in self.sources if s["name"] == spec["sources"][0])
            url = f"{first['site']}{key}/?utm_source=london-creative&utm_medium=listing"
        rrule = None
        exdates: list[datetime] = []
        if spec.get("repeat") == "weekly":
            occurrence = start
            start = occurrence - timedelta(weeks=3)
            end = start + timedelta(minutes=spec.get("minutes", 120))
            rrule = {"FREQ": "WEEKLY", "COUNT": 12}
            exdates = [occurrence + timedelta(weeks=4)]      # the group's summer break
        cfp = None
        if "cfp" in spec:
            cfp = _place(spec["cfp"], key, tz, self.now, self.week)
        host = src["site"].split("/")[2]
        return SampleEvent(
            key=key, title=title, start=start, end=end, tz=spec["tz"], url=url,
            summary=spec["summary"], body=list(spec.get("body", [])),
            venue=spec.get("venue"), address=spec.get("address"), city=spec.get("city"),
            country=spec.get("country"), online=spec.get("online", False), all_day=all_day,
            kind_text=spec.get("kind"), schema_type=spec.get("schema", "Event"),
            price=spec.get("price"), currency=spec.get("currency"),
            organizer=spec.get("organizer"), performers=list(spec.get("performers", [])),
            categories=list(spec.get("categories", [])), cfp_deadline=cfp,
            cfp_url=f"{src['site']}call-for-speakers/" if cfp else None,
            posted=(self.now - timedelta(days=3 + index % 17, minutes=37 * index)).replace(
                second=0, microsecond=0),
            uid=f"{key}@{host}", rrule=rrule, exdates=exdates,
        )

    # -- writers --------------------------------------------------------------------------------
    def _write(self, rel: str, data: str | bytes) -> Path:
        path = self.dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8", newline="\n")
        else:
            path.write_bytes(data)
        return path

    def write_sources(self) -> list[tuple[dict[str, Any], Path]]:
        written = []
        for src in self.sources:
            events = sorted(self.by_source[src["name"]], key=lambda e: e.start)
            fmt = src["format"]
            path = self.dest / src["file"]
            parts = urlsplit(src["site"])
            home = f"{parts.scheme}://{parts.netloc}/"
            if fmt in ("rss-ev", "rss-meetup"):
                channel = Channel(
                    title=src["title"], link=src["site"], self_url=path.as_uri(),
                    description=src["description"], built=self.now - timedelta(hours=1),
                )
                style = "ev" if fmt == "rss-ev" else "meetup"
                self._write(src["file"], render.rss(channel, events, style=style,
                                                    group=src.get("group", "")))
            elif fmt == "ics":
                self._write(src["file"], render.ics(src["title"], src["description"], events,
                                                    stamp=self.now))
            elif fmt == "follow":
                links = []
                for e in events:
                    rel = f"e/{e.key}-tickets.html"
                    links.append((rel, e))
                    self._write(str(Path(src["file"]).parent / rel),
                                render.event_page(e, site="Eventhub", home=home))
                self._write(src["file"], render.follow_listing(src["title"], links, home=home))
            elif fmt == "page":
                (event,) = events
                self._write(src["file"], render.event_page(event, site=src["title"], home=home))
            elif fmt == "html":
                self._write_html_listing(src, events, home)
            elif fmt == "json":
                self._write(src["file"], json.dumps(self._json_doc(events), ensure_ascii=False,
                                                    indent=2) + "\n")
            else:
                raise ValueError(f"catalog source {src['name']}: unknown format {fmt}")
            written.append((src, path))
        return written

    def _write_html_listing(self, src: dict[str, Any], events: list[SampleEvent],
                            home: str) -> None:
        per_page = src.get("per_page", 10)
        pages = [events[i:i + per_page] for i in range(0, len(events), per_page)] or [[]]
        folder = Path(src["file"]).parent
        names = ["index.html"] + [f"page-{n}.html" for n in range(2, len(pages) + 1)]
        for number, (name, chunk) in enumerate(zip(names, pages, strict=True), start=1):
            text = render.html_listing(
                src["title"], src["description"], [(e.url, e) for e in chunk], home=home,
                page=number, pages=len(pages),
                prev_href=names[number - 2] if number > 1 else None,
                next_href=names[number] if number < len(pages) else None,
            )
            self._write(str(folder / name), text)

    def _json_doc(self, events: list[SampleEvent]) -> dict[str, Any]:
        items = []
        for e in events:
            items.append({
                "id": int(e.url.rstrip("/").rsplit("/", 1)[1]),
                "name": e.title,
                "category": e.kind_text,
                "starts_at": e.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ends_at": e.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if e.end else None,
                "tz": e.tz,
                "virtual": e.online,
                "venue_name": e.venue,
                "city": e.city,
                "country": e.country,
                "url": e.url,
                "description": "\n\n".join(e.paragraphs),
                "price": "Free" if e.price == 0 else e.price,
                "currency": e.currency,
                "host": e.organizer,
            })
        return {
            "meta": {"api_version": "2", "generated_at": self.now.astimezone(UTC).isoformat(),
                     "count": len(items)},
            "data": {"events": items},
        }

    def write_config(self, written: list[tuple[dict[str, Any], Path]]) -> None:
        lines = [
            "# Sample sources of `eventscout demo`: local files written next to this file.",
            f"# Generated for {self.now.astimezone(UTC).isoformat()}; dates are relative to it.",
            "",
        ]
        simple = ("name", "type", "url", "group", "industries", "tags", "city", "country",
                  "timezone", "enabled", "follow", "next_page", "preset")
        for src, path in written:
            values = {**src, "url": path.as_uri(), "enabled": True}
            lines.append("[[source]]")
            lines += [f"{k} = {toml_value(values[k])}" for k in simple if k in values]
            if src["type"] == HTML:
                lines.append("[source.select]")
                for k, v in (("item", "article.listing"), ("title", "h2.listing__title a::text"),
                             ("url", "h2.listing__title a::attr(href)"),
                             ("start", "time.start::attr(datetime)"),
                             ("end", "time.end::attr(datetime)"),
                             ("location", "p.listing__where::text"),
                             ("description", "div.listing__desc")):
                    lines.append(f"{k} = {toml_value(v)}")
            if src["type"] == JSON:
                lines.append("[source.fields]")
                lines += [f"{k} = {toml_value(v)}" for k, v in JSON_FIELDS.items()]
            lines.append("")
        self._write("sources.toml", "\n".join(lines))

        db = (self.dest / "eventscout.db").as_posix()
        self._write("eventscout.toml", "\n".join([
            "# Settings of `eventscout demo`.",
            "[database]",
            f"url = {toml_value('sqlite:///' + db)}",
            "",
            "[crawl]",
            'user_agent = "eventscout-demo/0.1 (+https://github.com/eventscout/eventscout)"',
            "concurrency = 8",
            "horizon_days = 90",
            "obey_robots = false   # local files only",
            "",
            "[digest]",
            f"timezone = {toml_value(DIGEST_TIMEZONE)}",
            "",
        ]))
        self._write("profiles.toml", "\n".join([
            "# The sample profile of `eventscout demo`.",
            "[[profile]]",
            f"name = {toml_value(PROFILE_NAME)}",
            'email = "demo@example.org"',
            'interests = ["python", "data engineering^2", "data science", "mentoring", '
            '"machine learning", "ux research"]',
            'industries = ["software", "data"]',
            'goals = ["support", "opportunities", "visibility"]',
            'location = "Berlin, DE"',
            "radius_km = 50",
            "online = true",
            'exclude = ["crypto"]',
            "max_price = 100",
            'languages = ["en", "de"]',
            "",
        ]))


def materialize(dest: Path, now: datetime) -> Path:
    """Write the demo configuration and its sample sources into ``dest``; return ``dest``.

    ``now`` must be aware. Writing is deterministic: the same ``now`` gives the same bytes.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("materialize() needs an aware datetime for now")
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    builder = _Builder(dest, now.astimezone(UTC))
    written = builder.write_sources()
    builder.write_config(written)
    return dest


def demo_events(now: datetime) -> dict[str, list[SampleEvent]]:
    """The sample events per source name, as materialize() would write them for ``now``."""
    return _Builder(Path("."), now.astimezone(UTC)).by_source


__all__ = ["DIGEST_TIMEZONE", "PROFILE_NAME", "demo_events", "digest_week", "materialize"]
