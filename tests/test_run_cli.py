"""`eventscout run`, the cron job, end to end: the real command in a child process, an iCal source
served on loopback, a real SMTP server (aiosmtpd) on a random loopback port, and the run lock held
by a real second process."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from helpers import ROOT, run_cli
from sitesrv import SiteServer, free_port

controller_mod = pytest.importorskip(
    "aiosmtpd.controller", reason="aiosmtpd (in the test extras) runs the loopback SMTP server"
)

NOW = "2027-02-07T18:00:00Z"  # Sunday evening: the digests are for 2027-W06
LATER = "2027-02-07T19:00:00Z"
SENDER = "Event Digest <digest@example.org>"

CALENDAR = """\
BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//run//EN\r
BEGIN:VEVENT\r
UID:py-meetup@run.example\r
DTSTAMP:20270101T000000Z\r
SUMMARY:Python Meetup Berlin: Async in Practice\r
DTSTART;TZID=Europe/Berlin:20270210T190000\r
DTEND;TZID=Europe/Berlin:20270210T210000\r
LOCATION:Factory Berlin\\, Berlin\r
URL:https://run.example/py-meetup\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:ux-fair@run.example\r
DTSTAMP:20270101T000000Z\r
SUMMARY:UX Design Career Fair Berlin\r
DTSTART;TZID=Europe/Berlin:20270212T100000\r
DTEND;TZID=Europe/Berlin:20270212T160000\r
LOCATION:Kulturbrauerei\\, Berlin\r
URL:https://run.example/ux-fair\r
END:VEVENT\r
END:VCALENDAR\r
"""

PROFILES = """\
[[profile]]
name = "ana"
email = "ana@example.org"
interests = ["python"]
industries = ["software"]
location = "Berlin, DE"
radius_km = 50

[[profile]]
name = "ben"
email = "ben@example.org"
interests = ["ux", "design"]
industries = ["design"]
location = "Berlin, DE"
radius_km = 50

[[profile]]
name = "carl"
interests = ["python"]
"""


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, str, int, SiteServer]]:
    """(config dir, database URL, SMTP port, the site server)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "py.ics").write_text(CALENDAR, encoding="utf-8", newline="")
    server = SiteServer(site).start()
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    smtp_port = free_port()
    (cfg / "eventscout.toml").write_text(
        '[crawl]\nuser_agent = "eventscout-test/0.1 (+mailto:test@example.org)"\n'
        "obey_robots = false\n"
        '[digest]\ntimezone = "Europe/Berlin"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\nfrom = "{SENDER}"\n'
        "timeout = 5\n",
        encoding="utf-8",
    )
    (cfg / "sources.toml").write_text(
        f'[[source]]\nname = "berlin-events"\ntype = "ical"\nurl = "{server.origin}/py.ics"\n'
        'city = "Berlin"\ncountry = "DE"\ntimezone = "Europe/Berlin"\n',
        encoding="utf-8",
    )
    (cfg / "profiles.toml").write_text(PROFILES, encoding="utf-8")
    try:
        yield cfg, f"sqlite:///{tmp_path / 'es.db'}", smtp_port, server
    finally:
        server.stop()


def eventscout(cfg: Path, db: str, now: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("--config", str(cfg), "--db", db, "--now", now, *args)


HOLDER = """
import sys, time
from aggregator.lock import RunLock
lock = RunLock(sys.argv[1]).__enter__()
print("locked", flush=True)
time.sleep(120)
"""


def test_run_exits_4_while_the_lock_is_held_then_takes_over_a_stale_lock(
    setup, tmp_path: Path
) -> None:
    cfg, db, _port, _server = setup
    out = tmp_path / "digests"
    same_db = db.replace(
        "sqlite:///", "sqlite+pysqlite:///"
    )  # another spelling of the same database
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, same_db], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked", (
            "the helper process could not take the run lock"
        )
        blocked = eventscout(cfg, db, NOW, "run", "--skip-collect", "--dry-run", "--out", str(out))
        assert blocked.returncode == 4, (
            f"a second run must exit 4 while the lock is held, got "
            f"{blocked.returncode}:\n{blocked.stderr}"
        )
        lines = blocked.stderr.strip().splitlines()
        assert (
            len(lines) == 1
            and lines[0].startswith("error: another eventscout run holds ")
            and lines[0].endswith(f"(pid {holder.pid})")
        ), f"expected one clear line, got:\n{blocked.stderr}"
        assert not out.exists() or list(out.iterdir()) == [], (
            "a locked-out run must not write anything"
        )
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # dies holding the lock: its lock file stays behind
        holder.wait(timeout=10)

    taken = eventscout(cfg, db, NOW, "run", "--skip-collect", "--dry-run", "--out", str(out))
    assert taken.returncode == 0, f"the lock of a killed run should be taken over:\n{taken.stderr}"
    assert taken.stdout.strip().splitlines()[-1] == "digests: 2 written, 0 already sent, 0 failed"
    files = sorted(p.name for p in out.iterdir())
    assert files == ["ana-2027-W06.eml", "ben-2027-W06.eml"], (
        f"one .eml per profile with an email (carl has none), got {files}"
    )
    for name, to in (("ana", "ana@example.org"), ("ben", "ben@example.org")):
        msg = email.message_from_bytes(
            (out / f"{name}-2027-W06.eml").read_bytes(), policy=email.policy.default
        )
        assert msg["To"] == to and msg["From"] == SENDER
        assert msg["Subject"] == "Your events for 2027-W06: nothing new", (
            "with --skip-collect on an empty database the digest is empty"
        )
        types = [p.get_content_type() for p in msg.walk()]
        assert types == [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "text/calendar",
        ]


def test_cron_run_collects_then_mails_every_profile_once(setup) -> None:
    cfg, db, port, server = setup
    inbox = Inbox()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        first = eventscout(cfg, db, NOW, "run")
        second = eventscout(cfg, db, LATER, "run")
    finally:
        controller.stop()
    assert first.returncode == 0, f"the cron run failed (exit {first.returncode}):\n{first.stderr}"
    assert first.stdout.strip().splitlines()[-1] == "digests: 2 sent, 0 already sent, 0 failed", (
        first.stdout
    )
    by_recipient = {str(m["To"]): m for m in inbox.messages[:2]}
    assert sorted(by_recipient) == ["ana@example.org", "ben@example.org"]
    ana_text = by_recipient["ana@example.org"].get_body(("plain",)).get_content()
    ben_text = by_recipient["ben@example.org"].get_body(("plain",)).get_content()
    assert "Python Meetup Berlin: Async in Practice" in ana_text, (
        "ana (python) should get the Python meetup"
    )
    assert "UX Design Career Fair Berlin" in ben_text, (
        "ben (UX, design) should get the UX career fair"
    )
    ics = next(
        p for p in by_recipient["ana@example.org"].walk() if p.get_content_type() == "text/calendar"
    )
    entries = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")
    summaries = [str(ev["SUMMARY"]) for ev in entries]
    assert "Python Meetup Berlin: Async in Practice" in summaries, f"ana's .ics holds {summaries}"
    assert all(title in ana_text for title in summaries), "the .ics holds what the mail lists"

    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == "digests: 0 sent, 2 already sent, 0 failed", (
        "an hour later the week's digests were sent already"
    )
    assert len(inbox.messages) == 2, "the second run must not mail anyone again"
    assert [r for r in server.requests() if "/py.ics" in r] == [
        "GET /py.ics 200",
        "GET /py.ics 304",
    ], "the second run should fetch the unchanged calendar with a conditional request (304)"
