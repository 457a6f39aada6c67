"""Output safety end to end (tests/digest covers the renderers on hand-made digests; here the
hostile text comes through a real collect): no markup, no unsafe links, no header injection;
the SMTP password never shows in output, errors or logs; --log-file has one line per source."""

from __future__ import annotations

import re
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import lxml.html
import pytest
from rel_helpers import ROOT
from sitesrv import free_port

NOW = "2027-01-31T09:00:00Z"   # a Sunday: the digest is for 2027-W05 (1-7 Feb)
SECRET = "pw-S3cr3t-9b1f2e-never-print"
PASSWORD_ENV = "ES_RELIABILITY_SMTP_PASSWORD"

HOSTILE_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel>
<title>Hostile</title><link>https://hostile.example/</link><description>x</description>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Python Evil Meetup&#13;&#10;Bcc: victim@evil.example</title>
<link>javascript:alert(2)</link><guid>evil-1</guid>
<description>&lt;a href="data:text/html;base64,PHNjcmlwdD4="&gt;Python click&lt;/a&gt;
&lt;img src=x onerror=alert(3)&gt;&lt;iframe src="https://evil.example/"&gt;&lt;/iframe&gt;</description>
<ev:startdate>2027-02-03T18:00:00+01:00</ev:startdate>
<ev:location>&lt;b onmouseover=alert(4)&gt;Berlin&lt;/b&gt;</ev:location>
</item>
<item><title>Python Data URL Workshop</title><link>data:text/html,&lt;script&gt;alert(5)&lt;/script&gt;</link>
<guid>evil-2</guid><description>Python</description><ev:startdate>2027-02-04T18:00:00+01:00</ev:startdate></item>
<item><title>Python Good Meetup</title><link>https://good.example/meetup</link><guid>good-1</guid>
<description>Python</description><ev:startdate>2027-02-05T18:00:00+01:00</ev:startdate></item>
</channel></rss>
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("outsafety")
    feed = tmp / "hostile.xml"
    feed.write_text(HOSTILE_FEED, encoding="utf-8")
    cfg = tmp / "config"
    cfg.mkdir()
    (cfg / "eventscout.toml").write_text(
        '[digest]\ntimezone = "Europe/Berlin"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"\nusername = "digest"\n'
        f'password_env = "{PASSWORD_ENV}"\nfrom = "Digest <d@example.org>"\ntimeout = 5\n', encoding="utf-8")
    (cfg / "sources.toml").write_text(
        f'[[source]]\nname = "hostile-feed"\ntype = "feed"\nurl = "{feed.as_uri()}"\ncity = "Berlin"\n'
        f'country = "DE"\ntimezone = "Europe/Berlin"\n\n'
        f'[[source]]\nname = "missing-file"\ntype = "ical"\nurl = "{(tmp / "absent.ics").as_uri()}"\n',
        encoding="utf-8")
    (cfg / "profiles.toml").write_text(
        '[[profile]]\nname = "ana"\nemail = "ana@example.org"\ninterests = ["python", "meetup"]\n'
        'location = "Berlin, DE"\nradius_km = 50\ntimezone = "Europe/Berlin"\n', encoding="utf-8")
    db = f"sqlite:///{tmp / 'out.db'}"
    log = tmp / "collect.log"
    collected = cli(cfg, db, "--log-file", str(log), "collect")
    return {"tmp": tmp, "cfg": cfg, "db": db, "collect": collected, "collect_log": log}


def cli(cfg: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aggregator", "--config", str(cfg), "--db", db, "--now", NOW,
                           *args], capture_output=True, text=True, cwd=ROOT, timeout=180,
                          env={**__import__("os").environ, PASSWORD_ENV: SECRET})


def cli_bytes(cfg: Path, db: str, *args: str) -> bytes:
    res = subprocess.run([sys.executable, "-m", "aggregator", "--config", str(cfg), "--db", db, "--now", NOW,
                          *args], capture_output=True, cwd=ROOT, timeout=180)
    assert res.returncode == 0, f"`{' '.join(args)}` failed: {res.stderr.decode(errors='replace')}"
    return res.stdout


def test_collect_log_file_has_one_line_per_source_outcome(setup) -> None:  # type: ignore[no-untyped-def]
    assert setup["collect"].returncode == 3, setup["collect"].stderr
    lines = setup["collect_log"].read_text(encoding="utf-8").splitlines()
    outcomes = [ln for ln in lines if re.search(r" source [a-z0-9-]+: (ok|failed)", ln)]
    assert len(outcomes) == 2, "expected one outcome line per source (2), the log has:\n" + "\n".join(lines)
    assert any(re.search(r"INFO .*source hostile-feed: ok, 3 events$", ln) for ln in outcomes), outcomes
    assert any(re.search(r"source missing-file: failed: no such file: .*absent\.ics$", ln) for ln in outcomes), \
        outcomes
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", ln) for ln in outcomes), "log lines need a timestamp"


def test_html_digest_from_hostile_source_has_no_markup_or_unsafe_links(setup) -> None:  # type: ignore[no-untyped-def]
    html = cli_bytes(setup["cfg"], setup["db"], "digest", "--profile", "ana", "--format", "html").decode()
    doc = lxml.html.document_fromstring(html)
    text = doc.text_content()
    assert "Python Evil Meetup" in text and "Python Good Meetup" in text, \
        "the hostile events should be in the digest (as text), or this test checks nothing"
    tags = {el.tag for el in doc.iter() if isinstance(el.tag, str)}
    assert not tags & {"script", "img", "iframe", "svg", "object", "embed"}, f"source markup became HTML: {tags}"
    handlers = [(el.tag, a) for el in doc.iter() for a in el.attrib if a.lower().startswith("on")]
    assert handlers == [], f"event-handler attributes in the digest: {handlers}"
    hrefs = [a.get("href") or "" for a in doc.iter("a")]
    assert not [h for h in hrefs if not h.startswith(("https://", "http://"))], f"unsafe links: {hrefs}"
    assert "https://good.example/meetup" in hrefs


def test_eml_digest_from_hostile_source_has_no_injected_header(setup) -> None:  # type: ignore[no-untyped-def]
    raw = cli_bytes(setup["cfg"], setup["db"], "digest", "--profile", "ana", "--format", "eml")
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert not re.search(r"^(bcc|cc):", head, re.I | re.M), f"a header was injected:\n{head}"
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["To"] == "ana@example.org"
    assert all("\r" not in str(v) and "\n" not in str(v) for v in msg.values())
    html = msg.get_body(("html",)).get_content()
    assert "javascript:" not in html.lower() and "data:text" not in html.lower()
    plain = msg.get_body(("plain",)).get_content()
    assert "javascript:" not in plain.lower() and "data:text" not in plain.lower()


def test_smtp_password_never_appears_when_sending_fails(setup) -> None:  # type: ignore[no-untyped-def]
    res = cli(setup["cfg"], setup["db"], "-vv", "digest", "--profile", "ana", "--send")
    assert res.returncode == 1, f"sending to a closed port must fail with exit 1: {res.stdout}{res.stderr}"
    assert "error:" in res.stderr and "refused" in res.stderr.lower(), res.stderr
    assert SECRET not in res.stdout + res.stderr, "the SMTP password was printed"


def test_smtp_password_never_reaches_the_run_log(setup) -> None:  # type: ignore[no-untyped-def]
    log = setup["tmp"] / "run.log"
    res = cli(setup["cfg"], setup["db"], "-vv", "--log-file", str(log), "run")
    assert res.returncode in (1, 3), f"run with a failing send exits 1 or 3, not {res.returncode}: {res.stderr}"
    text = log.read_text(encoding="utf-8")
    assert SECRET not in text, "the SMTP password is in the --log-file"
    assert SECRET not in res.stdout + res.stderr, "the SMTP password was printed by `run -vv`"
    assert re.search(r"source hostile-feed: ok", text) and re.search(r"source missing-file: failed", text)
    assert re.search(r"digest for ana failed: .*refused", text), f"the failed send is not logged:\n{text}"
