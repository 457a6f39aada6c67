"""The offline gazetteer: place names to coordinates, and haversine distances."""

from __future__ import annotations

import pytest

from aggregator import geo


@pytest.mark.parametrize(
    ("text", "name", "country"),
    [
        ("Berlin, DE", "Berlin", "DE"),
        ("Seattle, US", "Seattle", "US"),
        ("Mexico City, MX", "Mexico City", "MX"),
        ("Ciudad de México, Mexico", "Mexico City", "MX"),   # alternate name, accent, country name
        ("Bellevue, WA, US", "Bellevue", "US"),
        ("Westlands, Nairobi", "Nairobi", "KE"),             # unknown suburb, known city
        ("Dublin, Ireland", "Dublin", "IE"),
    ],
)
def test_find_place_resolves_city_and_country(text: str, name: str, country: str) -> None:
    place = geo.find_place(text)
    assert place is not None, f"{text!r} was not found in the gazetteer"
    assert (place.name, place.country) == (name, country)


def test_same_name_resolves_inside_the_given_country_and_region() -> None:
    dublin_us = geo.find_place("Dublin", "US")
    assert dublin_us is not None and dublin_us.country == "US"
    bellevue = geo.find_place("Bellevue, WA, US")
    assert bellevue is not None and bellevue.timezone == "America/Los_Angeles", (
        "Bellevue, WA should be the Washington city, not another Bellevue")


def test_locate_returns_coordinates_or_none() -> None:
    assert geo.locate("Berlin, DE") == pytest.approx((52.52437, 13.41053), abs=1e-4)
    assert geo.locate("Nowhere-upon-Nothing, ZZ") is None
    assert geo.locate("") is None
    assert geo.country_code("Germany") == "DE"
    assert geo.country_code("DEU") == "DE"


def test_distance_km_is_haversine() -> None:
    seattle = geo.locate("Seattle, US")
    redmond = geo.locate("Redmond", "US")
    assert seattle and redmond
    assert geo.distance_km(seattle, redmond) == pytest.approx(17.5, abs=0.5)
    assert geo.distance_km((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111.19, abs=0.01)
    assert geo.distance_km(seattle, seattle) == 0.0
