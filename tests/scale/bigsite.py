"""A generated loopback site for the scale tests and bench/scale.py: `sources` listing pages,
each linking (`follow = "a.event"`) to `per_source` event pages with schema.org JSON-LD.

Every event has its own start (three hours apart), so no two are the same real-world event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
TOPICS = ["Python", "Data Engineering", "Cloud Security", "Product Design", "Fintech", "Robotics",
          "Climate Tech", "Open Source", "Machine Learning", "DevOps"]
CITIES = [("Berlin", "DE"), ("Lisbon", "PT"), ("Vienna", "AT"), ("Madrid", "ES"), ("Oslo", "NO")]


def source_name(s: int) -> str:
    return f"site-{s:02d}"


def event_path(s: int, j: int) -> str:
    return f"/{source_name(s)}/event-{j:03d}.html"


def build_site(root: Path, sources: int = 20, per_source: int = 100) -> list[str]:
    """Write the site under root; returns the paths of every page (listings and events)."""
    pages = []
    for s in range(sources):
        folder = root / source_name(s)
        folder.mkdir(parents=True, exist_ok=True)
        links = []
        for j in range(per_source):
            n = s * per_source + j
            start = NOW + timedelta(days=1, hours=3 * n)
            city, country = CITIES[n % len(CITIES)]
            title = f"{TOPICS[n % len(TOPICS)]} Evening No. {n:04d}"
            data = {"@context": "https://schema.org", "@type": "Event", "name": title,
                    "startDate": start.isoformat(), "endDate": (start + timedelta(hours=2)).isoformat(),
                    "description": f"Talks and networking about {TOPICS[n % len(TOPICS)]}.",
                    "location": {"@type": "Place", "name": f"Hall {n % 7}",
                                 "address": {"@type": "PostalAddress", "addressLocality": city,
                                             "addressCountry": country}}}
            (folder / f"event-{j:03d}.html").write_text(
                f"<!DOCTYPE html><html><head><title>{title}</title>"
                f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
                f"<body><h1>{title}</h1></body></html>", encoding="utf-8")
            links.append(f'<li><a class="event" href="event-{j:03d}.html">{title}</a></li>')
            pages.append(event_path(s, j))
        (folder / "index.html").write_text(
            f"<!DOCTYPE html><html><head><title>Listing {s}</title></head><body><ul>"
            + "".join(links) + "</ul></body></html>", encoding="utf-8")
        pages.append(f"/{source_name(s)}/index.html")
    return pages


def write_config(folder: Path, origin: str, sources: int = 20, concurrency: int = 16) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eventscout.toml").write_text(
        f'[crawl]\nconcurrency = {concurrency}\nuser_agent = "eventscout-scale-test/0.1"\n', encoding="utf-8")
    (folder / "sources.toml").write_text("".join(
        f'[[source]]\nname = "{source_name(s)}"\ntype = "page"\nurl = "{origin}/{source_name(s)}/index.html"\n'
        f'follow = "a.event"\n\n' for s in range(sources)), encoding="utf-8")
    (folder / "profiles.toml").write_text("", encoding="utf-8")
    return folder
