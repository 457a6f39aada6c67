"""A deterministic synthetic corpus of event sources for benchmarks.

    python bench/synth.py DEST [--sources N] [--events-per-source M] [--profiles P]
                               [--base-url URL] [--seed S] [--now ISO8601]

writes

    DEST/site/      the documents, to be served at --base-url (default: the literal "{BASE}",
                    to be replaced on bytes by a loopback server's origin, as for shared/eval)
    DEST/config/    eventscout.toml, sources.toml (URLs under --base-url), profiles.toml

Mix of source types (of N sources): 40% feeds (three in four RSS 2.0 with the RSS event module
``ev:startdate``/``ev:enddate``, one in four Atom 1.0 with xCal ``dtstart``/``dtend``), 30%
iCalendar files (VTIMEZONE + TZID, several zones in the multi-city ones), 20% structured-data
pages and 10% selector listings.

Structured-data pages: to keep the page count sane, a ``page`` source is one listing page
(``index.html``) whose ``a.event-card__link`` links (its ``follow`` selector) lead to
"programme" pages that each hold up to 5 events as a JSON-LD ``@graph`` (like a venue's monthly
programme page), so M events cost ceil(M / 5) + 1 files instead of M + 1. Some conferences
carry a call for speakers (``hasParticipationOffer``).

Selector listings: ``article.listing`` items with fixed classes, 20 per page, floating local
times in ``time.start``/``time.end`` and ``a.pager__next`` to the next page; these sources are
local to one city (the floating times are read in the source's timezone).

Duplicates: 10% of all listings are a second listing of an event of another source: the same
start and city (or both online), the title slightly varied (punctuation, an added city or
year, "and" for "&"), as aggregators and group pages publish them. ``events`` counts listings,
``unique_events`` the real events behind them.

The output is a pure function of the arguments: the same seed gives the same bytes. Titles
and descriptions span the 23 industries of SPEC.md and 40 cities; all organisations are
invented and live under the reserved .example domain.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.demo import render
from aggregator.demo.render import Channel, SampleEvent, toml_value

DEFAULT_NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)   # a Monday; fixed for determinism
HORIZON_DAYS = 90
PAGE_EVENTS_PER_DETAIL = 5
HTML_PER_PAGE = 20
DUPLICATE_SHARE = 0.10
ONLINE_SHARE = 0.12

# -- vocabulary ---------------------------------------------------------------------------------
# industry slug -> (label, topics)
INDUSTRIES: dict[str, tuple[str, list[str]]] = {
    "software": ("Software", ["Python", "Rust", "TypeScript", "Go", "API design", "testing",
                              "open source", "developer experience", "web performance"]),
    "data": ("Data & AI", ["data engineering", "machine learning", "LLM evaluation",
                           "analytics engineering", "MLOps", "data visualisation",
                           "vector search"]),
    "security": ("Security", ["threat modelling", "application security", "incident response",
                              "zero trust", "cloud security", "red teaming"]),
    "cloud": ("Cloud & DevOps", ["Kubernetes", "platform engineering", "SRE", "observability",
                                 "Terraform", "FinOps", "serverless"]),
    "design": ("Design & UX", ["UX research", "design systems", "accessibility",
                               "service design", "prototyping", "content design"]),
    "product": ("Product", ["product discovery", "roadmapping", "product analytics", "pricing",
                            "product-led growth", "OKRs"]),
    "marketing": ("Marketing", ["content marketing", "SEO", "brand strategy",
                                "performance marketing", "marketing analytics",
                                "community building"]),
    "sales": ("Sales", ["B2B sales", "sales enablement", "account management", "negotiation",
                        "revenue operations", "customer success"]),
    "finance": ("Finance", ["corporate finance", "FP&A", "risk management", "ESG investing",
                            "audit", "treasury"]),
    "fintech": ("Fintech", ["open banking", "payments", "embedded finance", "regtech",
                            "digital lending", "fraud prevention"]),
    "healthcare": ("Healthcare", ["digital health", "telemedicine", "clinical informatics",
                                  "patient safety", "health data", "nursing leadership"]),
    "biotech": ("Biotech & Life Sciences", ["single-cell genomics", "bioinformatics",
                                            "drug discovery", "clinical trials",
                                            "biomanufacturing", "CRISPR"]),
    "education": ("Education", ["edtech", "curriculum design", "learning analytics",
                                "AI in the classroom", "lifelong learning"]),
    "legal": ("Legal", ["legal tech", "data protection law", "contract automation",
                        "AI regulation", "intellectual property"]),
    "energy": ("Energy & Climate", ["solar", "heat pumps", "grid flexibility",
                                    "carbon accounting", "energy storage",
                                    "climate adaptation"]),
    "manufacturing": ("Manufacturing", ["Industry 4.0", "predictive maintenance",
                                        "lean manufacturing", "robotics",
                                        "supply chain resilience"]),
    "real-estate": ("Real Estate", ["proptech", "sustainable buildings",
                                    "commercial real estate", "facility management",
                                    "urban development"]),
    "media": ("Media & Journalism", ["data journalism", "podcasting", "newsletters",
                                     "fact-checking", "audience growth", "local news"]),
    "nonprofit": ("Nonprofit", ["fundraising", "grant writing", "impact measurement",
                                "volunteer management", "advocacy"]),
    "government": ("Government & Civic", ["civic tech", "digital public services", "open data",
                                          "public procurement", "participatory budgeting"]),
    "hr": ("HR & People", ["people analytics", "employer branding", "skills-based hiring",
                           "inclusive hiring", "remote work", "talent acquisition"]),
    "retail": ("Retail & E-commerce", ["e-commerce", "omnichannel retail", "retail media",
                                       "marketplaces", "customer loyalty",
                                       "last-mile delivery"]),
    "hospitality": ("Hospitality", ["revenue management", "restaurant tech",
                                    "sustainable tourism", "guest experience",
                                    "event management"]),
}


@dataclass(frozen=True)
class City:
    name: str
    country: str
    tz: str
    currency: str
    streets: tuple[str, ...]


CITIES: tuple[City, ...] = tuple(City(*c) for c in (
    ("Berlin", "DE", "Europe/Berlin", "EUR", ("Friedrichstraße", "Torstraße", "Skalitzer Straße")),
    ("Munich", "DE", "Europe/Berlin", "EUR", ("Leopoldstraße", "Sendlinger Straße")),
    ("Hamburg", "DE", "Europe/Berlin", "EUR", ("Großer Burstah", "Schanzenstraße")),
    ("London", "GB", "Europe/London", "GBP", ("Old Street", "Southwark Street", "Hoxton Square")),
    ("Manchester", "GB", "Europe/London", "GBP", ("Deansgate", "Portland Street")),
    ("Edinburgh", "GB", "Europe/London", "GBP", ("Leith Walk", "George Street")),
    ("Dublin", "IE", "Europe/Dublin", "EUR", ("Grand Canal Quay", "Dame Street")),
    ("Paris", "FR", "Europe/Paris", "EUR", ("Rue de Rivoli", "Boulevard Voltaire")),
    ("Lyon", "FR", "Europe/Paris", "EUR", ("Rue de la République", "Quai Perrache")),
    ("Amsterdam", "NL", "Europe/Amsterdam", "EUR", ("Keizersgracht", "Piet Heinkade")),
    ("Brussels", "BE", "Europe/Brussels", "EUR", ("Rue de la Loi", "Avenue Louise")),
    ("Madrid", "ES", "Europe/Madrid", "EUR", ("Calle de Alcalá", "Paseo de la Castellana")),
    ("Barcelona", "ES", "Europe/Madrid", "EUR", ("Carrer de Pujades", "Passeig de Gràcia")),
    ("Lisbon", "PT", "Europe/Lisbon", "EUR", ("Rua Augusta", "Avenida da Liberdade")),
    ("Milan", "IT", "Europe/Rome", "EUR", ("Via Tortona", "Corso Como")),
    ("Vienna", "AT", "Europe/Vienna", "EUR", ("Mariahilfer Straße", "Praterstraße")),
    ("Zurich", "CH", "Europe/Zurich", "CHF", ("Hardturmstrasse", "Bahnhofstrasse")),
    ("Copenhagen", "DK", "Europe/Copenhagen", "DKK", ("Vesterbrogade", "Nørrebrogade")),
    ("Stockholm", "SE", "Europe/Stockholm", "SEK", ("Sveavägen", "Götgatan")),
    ("Helsinki", "FI", "Europe/Helsinki", "EUR", ("Mannerheimintie", "Aleksanterinkatu")),
    ("Warsaw", "PL", "Europe/Warsaw", "PLN", ("Marszałkowska", "Prosta")),
    ("Prague", "CZ", "Europe/Prague", "CZK", ("Václavské náměstí", "Karlínské náměstí")),
    ("Tallinn", "EE", "Europe/Tallinn", "EUR", ("Telliskivi", "Narva maantee")),
    ("New York", "US", "America/New_York", "USD", ("Broadway", "West 18th Street", "Varick St")),
    ("Boston", "US", "America/New_York", "USD", ("Congress Street", "Summer Street")),
    ("Chicago", "US", "America/Chicago", "USD", ("W Madison Street", "N Wells Street")),
    ("Austin", "US", "America/Chicago", "USD", ("Congress Avenue", "E 6th Street")),
    ("Denver", "US", "America/Denver", "USD", ("Larimer Street", "Blake Street")),
    ("San Francisco", "US", "America/Los_Angeles", "USD", ("Market Street", "Howard Street")),
    ("Seattle", "US", "America/Los_Angeles", "USD", ("Pike Street", "Westlake Avenue")),
    ("Toronto", "CA", "America/Toronto", "CAD", ("King Street West", "Spadina Avenue")),
    ("Vancouver", "CA", "America/Vancouver", "CAD", ("Granville Street", "Water Street")),
    ("Mexico City", "MX", "America/Mexico_City", "MXN", ("Avenida Reforma", "Calle Durango")),
    ("São Paulo", "BR", "America/Sao_Paulo", "BRL", ("Avenida Paulista", "Rua Augusta")),
    ("Buenos Aires", "AR", "America/Argentina/Buenos_Aires", "ARS", ("Corrientes", "Honduras")),
    ("Nairobi", "KE", "Africa/Nairobi", "KES", ("Ngong Road", "Waiyaki Way")),
    ("Lagos", "NG", "Africa/Lagos", "NGN", ("Admiralty Way", "Herbert Macaulay Way")),
    ("Cape Town", "ZA", "Africa/Johannesburg", "ZAR", ("Bree Street", "Long Street")),
    ("Bengaluru", "IN", "Asia/Kolkata", "INR", ("MG Road", "Outer Ring Road")),
    ("Singapore", "SG", "Asia/Singapore", "SGD", ("Robinson Road", "Anson Road")),
    ("Tokyo", "JP", "Asia/Tokyo", "JPY", ("Shibuya", "Marunouchi")),
    ("Sydney", "AU", "Australia/Sydney", "AUD", ("George Street", "Harris Street")),
    ("Melbourne", "AU", "Australia/Melbourne", "AUD", ("Collins Street", "Flinders Lane")),
))

ORG_FIRST = ("Northwind", "Bluepeak", "Harbor", "Lumen", "Kestrel", "Granite", "Juniper",
             "Copperline", "Meridian", "Tidewater", "Alder", "Brightfield", "Cobalt", "Fennel",
             "Larkspur", "Orchard", "Quartz", "Riverstone", "Saffron", "Willow")
ORG_SECOND = ("Labs", "Analytics", "Collective", "Partners", "Studio", "Works", "Group",
              "Institute", "Network", "Foundation", "Ventures", "Systems")
VENUE_KINDS = ("Innovation Hub", "Conference Centre", "Campus", "Library", "Co-working Loft",
               "Town Hall", "Community Space", "Tech House", "Exchange", "Forum")
PEOPLE_FIRST = ("Ana", "Ben", "Chen", "Dara", "Elif", "Farah", "Gustavo", "Hana", "Ines", "Jonas",
                "Kemi", "Lars", "Maya", "Nikhil", "Olga", "Priya", "Rafael", "Sofia", "Tomás",
                "Yuki", "Zanele", "Amara", "Leon", "Mei")
PEOPLE_LAST = ("Okafor", "Schmidt", "Nakamura", "Costa", "Haddad", "Kowalski", "Lindqvist",
               "Mensah", "Rossi", "Sato", "Walsh", "Yilmaz", "Dubois", "Fernández", "Novak",
               "Patel", "Reyes", "Singh", "Tanaka", "Weber")
ROLES = ("Head of Engineering", "Principal Consultant", "Founder", "Research Lead",
         "Director of Operations", "Senior Analyst", "VP Product", "Programme Manager",
         "Community Lead", "Partner")

# kind text -> (schema.org type, title patterns, typical minutes, price range)
KINDS: dict[str, tuple[str, tuple[str, ...], tuple[int, int], tuple[int, int]]] = {
    "Meetup": ("Event", ("{city} {Topic} Meetup", "{Label} Night: {angle}",
                         "{Label} Meetup {city}: {angle}"), (90, 180), (0, 0)),
    "Conference": ("ConferenceEvent", ("{Topic} Summit {city}", "{Label} Conference {year}",
                                       "{Topic} Days {year}"), (420, 540), (90, 600)),
    "Workshop": ("EducationEvent", ("Hands-on {Topic} Workshop", "Intro to {Topic}",
                                    "{Topic} Masterclass"), (120, 420), (0, 250)),
    "Webinar": ("Event", ("Webinar: {angle}", "Online: {angle}"), (45, 90), (0, 0)),
    "Hackathon": ("Hackathon", ("{Topic} Hackathon {city}", "Hack the {Topic} Challenge"),
                  (480, 600), (0, 0)),
    "Career Fair": ("BusinessEvent", ("{city} {Label} Career Fair", "{Label} Jobs Fair {year}"),
                    (240, 420), (0, 0)),
    "Networking": ("BusinessEvent", ("{Label} Networking Breakfast", "{Label} Drinks {city}"),
                   (90, 180), (0, 30)),
    "Mentoring": ("SocialEvent", ("Women in {Label} Mentoring Evening",
                                  "{Label} Mentoring Circle {city}"), (90, 150), (0, 0)),
    "Awards": ("Event", ("{Label} Awards {year}", "{city} {Label} Awards Night"),
               (150, 240), (40, 120)),
    "Volunteer": ("SocialEvent", ("Volunteer Day: {Label} Skills for Community Groups",),
                  (240, 360), (0, 0)),
}
KIND_WEIGHTS = {"Meetup": 30, "Conference": 10, "Workshop": 18, "Webinar": 12, "Hackathon": 4,
                "Career Fair": 6, "Networking": 10, "Mentoring": 5, "Awards": 2, "Volunteer": 3}
ANGLES = ("{topic} in practice", "lessons learned from {topic}", "what's new in {topic}",
          "scaling {topic}", "getting started with {topic}", "the future of {topic}",
          "{topic} for small teams", "{topic} beyond the hype")
AUDIENCES = ("Practitioners", "Engineers and analysts", "Founders and team leads",
             "Newcomers and career changers", "Managers and individual contributors",
             "Students and early-career professionals")
LOGISTICS = ("Talks are in English. Doors open 30 minutes before the start.",
             "Snacks and drinks are provided; registration required.",
             "Lunch is included in the ticket.", "Step-free access; live captions available.",
             "The session is recorded for registered attendees.",
             "Bring a laptop; exercises are done in pairs.")


_SMALL_WORDS = {"a", "an", "and", "for", "in", "of", "on", "the", "to", "with"}


def _cap(phrase: str) -> str:
    """Title case that keeps acronyms and product names ("CRISPR", "FP&A", "edtech" -> "Edtech")."""
    words = phrase.split()
    return " ".join(
        w[:1].upper() + w[1:] if w.islower() and (i == 0 or w not in _SMALL_WORDS) else w
        for i, w in enumerate(words)
    )


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    out = "".join(c.lower() if c.isalnum() and c.isascii() else "-" for c in text)
    return "-".join(p for p in out.split("-") if p)


# -- sources and events -------------------------------------------------------------------------
@dataclass
class SourceSpec:
    name: str
    type: str                       # feed | ical | page | html
    fmt: str                        # rss | atom | ics | page | html
    industries: list[str]
    city: City | None               # None: a multi-city aggregator
    group: str | None = None
    events: list[SampleEvent] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return {"rss": "feeds", "atom": "feeds", "ics": "calendars", "page": "pages",
                "html": "listings"}[self.fmt] + "/" + self.name


def _type_plan(n: int, rng: random.Random) -> list[str]:
    """Exactly 40/30/20/10 percent (by cumulative rounding down), shuffled."""
    cut = [int(n * 0.4), int(n * 0.7), int(n * 0.9), n]
    plan = (["feed"] * cut[0] + ["ical"] * (cut[1] - cut[0]) + ["page"] * (cut[2] - cut[1])
            + ["html"] * (cut[3] - cut[2]))
    rng.shuffle(plan)
    return plan


def _make_sources(n: int, rng: random.Random) -> list[SourceSpec]:
    specs = []
    slugs = list(INDUSTRIES)
    for i, kind in enumerate(_type_plan(n, rng)):
        industries = rng.sample(slugs, rng.choice((1, 1, 2, 3)))
        local = kind == "html" or rng.random() < 0.7
        city = rng.choice(CITIES) if local else None
        fmt = {"feed": "rss" if rng.random() < 0.75 else "atom", "ical": "ics", "page": "page",
               "html": "html"}[kind]
        label = INDUSTRIES[industries[0]][0]
        where = _slug(city.name) if city else "global"
        name = f"{where}-{industries[0]}-{kind}-{i + 1:04d}"
        group = None
        if city and kind in ("feed", "ical") and rng.random() < 0.5:
            group = (f"{label} Community {city.name}" if rng.random() < 0.5
                     else f"{city.name} {label} Circle")
        specs.append(SourceSpec(name, kind, fmt, industries, city, group))
    return specs


class _EventMaker:
    def __init__(self, rng: random.Random, now: datetime, base_url: str):
        self.rng = rng
        self.now = now
        self.base = base_url.rstrip("/")
        self.kinds = list(KIND_WEIGHTS)
        self.weights = [KIND_WEIGHTS[k] for k in self.kinds]
        self.counter = 0

    def _org(self) -> str:
        return f"{self.rng.choice(ORG_FIRST)} {self.rng.choice(ORG_SECOND)}"

    def _person(self) -> str:
        r = self.rng
        return (f"{r.choice(PEOPLE_FIRST)} {r.choice(PEOPLE_LAST)} "
                f"({r.choice(ROLES)}, {self._org()})")

    def make(self, source: SourceSpec) -> SampleEvent:
        r = self.rng
        self.counter += 1
        industry = r.choice(source.industries)
        label, topics = INDUSTRIES[industry]
        topic, topic2 = r.sample(topics, 2)
        kind = r.choices(self.kinds, self.weights)[0]
        schema, patterns, (lo, hi), (p_lo, p_hi) = KINDS[kind]
        city = source.city or r.choice(CITIES)
        online = kind == "Webinar" or (source.type != "html" and r.random() < ONLINE_SHARE)
        tz = ZoneInfo(city.tz)
        day = (self.now.astimezone(tz) + timedelta(days=r.randint(1, HORIZON_DAYS))).date()
        clock = time(r.choice((8, 9, 10, 12, 14, 17, 18, 18, 19)), r.choice((0, 0, 30)))
        start = datetime.combine(day, clock, tz)
        minutes = r.randrange(lo, hi + 1, 15)
        extra_days = 1 if kind in ("Conference", "Hackathon") and r.random() < 0.4 else 0
        end = start + timedelta(days=extra_days, minutes=minutes)
        angle = r.choice(ANGLES).format(topic=topic)
        title = r.choice(patterns).format(
            city=city.name, Topic=_cap(topic), Label=label, angle=angle[0].upper() + angle[1:],
            year=start.year,
        )
        price = 0 if p_hi == 0 or r.random() < 0.3 else r.randrange(max(p_lo, 5), p_hi + 1, 5)
        org = source.group or self._org()
        key = f"{_slug(title)[:60]}-{self.counter:06d}"
        summary = (f"{r.choice(AUDIENCES)} meet to discuss {topic} and {topic2}: "
                   f"{angle}.")
        body = [f"Expect short talks, open discussion and time to meet peers working on "
                f"{topic2} in {label.lower()}.", r.choice(LOGISTICS)]
        performers = [self._person() for _ in range(r.choice((0, 1, 2, 3)))]
        cfp = None
        if kind == "Conference" and r.random() < 0.4:
            cfp = (min(start - timedelta(days=14), self.now + timedelta(days=r.randint(3, 30)))
                   .replace(hour=23, minute=59))
            if cfp <= self.now:
                cfp = None
        url = f"{self.base}/e/{source.name}/{key}.html"
        return SampleEvent(
            key=key, title=title, start=start, end=end, tz=city.tz, url=url, summary=summary,
            body=body,
            venue=None if online else f"{r.choice(ORG_FIRST)} {r.choice(VENUE_KINDS)}",
            address=None if online else f"{r.randint(1, 250)} {r.choice(city.streets)}",
            city=None if online else city.name, country=None if online else city.country,
            online=online, kind_text=kind, schema_type=schema, price=price,
            currency=city.currency, organizer=org, performers=performers,
            categories=[label, _cap(topic)], cfp_deadline=cfp,
            cfp_url=f"{url}#call-for-speakers" if cfp else None,
            posted=(self.now - timedelta(days=r.randint(1, 40), minutes=r.randint(0, 1439))),
            uid=f"tag:synth.example,2026:{key}",
        )


def _variant(title: str, event: SampleEvent, rng: random.Random) -> str:
    """The same title as another source writes it."""
    options = []
    if ": " in title:
        options.append(title.replace(": ", " – ", 1))
    if " & " in title:
        options.append(title.replace(" & ", " and "))
    if event.city and event.city not in title:
        options.append(f"{title} ({event.city})")
    if str(event.start.year) not in title:
        options.append(f"{title} {event.start.year}")
    options.append(title.rstrip(".") + " – registration open")
    return rng.choice(options)


def _add_duplicates(sources: list[SourceSpec], share: float, rng: random.Random) -> int:
    """Replace ``share`` of all listings with second listings of other sources' events."""
    total = sum(len(s.events) for s in sources)
    wanted = int(total * share)
    slots = [(si, ei) for si, s in enumerate(sources) for ei in range(len(s.events))]
    rng.shuffle(slots)
    by_city: dict[str | None, list[tuple[int, int]]] = {}
    for si, s in enumerate(sources):
        for ei, e in enumerate(s.events):
            by_city.setdefault(e.city, []).append((si, ei))
    replaced: set[tuple[int, int]] = set()
    originals: set[tuple[int, int]] = set()
    done = 0
    for si, ei in slots:
        if done == wanted:
            break
        if (si, ei) in originals:
            continue
        target = sources[si]
        if target.city is None:                   # an aggregator lists anything
            pool = by_city[rng.choice(list(by_city))]
        elif target.type == "html":               # floating times: its own city only
            pool = by_city.get(target.city.name, [])
        else:                                     # a local source: its city, or online
            pool = by_city.get(target.city.name, []) + by_city.get(None, [])
        picked = None
        for _ in range(8):
            if not pool:
                break
            c = rng.choice(pool)
            if c[0] != si and c not in replaced and c not in originals:
                picked = c
                break
        if picked is None:
            continue
        osi, oei = picked
        original = sources[osi].events[oei]
        dup = replace(
            original, title=_variant(original.title, original, rng),
            key=original.key + "-x", url=original.url.replace(
                f"/e/{sources[osi].name}/", f"/e/{target.name}/"),
            uid=original.uid + "-x" if original.uid else None,
        )
        target.events[ei] = dup
        replaced.add((si, ei))
        originals.add((osi, oei))
        done += 1
    return done


# -- writing ------------------------------------------------------------------------------------
class _Writer:
    def __init__(self, root: Path):
        self.root = root
        self.files = 0
        self.bytes = 0

    def write(self, rel: str, data: str | bytes) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        self.files += 1
        self.bytes += len(raw)


def _write_source(src: SourceSpec, w: _Writer, base: str, now: datetime) -> str:
    """Write one source's documents; return the URL of its entry point."""
    events = sorted(src.events, key=lambda e: (e.start.astimezone(UTC), e.key))
    folder = src.folder
    label = INDUSTRIES[src.industries[0]][0]
    title = src.group or (f"{src.city.name} {label} events" if src.city
                          else f"{label} events worldwide")
    description = f"Upcoming {', '.join(INDUSTRIES[i][0] for i in src.industries)} events" + (
        f" in and around {src.city.name}." if src.city else " worldwide and online.")
    home = f"{base}/{folder}/"
    if src.fmt in ("rss", "atom"):
        rel = f"{folder}/{'feed.xml' if src.fmt == 'rss' else 'feed.atom'}"
        channel = Channel(title=title, link=home, self_url=f"{base}/{rel}",
                          description=description, built=now - timedelta(hours=2),
                          author=title, id=f"tag:synth.example,2026:{src.name}")
        text = (render.rss(channel, events, style="ev") if src.fmt == "rss"
                else render.atom(channel, events))
        w.write(rel, text)
        return f"{base}/{rel}"
    if src.fmt == "ics":
        rel = f"{folder}/calendar.ics"
        w.write(rel, render.ics(title, description, events, stamp=now))
        return f"{base}/{rel}"
    if src.fmt == "page":
        links = []
        chunks = [events[i:i + PAGE_EVENTS_PER_DETAIL]
                  for i in range(0, len(events), PAGE_EVENTS_PER_DETAIL)]
        for n, chunk in enumerate(chunks, start=1):
            name = f"programme-{n:03d}.html"
            page_title = f"{title}: programme part {n}"
            w.write(f"{folder}/{name}", render.multi_event_page(
                chunk, title=page_title, url=f"{home}{name}", site=title, home=home))
            first = replace(chunk[0], title=page_title)
            links.append((name, first))
        w.write(f"{folder}/index.html", render.follow_listing(title, links, home=home))
        return f"{home}index.html"
    if src.fmt == "html":
        pages = [events[i:i + HTML_PER_PAGE] for i in range(0, len(events), HTML_PER_PAGE)]
        pages = pages or [[]]
        names = ["index.html"] + [f"page-{n}.html" for n in range(2, len(pages) + 1)]
        for n, (name, chunk) in enumerate(zip(names, pages, strict=True), start=1):
            w.write(f"{folder}/{name}", render.html_listing(
                title, description, [(f"{e.key}.html", e) for e in chunk], home=home, page=n,
                pages=len(pages), prev_href=names[n - 2] if n > 1 else None,
                next_href=names[n] if n < len(pages) else None))
        return f"{home}index.html"
    raise ValueError(f"unknown format {src.fmt}")


def _source_toml(src: SourceSpec, url: str) -> list[str]:
    lines = ["[[source]]", f"name = {toml_value(src.name)}", f"type = {toml_value(src.type)}",
             f"url = {toml_value(url)}"]
    if src.group:
        lines.append(f"group = {toml_value(src.group)}")
    lines.append(f"industries = {toml_value(src.industries)}")
    if src.city:
        lines += [f"city = {toml_value(src.city.name)}",
                  f"country = {toml_value(src.city.country)}",
                  f"timezone = {toml_value(src.city.tz)}"]
    lines.append("enabled = true")
    if src.type == "page":
        lines.append('follow = "a.event-card__link"')
    if src.type == "html":
        lines += [
            'next_page = "a.pager__next::attr(href)"',
            "[source.select]",
            'item = "article.listing"',
            'title = "h2.listing__title a::text"',
            'url = "h2.listing__title a::attr(href)"',
            'start = "time.start::attr(datetime)"',
            'end = "time.end::attr(datetime)"',
            'location = "p.listing__where::text"',
            'description = "div.listing__desc"',
        ]
    return [*lines, ""]


def generate_profiles(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` interest profiles in the profiles.toml shape, deterministic for a seed."""
    rng = random.Random(f"profiles-{seed}")
    goals_all = ["support", "opportunities", "visibility"]
    profiles = []
    for i in range(n):
        industries = rng.sample(list(INDUSTRIES), rng.choice((1, 2, 2, 3)))
        topics = [t for ind in industries for t in INDUSTRIES[ind][1]]
        interests = rng.sample(topics, min(len(topics), rng.randint(2, 5)))
        if rng.random() < 0.4:
            interests[0] += "^2"
        interests += rng.sample(["mentoring", "career change", "public speaking", "leadership",
                                 "hiring", "community"], rng.randint(0, 2))
        city = rng.choice(CITIES)
        profile: dict[str, Any] = {
            "name": f"user-{i + 1:04d}",
            "email": f"user-{i + 1:04d}@example.org",
            "interests": interests,
            "industries": industries,
            "goals": sorted(rng.sample(goals_all, rng.randint(1, 3)), key=goals_all.index),
            "location": f"{city.name}, {city.country}",
            "radius_km": rng.choice((10, 25, 50, 100, 300)),
            "online": rng.random() < 0.7,
            "languages": ["en"] + (["de"] if city.country in ("DE", "AT", "CH") else []),
        }
        if rng.random() < 0.3:
            profile["exclude"] = rng.sample(["crypto", "sales pitch", "webinar", "MLM"], 1)
        if rng.random() < 0.4:
            profile["max_price"] = rng.choice((0, 25, 50, 100, 250))
        profiles.append(profile)
    return profiles


def _profiles_toml(profiles: list[dict[str, Any]]) -> str:
    lines = ["# Generated by bench/synth.py", ""]
    for p in profiles:
        lines.append("[[profile]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in p.items()]
        lines.append("")
    return "\n".join(lines)


def generate(dest: Path, *, sources: int = 500, events_per_source: int = 40, seed: int = 0,
             base_url: str = "{BASE}", now: datetime | None = None,
             profiles: int = 50) -> dict[str, Any]:
    """Write the corpus into ``dest`` (``site/`` and ``config/``); return its counts:
    ``sources, events`` (listings), ``unique_events``, ``duplicates``, ``profiles``, ``files``,
    ``bytes``, and the ``site`` and ``config`` directories."""
    if sources < 1 or events_per_source < 1:
        raise ValueError("sources and events_per_source must be at least 1")
    now = (now or DEFAULT_NOW).astimezone(UTC)
    base = base_url.rstrip("/")
    rng = random.Random(seed)
    specs = _make_sources(sources, rng)
    maker = _EventMaker(rng, now, base)
    for src in specs:
        src.events = [maker.make(src) for _ in range(events_per_source)]
    duplicates = _add_duplicates(specs, DUPLICATE_SHARE, rng)

    dest = Path(dest)
    site, config = _Writer(dest / "site"), _Writer(dest / "config")
    lines = [f"# Synthetic sources by bench/synth.py (seed {seed}, {sources} sources, "
             f"{events_per_source} events each, now {now.isoformat()})", ""]
    for src in specs:
        lines += _source_toml(src, _write_source(src, site, base, now))
    config.write("sources.toml", "\n".join(lines))
    people = generate_profiles(profiles, seed)
    config.write("profiles.toml", _profiles_toml(people))
    config.write("eventscout.toml", "\n".join([
        "# Settings for benchmark runs over the synthetic corpus.",
        "[crawl]",
        f"horizon_days = {HORIZON_DAYS + 30}",
        "concurrency = 16",
        "",
        "[digest]",
        'timezone = "UTC"',
        "",
    ]))
    total = sources * events_per_source
    return {
        "sources": sources,
        "events": total,
        "unique_events": total - duplicates,
        "duplicates": duplicates,
        "profiles": profiles,
        "files": site.files + config.files,
        "bytes": site.bytes + config.bytes,
        "site": str(dest / "site"),
        "config": str(dest / "config"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--events-per-source", type=int, default=40)
    parser.add_argument("--profiles", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-url", default="{BASE}",
                        help='origin the site is served from (default: the literal "{BASE}")')
    parser.add_argument("--now", type=datetime.fromisoformat, default=DEFAULT_NOW,
                        help=f"pretend it is this instant (default {DEFAULT_NOW.isoformat()})")
    args = parser.parse_args(argv)
    now = args.now if args.now.tzinfo else args.now.replace(tzinfo=UTC)
    counts = generate(args.dest, sources=args.sources, events_per_source=args.events_per_source,
                      seed=args.seed, base_url=args.base_url, now=now, profiles=args.profiles)
    json.dump(counts, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
