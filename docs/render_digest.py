#!/usr/bin/env python3
"""Render the HTML digest of the demo and screenshot it to docs/digest.png (the README's picture).

    python docs/render_digest.py [--now 2027-01-31T19:00:00Z] [--out docs/digest.png] [--keep DIR]

Steps: materialise the bundled demo sources for ``--now`` (a fixed instant by default, so the
picture only changes when the digest does), `eventscout collect`, `eventscout digest --format
html`, then headless Chromium takes a 900 px wide screenshot of that file. Needs a Chromium
(`apt-get install -y chromium`); everything else is offline.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOW = "2027-01-31T19:00:00Z"  # a Sunday evening: the digest of the week ahead
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no Chromium found: install it (apt-get install -y chromium) or put it on PATH")


def eventscout(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", *args], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode not in (0, 3):
        sys.exit(f"eventscout {' '.join(args)} failed (exit {result.returncode}):\n{result.stderr}")
    return result


def render_html(folder: Path, now: str) -> Path:
    sys.path.insert(0, str(ROOT))
    from aggregator.demo import PROFILE_NAME, materialize

    instant = datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
    cfg = materialize(folder, instant)
    base = ("--config", str(cfg), "--now", instant.isoformat())
    eventscout(*base, "-q", "collect")
    page = folder / "digest.html"
    eventscout(*base, "digest", "--profile", PROFILE_NAME, "--format", "html", "--out", str(page))
    return page


def chromium(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="eventscout-chromium-") as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


MEASURE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="d" style="width:{width}px;height:100px;border:0" srcdoc="{doc}"></iframe>
<script>
document.getElementById("d").onload = function () {{
  var el = this.contentDocument.documentElement;
  document.body.setAttribute("data-height", String(el.scrollHeight));
}};
</script></body></html>"""


def content_height(page: Path, browser: str, width: int) -> int | None:
    """The digest's height in pixels at ``width`` (a helper page measures it in an iframe)."""
    helper = page.with_name("measure.html")
    helper.write_text(
        MEASURE.format(width=width, doc=html.escape(page.read_text(encoding="utf-8"))),
        encoding="utf-8",
    )
    result = chromium(browser, "--virtual-time-budget=5000", "--dump-dom", helper.as_uri())
    found = re.search(r'data-height="(\d+)"', result.stdout)
    return int(found.group(1)) if found else None


def screenshot(page: Path, out: Path, browser: str, width: int = 900, height: int = 2400) -> None:
    measured = content_height(page, browser, width)
    if measured:  # no empty band below the digest; never taller than asked
        height = min(height, measured)
    result = chromium(
        browser, f"--screenshot={out}", f"--window-size={width},{height}", page.as_uri()
    )
    if result.returncode != 0 or not out.is_file():
        sys.exit(
            f"Chromium could not take the screenshot (exit {result.returncode}):\n"
            f"{result.stderr[-2000:]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--now", default=DEFAULT_NOW, help=f"the demo's instant (default {DEFAULT_NOW})"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest.png")
    parser.add_argument(
        "--keep", type=Path, help="keep the demo folder (config, database, digest.html) here"
    )
    parser.add_argument("--height", type=int, default=2400, help="window height in pixels")
    args = parser.parse_args()

    browser = find_browser()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        page = render_html(args.keep, args.now)
        screenshot(page, args.out.resolve(), browser, height=args.height)
    else:
        with tempfile.TemporaryDirectory(prefix="eventscout-render-") as tmp:
            page = render_html(Path(tmp), args.now)
            screenshot(page, args.out.resolve(), browser, height=args.height)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) from the demo digest at {args.now}")


if __name__ == "__main__":
    main()
