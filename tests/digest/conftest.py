"""Fixtures for the digest tests; the scenario itself lives in digest_scenario.py (a module with
a unique name, so that test files can import its helpers whatever other conftest.py files exist)."""

from __future__ import annotations

import pytest
from digest_scenario import make_digest


@pytest.fixture
def digest():
    """The full fixed scenario: profile "ana", week 2026-W07, now Sun 8 Feb 2026 18:00 CET."""
    return make_digest()
