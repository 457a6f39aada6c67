"""`eventscout digest --send` end to end: the real command in a child process, sources served on
loopback, and a real SMTP server (aiosmtpd) on a random loopback port that records what it gets.

The calendar of the scenario (the profile's timezone is Europe/Berlin):
  week N   = 2027-W06 (Mon 8 - Sun 14 Feb), sent on Sun 7 Feb 19:00
  week N+1 = 2027-W07 (Mon 15 - Sun 21 Feb), sent on Sun 14 Feb 19:00
"""

from __future__ import annotations

import email
import email.policy
import html.parser
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from helpers import run_cli
from sitesrv import SiteServer, free_port

controller_mod = pytest.importorskip(
    "aiosmtpd.controller", reason="aiosmtpd (in the test extras) runs the loopback SMTP server"
)
smtp_mod = pytest.importorskip("aiosmtpd.smtp")

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

NOW_N = "2027-02-07T18:00:00Z"  # Sunday evening before week N
NOW_N_LATER = "2027-02-07T18:20:00Z"  # the same evening, 20 minutes later (a forced resend)
NOW_N1 = "2027-02-14T18:00:00Z"  # Sunday evening before week N+1
SENDER = "Event Digest <digest@example.org>"
RECIPIENT = "ana@example.org"
PASSWORD_ENV = "EVENTSCOUT_TEST_SMTP_PASSWORD"
PASSWORD = "pw-Zq8!never-print-me"

# --------------------------------------------------------------------------- sources

GROUP = "Python Berlin User Group"
A_TITLE = "Python Meetup Berlin: Packaging in 2027"  # Thu 11 Feb; moved to Tue 16 Feb in v2
B_TITLE = "Python Study Group: Type Hints"  # Sat 13 Feb; unchanged
E_TITLE = "Python Late Night Hack"  # Sun 14 Feb 20:00; cancelled in v2
F_TITLE = "Python Testing Night"  # Thu 18 Feb (week N+1); unchanged
CONF_TITLE = "PyData Summit Europe 2027"  # April; call for speakers closes Wed 17 Feb


def vevent(
    uid: str, title: str, start: str, end: str, *, sequence: int = 0, status: str = "CONFIRMED"
) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\nSEQUENCE:{sequence}\r\n"
        f"SUMMARY:{title}\r\nDTSTART;TZID=Europe/Berlin:{start}\r\nDTEND;TZID=Europe/Berlin:{end}\r\n"
        f"LOCATION:Factory Berlin\\, Rheinsberger Str. 76\\, Berlin\r\nSTATUS:{status}\r\n"
        f"URL:https://py-berlin.example/events/{uid.split('@')[0]}\r\n"
        f"DESCRIPTION:Talks and pairing for Python developers.\r\nEND:VEVENT\r\n"
    )


def calendar(version: int) -> str:
    moved = version == 2
    events = [
        vevent(
            "a@py-berlin.example",
            A_TITLE,
            "20270216T190000" if moved else "20270211T190000",
            "20270216T210000" if moved else "20270211T210000",
            sequence=1 if moved else 0,
        ),
        vevent("b@py-berlin.example", B_TITLE, "20270213T140000", "20270213T170000"),
        vevent(
            "e@py-berlin.example",
            E_TITLE,
            "20270214T200000",
            "20270214T230000",
            sequence=1 if moved else 0,
            status="CANCELLED" if moved else "CONFIRMED",
        ),
        vevent("f@py-berlin.example", F_TITLE, "20270218T190000", "20270218T210000"),
    ]
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//py-berlin//test//EN\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    )


CONFERENCES = [
    {
        "name": CONF_TITLE,
        "link": "https://pydata-summit.example/2027",
        "starts_at": "2027-04-20T09:00:00+02:00",
        "ends_at": "2027-04-21T18:00:00+02:00",
        "city": "Berlin",
        "country": "DE",
        "category": "Conference",
        "price": "Free",
        "cfp": "2027-02-17T23:59:00+01:00",
        "summary": "Python and data science conference.",
    }
]

SOURCES = """\
[[source]]
name = "py-berlin"
type = "ical"
url = "{origin}/py-berlin.ics"
group = "Python Berlin User Group"
industries = ["software"]
tags = ["python"]
city = "Berlin"
country = "DE"
timezone = "Europe/Berlin"

[[source]]
name = "confs"
type = "json"
url = "{origin}/confs.json"
industries = ["software"]
timezone = "Europe/Berlin"
[source.fields]
title = "name"
url = "link"
start = "starts_at"
end = "ends_at"
city = "city"
country = "country"
kind = "category"
price = "price"
cfp_deadline = "cfp"
description = "summary"
"""

PROFILES = f"""\
[[profile]]
name = "ana"
email = "{RECIPIENT}"
interests = ["python", "data science"]
industries = ["software", "data"]
location = "Berlin, DE"
radius_km = 50
online = true
timezone = "Europe/Berlin"
"""


# --------------------------------------------------------------------------- SMTP


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message) per DATA."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [m for _, m in self.received]


def refuse_every_login(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    return smtp_mod.AuthResult(success=False, handled=False)


def start_smtp(port: int, *, refuse_login: bool = False):  # type: ignore[no-untyped-def]
    inbox = Inbox()
    kwargs = (
        {"authenticator": refuse_every_login, "auth_required": True, "auth_require_tls": False}
        if refuse_login
        else {}
    )
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    port = free_port()
    controller, inbox = start_smtp(port)
    try:
        yield port, inbox
    finally:
        controller.stop()


# --------------------------------------------------------------------------- the setup


class Setup:
    def __init__(
        self, root: Path, origin: str, smtp_port: int, username: str | None = None
    ) -> None:
        self.root = root
        self.site = root / "site"
        self.cfg = root / "cfg"
        self.cfg.mkdir(exist_ok=True)
        self.db_path = root / "es.db"
        self.db = f"sqlite:///{self.db_path}"
        login = f'username = "{username}"\n' if username else ""
        (self.cfg / "eventscout.toml").write_text(
            '[crawl]\nuser_agent = "eventscout-test/0.1 (+mailto:test@example.org)"\n'
            "obey_robots = false\n"
            '[digest]\ntimezone = "Europe/Berlin"\n'
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n{login}'
            f'password_env = "{PASSWORD_ENV}"\nfrom = "{SENDER}"\ntimeout = 5\n',
            encoding="utf-8",
        )
        (self.cfg / "sources.toml").write_text(SOURCES.format(origin=origin), encoding="utf-8")
        (self.cfg / "profiles.toml").write_text(PROFILES, encoding="utf-8")

    def cli(self, now: str, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return run_cli("--config", str(self.cfg), "--db", self.db, "--now", now, *args, env=env)

    def collect(self, now: str) -> None:
        result = self.cli(now, "collect")
        assert result.returncode == 0, (
            f"collect failed (exit {result.returncode}):\n{result.stderr}"
        )

    def sent_rows(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute("select profile, week from sent_digests order by id").fetchall()


def write_site(site: Path, version: int, extra: dict[str, bytes] | None = None) -> None:
    site.mkdir(exist_ok=True)
    files = {
        "py-berlin.ics": calendar(version).encode(),
        "confs.json": json.dumps(CONFERENCES).encode(),
        **(extra or {}),
    }
    # later versions get a later mtime: the server answers If-Modified-Since by whole seconds
    stamp = time.time() + 60 * version
    for name, data in files.items():
        path = site / name
        path.write_bytes(data)
        os.utime(path, (stamp, stamp))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteServer]:
    folder = tmp_path / "site"
    write_site(folder, 1)
    server = SiteServer(folder).start()
    try:
        yield server
    finally:
        server.stop()


def parts(msg: EmailMessage) -> dict[str, EmailMessage]:
    return {p.get_content_type(): p for p in msg.walk() if not p.is_multipart()}


def section_titles(digest_json: dict) -> dict[str, list[str]]:  # type: ignore[type-arg]
    return {
        s["key"]: [i.get("title") or i.get("name") for i in s["items"]]
        for s in digest_json["sections"]
    }


# --------------------------------------------------------------------------- tests


def test_send_delivers_text_html_and_ics_once_and_force_sends_again(
    tmp_path: Path, site: SiteServer, smtp
) -> None:
    port, inbox = smtp
    s = Setup(tmp_path, site.origin, port)
    s.collect(NOW_N)

    first = s.cli(NOW_N, "digest", "--profile", "ana", "--send")
    assert first.returncode == 0, f"the first --send failed:\n{first.stderr}"
    assert (
        first.stdout.strip() == f"ana: sent 2027-W06 to {RECIPIENT} (3 picks, 1 deadline, 1 group)"
    )
    assert len(inbox.received) == 1, "the SMTP server should have received exactly one message"
    rcpts, msg = inbox.received[0]
    assert rcpts == [RECIPIENT]
    assert msg["Subject"] == "Your events for 2027-W06: 3 picks, 1 deadline, 1 group"
    assert msg["From"] == SENDER and msg["To"] == RECIPIENT
    assert msg["Date"] == "Sun, 07 Feb 2027 18:00:00 +0000"
    assert msg["Message-ID"] == "<eventscout.ana.2027-W06.digest@example.org>", "one id per profile and week"
    assert msg["List-Unsubscribe"] == "<mailto:digest@example.org?subject=unsubscribe%20ana>"

    assert msg.get_content_type() == "multipart/mixed"
    alternative = msg.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    by_type = parts(msg)
    text, page = by_type["text/plain"].get_content(), by_type["text/html"].get_content()
    for title in (A_TITLE, B_TITLE, E_TITLE, CONF_TITLE, GROUP):
        assert title in text, f"the plain-text part should list {title!r}"
        assert title in page, f"the HTML part should list {title!r}"
    assert F_TITLE not in text, (
        "an event of the following week does not belong in this week's digest"
    )
    assert "<script" not in page.lower() and "<img" not in page.lower(), (
        "no scripts or images in the mail"
    )

    attachment = by_type["text/calendar"]
    assert attachment.get_filename() == "eventscout-2027-W06.ics"
    cal = icalendar.Calendar.from_ical(attachment.get_content())
    summaries = sorted(str(ev["SUMMARY"]) for ev in cal.walk("VEVENT"))
    assert {A_TITLE, B_TITLE, E_TITLE, CONF_TITLE} <= set(summaries), f"the .ics holds {summaries}"
    assert all(ev.get("UID") for ev in cal.walk("VEVENT")), "every calendar entry needs a UID"

    again = s.cli(NOW_N, "digest", "--profile", "ana", "--send")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "ana: 2027-W06 was sent already (--force sends it again)"
    assert len(inbox.received) == 1, "a second --send for the same week must send nothing"

    forced = s.cli(NOW_N_LATER, "digest", "--profile", "ana", "--send", "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(inbox.received) == 2, "--force should send the week again"
    resent = inbox.messages[1]
    assert resent["Subject"] == msg["Subject"], "a forced resend is the same digest"
    assert resent["Message-ID"] != msg["Message-ID"], "a resend needs its own Message-ID"
    assert s.sent_rows() == [("ana", "2027-W06")], "one record per profile and week"


def test_smtp_down_fails_in_one_line_records_nothing_and_the_next_run_sends(
    tmp_path: Path, site: SiteServer
) -> None:
    port = free_port()  # nothing listens here yet
    s = Setup(tmp_path, site.origin, port)
    s.collect(NOW_N)

    down = s.cli(NOW_N, "digest", "--profile", "ana", "--send")
    assert down.returncode == 1, f"a refused SMTP connection should exit 1, got {down.returncode}"
    lines = down.stderr.strip().splitlines()
    assert lines == [
        f"error: could not send to {RECIPIENT} via 127.0.0.1:{port} (none): connection refused "
        "(is the SMTP server running, and are host and port right?)"
    ], down.stderr
    assert "Traceback" not in down.stderr
    assert s.sent_rows() == [], "nothing may be recorded as sent when sending failed"

    controller, inbox = start_smtp(port)
    try:
        up = s.cli(NOW_N, "digest", "--profile", "ana", "--send")
    finally:
        controller.stop()
    assert up.returncode == 0, f"once the server is up the digest should go out:\n{up.stderr}"
    assert len(inbox.received) == 1
    assert inbox.messages[0]["Subject"] == "Your events for 2027-W06: 3 picks, 1 deadline, 1 group"
    assert s.sent_rows() == [("ana", "2027-W06")]


def test_refused_login_exits_non_zero_and_never_shows_the_password(
    tmp_path: Path, site: SiteServer
) -> None:
    port = free_port()
    s = Setup(tmp_path, site.origin, port, username="digest")
    controller, inbox = start_smtp(port, refuse_login=True)
    try:
        results = [
            s.cli(
                NOW_N,
                *verbosity,
                "digest",
                "--profile",
                "ana",
                "--send",
                "--force",   # nothing was collected: only --force mails an empty digest
                env={PASSWORD_ENV: PASSWORD},
            )
            for verbosity in ((), ("-vv",))
        ]
    finally:
        controller.stop()
    for result in results:
        assert result.returncode == 1, f"a refused login should exit 1, got {result.returncode}"
        assert "refused the login (535" in result.stderr, (
            f"the error should say the login was refused:\n{result.stderr}"
        )
        assert PASSWORD not in result.stdout + result.stderr, "the SMTP password was printed"
        assert "Traceback" not in result.stderr
    assert inbox.received == [], "nothing should have been delivered"
    assert s.sent_rows() == [], "a refused login must not be recorded as sent"


def test_next_week_repeats_nothing_and_reports_moved_and_cancelled_events(
    tmp_path: Path, site: SiteServer, smtp
) -> None:
    port, inbox = smtp
    s = Setup(tmp_path, site.origin, port)
    s.collect(NOW_N)
    week_n = s.cli(NOW_N, "digest", "--profile", "ana", "--send")
    assert week_n.returncode == 0, week_n.stderr
    text_n = parts(inbox.messages[0])["text/plain"].get_content()
    assert "Changed or cancelled" not in text_n

    write_site(s.site, 2)  # the meetup moves to the next week, the late-night hack is cancelled
    s.collect(NOW_N1)
    shown = s.cli(NOW_N1, "digest", "--profile", "ana", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["week"] == "2027-W07"
    sections = section_titles(data)
    assert sections["deadlines"] == [], (
        "the call for speakers was sent last week and did not change"
    )
    assert sections["groups"] == [], "the group was suggested last week"
    picks = sections["support"] + sections["opportunities"] + sections["visibility"]
    assert picks == [F_TITLE], f"only the new event of week N+1 is a new pick, got {picks}"
    changes = {
        i["title"]: i["change"]
        for s_ in data["sections"]
        if s_["key"] == "changes"
        for i in s_["items"]
    }
    assert changes == {
        A_TITLE: "moved from Thu 11 Feb 19:00 to Tue 16 Feb 19:00",
        E_TITLE: "cancelled",
    }

    week_n1 = s.cli(NOW_N1, "digest", "--profile", "ana", "--send")
    assert week_n1.returncode == 0, week_n1.stderr
    assert len(inbox.received) == 2
    msg = inbox.messages[1]
    assert msg["Subject"] == "Your events for 2027-W07: 1 pick, 2 changes"
    text = parts(msg)["text/plain"].get_content()
    changed_part = text.split("Changed or cancelled", 1)
    assert len(changed_part) == 2, f"the mail should have a 'Changed or cancelled' section:\n{text}"
    assert (
        A_TITLE in changed_part[1]
        and "moved from Thu 11 Feb 19:00 to Tue 16 Feb 19:00" in changed_part[1]
    )
    assert E_TITLE in changed_part[1] and "cancelled" in changed_part[1]
    for old in (B_TITLE, CONF_TITLE, GROUP):
        assert old not in text, f"{old!r} was sent last week, unchanged, and must not be repeated"
    assert s.sent_rows() == [("ana", "2027-W06"), ("ana", "2027-W07")]


def test_a_custom_period_is_sent_once_too(tmp_path: Path, smtp) -> None:
    port, inbox = smtp
    s = Setup(tmp_path, "http://127.0.0.1:9", port)  # nothing collected: an empty digest
    period = ("digest", "--profile", "ana", "--from", "2027-02-09", "--to", "2027-02-12", "--send")
    empty = s.cli(NOW_N, *period)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == (
        "ana: nothing new for 2027-02-09 to 2027-02-12: not sent (--force sends it anyway)"
    ), "an empty digest is not mailed"
    assert inbox.received == [] and s.sent_rows() == []
    first, second = s.cli(NOW_N, *period, "--force"), s.cli(NOW_N, *period)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (
        f"ana: sent 2027-02-09 to 2027-02-12 to {RECIPIENT} (nothing new)"
    )
    assert second.returncode == 0, f"a second send of the same period failed:\n{second.stderr}"
    assert second.stdout.strip() == (
        "ana: 2027-02-09 to 2027-02-12 was sent already (--force sends it again)"
    )
    assert len(inbox.received) == 1, "the same period must be mailed once"
    assert s.sent_rows() == [("ana", "2027-02-09")]


# --------------------------------------------------------------------------- hostile source text

HOSTILE = [
    {
        "name": "Python Night <script>alert('x')</script>\r\nBcc: victim@evil.example",
        "link": "javascript:alert(document.cookie)",
        "starts_at": "2027-02-10T19:00:00+01:00",
        "ends_at": "2027-02-10T21:00:00+01:00",
        "city": "Berlin",
        "country": "DE",
        "category": "Meetup",
        "summary": '<img src=x onerror="alert(1)"> Python talks '
        '<a href="javascript:alert(2)">here</a>',
    },
    {
        "name": "Python Data Evening\nX-Injected: yes",
        "link": 'https://ok.example/e?a=1" onmouseover="alert(3)',
        "starts_at": "2027-02-11T19:00:00+01:00",
        "ends_at": "2027-02-11T21:00:00+01:00",
        "city": "Berlin\r\nSubject: pwned",
        "country": "DE",
        "category": "Meetup",
        "venue": '<b onclick="alert(4)">Hall</b>',
        "summary": 'Python <iframe src="https://evil.example">',
    },
]


class TagAudit(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "img", "object", "embed", "form"):
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name}= attribute on <{tag}>")
            if value and value.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                self.problems.append(f"{name}={value!r} on <{tag}>")


def test_hostile_source_text_never_reaches_the_html_or_a_header(
    tmp_path: Path, site: SiteServer, smtp
) -> None:
    port, inbox = smtp
    write_site(site.root, 1, {"hostile.json": json.dumps(HOSTILE).encode()})
    s = Setup(tmp_path, site.origin, port)
    sources = (s.cfg / "sources.toml").read_text().replace("/confs.json", "/hostile.json")
    (s.cfg / "sources.toml").write_text(
        sources.replace("[source.fields]\n", '[source.fields]\nvenue = "venue"\n')
    )
    s.collect(NOW_N)
    sent = s.cli(NOW_N, "digest", "--profile", "ana", "--send")
    assert sent.returncode == 0, sent.stderr
    assert len(inbox.received) == 1
    rcpts, msg = inbox.received[0]
    assert rcpts == [RECIPIENT], (
        f"the envelope went to {rcpts}: source text must never add recipients"
    )

    for name, value in msg.items():
        assert "\r" not in value and "\n" not in value, (
            f"header {name} holds a line break: {value!r}"
        )
        for bad in ("victim", "pwned", "script", "Injected"):
            assert bad not in value, f"source text reached the {name} header: {value!r}"
    assert {k.lower() for k in msg.keys()}.isdisjoint({"bcc", "x-injected"}), (
        f"injected headers: {msg.keys()}"
    )

    page = parts(msg)["text/html"].get_content()
    text = parts(msg)["text/plain"].get_content()
    assert "Python Night" in page and "Python Data Evening" in page, (
        "both hostile events should be in the digest (escaped), or this test proves nothing"
    )
    audit = TagAudit()
    audit.feed(page)
    assert audit.problems == [], (
        f"dangerous markup from the source reached the HTML: {audit.problems}"
    )
    assert "javascript:" not in text, "a javascript: link must not be shown as the event's link"
    for line in text.splitlines():
        assert not line.startswith(("Bcc:", "X-Injected:", "Subject:")), (
            f"source text forged a line: {line!r}"
        )
