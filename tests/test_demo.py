"""`eventscout demo` end to end: the real command in a child process, offline, for awkward dates."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from helpers import run_cli

ITEM_SECTIONS = (
    "This week's deadlines",
    "Build your support system",
    "New opportunities",
    "Get visible",
)
# no network: any HTTP(S) request would go to a closed port
OFFLINE = {
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "EVENTSCOUT_DB": "",
}


@pytest.mark.parametrize(
    ("now", "week"),
    [
        ("2026-03-01T19:30:00+01:00", "2026-W10"),  # Sunday evening: the week ahead
        ("2026-12-31T15:00:00+00:00", "2026-W53"),  # New Year's Eve: the week of 1 January
        ("2026-06-13T23:30:00+02:00", "2026-W24"),  # Saturday night: the rest of the current week
    ],
    ids=["sunday-evening", "dec-31", "saturday-night"],
)
def test_demo_prints_a_digest_with_items_offline(tmp_path: Path, now: str, week: str) -> None:
    keep = tmp_path / "demo"
    result = run_cli("--now", now, "demo", "--keep", str(keep), env=OFFLINE, timeout=30)
    assert "Traceback" not in result.stdout + result.stderr, f"the demo crashed:\n{result.stderr}"
    assert result.returncode == 0, f"the demo failed (exit {result.returncode}):\n{result.stderr}"
    out = result.stdout
    assert out.startswith(f"Your events for {week}\n"), (
        f"the demo should show the digest of {week}:\n{out[:300]}"
    )
    shown = [
        title
        for title in ITEM_SECTIONS
        if re.search(rf"^{re.escape(title)}\n=+\n\n\* \S", out, re.MULTILINE)
    ]
    assert shown, f"the demo digest should have at least one section with items:\n{out}"
    assert "Nothing new for you" not in out

    sources = tomllib.loads((keep / "sources.toml").read_text(encoding="utf-8"))["source"]
    remote = [s["url"] for s in sources if not s["url"].startswith("file://")]
    assert remote == [], f"the demo must run offline, but these sources are remote: {remote}"
