"""`sources add` detects a URL's type and appends it to sources.toml keeping comments; `remove`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sitesrv import SiteServer

from aggregator.cli import cli

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Py</title><link>http://x/</link>
<description>d</description><item><title>Meetup</title><link>http://x/1</link>
<description>Thursday, March 17 at 7:00 PM</description></item></channel></rss>"""
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n"
JSONLD = """<!doctype html><html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Event", "name": "Data Day", "startDate": "2027-03-01T09:00:00+01:00"}
</script></head><body><h1>Data Day</h1></body></html>"""
HOME = """<!doctype html><html><head><title>Group</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>hi</body></html>"""
PLAIN = "<!doctype html><html><head><title>Nothing</title></head><body><p>No events here.</p></body></html>"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("site")
    for name, body in {"feed.xml": RSS, "cal.ics": ICS, "event.html": JSONLD, "index.html": HOME,
                       "plain.html": PLAIN}.items():
        (root / name).write_text(body, encoding="utf-8")
    server = SiteServer(root).start()
    yield server
    server.stop()


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    d.mkdir()
    (d / "sources.toml").write_text("# my sources, keep this comment\n", encoding="utf-8")
    return d


def run(cfg: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--config", str(cfg), "--db", f"sqlite:///{cfg / 'x.db'}", *args])


@pytest.mark.parametrize(("path", "type_", "url_path"), [
    ("/feed.xml", "feed", "/feed.xml"),
    ("/cal.ics", "ical", "/cal.ics"),
    ("/event.html", "page", "/event.html"),
    ("/", "feed", "/feed.xml"),          # autodiscovery through <link rel="alternate">
])
def test_add_detects_the_type(site: SiteServer, cfg: Path, path: str, type_: str, url_path: str) -> None:
    result = run(cfg, "sources", "add", site.origin + path, "--industry", "software")
    assert result.exit_code == 0, result.output
    text = (cfg / "sources.toml").read_text(encoding="utf-8")
    assert text.startswith("# my sources, keep this comment\n"), "the user's comments are kept"
    (source,) = tomllib.loads(text)["source"]
    assert source["type"] == type_ and source["url"] == site.origin + url_path
    assert source["industries"] == ["software"] and source["enabled"] is True
    listed = run(cfg, "sources", "list", "--format", "json")
    assert listed.exit_code == 0 and source["name"] in listed.output


def test_add_refuses_what_it_cannot_read(site: SiteServer, cfg: Path) -> None:
    result = run(cfg, "sources", "add", site.origin + "/plain.html")
    assert result.exit_code == 1
    assert "no feed, calendar or structured event data found" in result.output
    missing = run(cfg, "sources", "add", site.origin + "/nope.xml")
    assert missing.exit_code == 1 and "HTTP 404" in missing.output
    assert "[[source]]" not in (cfg / "sources.toml").read_text(encoding="utf-8"), "nothing was appended"


def test_add_twice_then_remove(site: SiteServer, cfg: Path) -> None:
    assert run(cfg, "sources", "add", site.origin + "/cal.ics", "--name", "club").exit_code == 0
    again = run(cfg, "sources", "add", site.origin + "/cal.ics")
    assert again.exit_code == 1 and "already configured" in again.output
    assert run(cfg, "sources", "remove", "club").exit_code == 0
    assert "source" not in tomllib.loads((cfg / "sources.toml").read_text(encoding="utf-8"))
    gone = run(cfg, "sources", "remove", "club")
    assert gone.exit_code == 1 and "no source named 'club'" in gone.output
