"""The digest email (the .eml): MIME structure, headers, the .ics attachment, header safety."""

from __future__ import annotations

import email
import email.policy
import re

import icalendar
import pytest
from digest_scenario import BERLIN, NOW, WEEK, make_digest

from aggregator.config_types import Profile
from aggregator.digest import build_digest, build_message, render
from aggregator.digest.render import render_html, render_text

FROM = "Event Digest <digest@example.org>"


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_eml_structure_and_headers(digest):
    raw = render(digest, "eml", from_addr=FROM)
    msg = parse(raw)
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar"]
    assert msg["Subject"] == "Your events for 2026-W07: 3 picks, 2 deadlines, 1 group, 2 changes"
    assert msg["From"] == FROM
    assert msg["To"] == "ana@example.org"
    assert msg["Date"] == "Sun, 08 Feb 2026 18:00:00 +0100"
    assert msg["Message-ID"] == "<eventscout.ana.2026-W07.20260208T180000@example.org>"
    assert msg["List-Unsubscribe"] == "<mailto:digest@example.org?subject=unsubscribe%20ana>"
    assert msg["MIME-Version"] == "1.0"
    assert all(len(line) <= 78 for line in raw.split(b"\r\n")), "SMTP lines must stay short"


def test_eml_bodies_are_the_text_and_html_renderings(digest):
    msg = parse(render(digest, "eml", from_addr=FROM))
    def lf(text: str) -> str:
        return text.replace("\r\n", "\n")
    assert lf(msg.get_body(("plain",)).get_content()) == render_text(digest)
    assert lf(msg.get_body(("html",)).get_content()) == render_html(digest)


def test_eml_attaches_the_weeks_events_as_ics(digest):
    msg = parse(render(digest, "eml", from_addr=FROM))
    attachments = list(msg.iter_attachments())
    assert [(a.get_content_type(), a.get_filename()) for a in attachments] == [
        ("text/calendar", "eventscout-2026-W07.ics")]
    cal = icalendar.Calendar.from_ical(attachments[0].get_content())
    uids = sorted(str(e["UID"]) for e in cal.walk("VEVENT"))
    assert uids == sorted([
        "pycon-de-2026@eventscout", "pycon-de-2026-deadline@eventscout",
        "women-in-data-awards@eventscout", "women-in-data-awards-deadline@eventscout",
        "pyladies-mentoring@eventscout", "dbt-webinar@eventscout", "data-job-fair@eventscout",
        "data-council-meetup@eventscout", "hack-night@eventscout"])


def test_eml_is_byte_identical_for_the_same_digest_and_instant(digest):
    assert render(digest, "eml", from_addr=FROM) == render(make_digest(), "eml", from_addr=FROM)


def test_empty_digest_subject():
    empty = build_digest(Profile(name="ana", email="ana@example.org"), WEEK, [], [], {}, NOW,
                         BERLIN)
    assert build_message(empty, FROM)["Subject"] == "Your events for 2026-W07: nothing new"


def header_block(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii")


def test_crlf_in_names_cannot_inject_headers():
    hostile = Profile(name="ana\r\nBcc: evil@example.org", email="ana@example.org")
    d = build_digest(hostile, WEEK, [], [], {}, NOW, BERLIN)
    raw = build_message(d, FROM).as_bytes()
    headers = header_block(raw)
    assert not re.search(r"^(Bcc|Cc):", headers, re.M | re.I), \
        f"a CR/LF in the profile name created a new header:\n{headers}"
    msg = parse(raw)
    assert msg["X-Eventscout-Digest"] == "ana Bcc: evil@example.org 2026-W07"
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@example.org"]


@pytest.mark.parametrize("sender, recipient", [
    ("Digest\r\nBcc: evil@example.org <digest@example.org>", "ana@example.org"),
    (FROM, "ana@example.org\r\nBcc: evil@example.org"),
])
def test_crlf_in_an_address_is_refused(sender, recipient):
    d = build_digest(Profile(name="ana"), WEEK, [], [], {}, NOW, BERLIN)
    with pytest.raises(ValueError, match="line break"):
        build_message(d, sender, recipient)


def test_non_ascii_subject_and_names_are_encoded():
    d = build_digest(Profile(name="zoë", email="Zoë Ünal <zoe@example.org>"), WEEK, [], [], {},
                     NOW, BERLIN)
    raw = build_message(d, "Veranstaltungsübersicht <digest@example.org>").as_bytes()
    assert header_block(raw).isascii()
    msg = parse(raw)
    assert str(msg["To"]) == "Zoë Ünal <zoe@example.org>"
    assert str(msg["From"]) == "Veranstaltungsübersicht <digest@example.org>"


@pytest.mark.parametrize("to", [None, "not an address"])
def test_missing_or_bad_recipient_is_a_clear_error(to):
    d = build_digest(Profile(name="ana"), WEEK, [], [], {}, NOW, BERLIN)
    with pytest.raises(ValueError, match="email address"):
        build_message(d, FROM, to)
