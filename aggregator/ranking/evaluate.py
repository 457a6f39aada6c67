"""Measuring ranking quality against graded judgments (the shared eval set), used by
bench/rank_eval.py and tests/ranking/.

The eval folder (env ``EVENTSCOUT_EVAL``) holds ``expected.json`` (the ground-truth events),
``judgments.json`` (``profiles.<name>.<event key>`` -> grade 0..3), ``config/profiles.toml`` and
``site/`` (the pages, read here only for event descriptions).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aggregator.config_types import Industry, Profile

# the industry slugs of SPEC.md, used when no taxonomy file is available
DEFAULT_SLUGS = {
    "software": "Software", "data": "Data & AI", "security": "Security",
    "cloud": "Cloud & DevOps", "design": "Design & UX", "product": "Product",
    "marketing": "Marketing", "sales": "Sales", "finance": "Finance", "fintech": "Fintech",
    "healthcare": "Healthcare", "biotech": "Biotech & life sciences", "education": "Education",
    "legal": "Legal", "energy": "Energy & climate", "manufacturing": "Manufacturing",
    "real-estate": "Real estate", "media": "Media & journalism", "nonprofit": "Nonprofit",
    "government": "Government & civic", "hr": "HR & people", "retail": "Retail & e-commerce",
    "hospitality": "Hospitality",
}


def ndcg_at_k(ranked_keys: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with gains 2^grade - 1; keys without a grade count as 0."""
    dcg = sum((2 ** grades.get(key, 0) - 1) / math.log2(i + 2)
              for i, key in enumerate(ranked_keys[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 1.0


def taxonomy_from_toml(data: Mapping[str, Any]) -> dict[str, Industry]:
    """Industries from parsed TOML: ``[slug]`` / ``[industry.slug]`` tables or ``[[industry]]``."""
    tables: dict[str, Mapping[str, Any]] = {}
    source = data.get("industry", data.get("industries", data))
    if isinstance(source, list):
        tables = {str(t.get("slug")): t for t in source if isinstance(t, Mapping)}
    elif isinstance(source, Mapping):
        tables = {k: v for k, v in source.items() if isinstance(v, Mapping)}
    return {
        slug: Industry(slug=slug, label=str(t.get("label") or slug),
                       keywords=list(t.get("keywords") or []),
                       synonyms=list(t.get("synonyms") or []), parent=t.get("parent"))
        for slug, t in tables.items()
    }


def default_taxonomy() -> dict[str, Industry]:
    """The shipped taxonomy (aggregator/data/industries.toml) or, without it, the bare slugs."""
    try:
        from aggregator.config import default_industries
    except ImportError:
        pass
    else:
        return default_industries()
    path = Path(__file__).resolve().parent.parent / "data" / "industries.toml"
    if path.is_file():
        found = taxonomy_from_toml(tomllib.loads(path.read_text(encoding="utf-8")))
        if found:
            return found
    out = {slug: Industry(slug=slug, label=label) for slug, label in DEFAULT_SLUGS.items()}
    out["fintech"].parent = "finance"
    return out


def load_profiles(path: Path) -> list[Profile]:
    names = {f.name for f in fields(Profile)}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Profile(**{k: v for k, v in p.items() if k in names}) for p in data["profile"]]


def _page_text(site: Path, url: str) -> str:
    """The description of an event page of the eval site (plain text), or ''."""
    import lxml.html

    rel = url.replace("{BASE}/", "").split("#")[0]
    path = site / rel
    if path.is_dir() or not path.suffix:
        path = path / "index.html"
    if not path.is_file():
        return ""
    doc = lxml.html.fromstring(path.read_bytes())
    nodes = doc.cssselect(".description") or doc.cssselect("main") or [doc]
    for node in nodes:
        for h1 in node.cssselect("h1"):
            h1.drop_tree()
    return " ".join(" ".join(n.text_content().split()) for n in nodes)


def _when(value: str | None) -> datetime | date | None:
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class EvalSet:
    events: list[dict]
    profiles: list[Profile]
    judgments: dict[str, dict[str, int]]
    window: tuple[datetime, datetime]
    now: datetime


def load_eval(root: Path, *, descriptions: bool = True) -> EvalSet:
    """Event dicts (docs/design.md shape) built from expected.json, plus profiles and grades."""
    expected = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    judgments = json.loads((root / "judgments.json").read_text(encoding="utf-8"))["profiles"]
    group_of_source = {s: g["name"] for g in expected.get("groups", []) for s in g["sources"]}
    events = []
    for e in expected["events"]:
        url = e["urls"][0]
        events.append({
            "id": e["key"], "title": e["title"],
            "description": _page_text(root / "site", url) if descriptions else "",
            "url": url, "urls": list(e["urls"]),
            "start": _when(e.get("start_local") or e["start_utc"]),
            "end": _when(e.get("end_local") or e.get("end_utc")),
            "timezone": e.get("timezone"), "all_day": e.get("all_day", False),
            "venue": None, "city": e.get("city"), "country": e.get("country"),
            "online": e.get("online"), "kinds": list(e.get("kinds") or []),
            "goals": list(e.get("goals") or []), "industries": list(e.get("industries") or []),
            "tags": [], "status": e.get("status"), "price": e.get("price"),
            "currency": e.get("currency"), "organizer": e.get("organizer"),
            "group": next((group_of_source[s] for s in e["sources"] if s in group_of_source),
                          None),
            "cfp_deadline": _when(e.get("cfp_deadline")), "sources": list(e["sources"]),
            "language": e.get("language"), "latitude": None, "longitude": None,
            "changes": [],
        })
    window = (_when(expected["window"]["from"]), _when(expected["window"]["to"]))
    return EvalSet(
        events=events, profiles=load_profiles(root / "config" / "profiles.toml"),
        judgments=judgments, window=window,  # type: ignore[arg-type]
        now=_when(expected["now"]),  # type: ignore[arg-type]
    )
