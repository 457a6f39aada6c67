"""Sending through a real SMTP server (aiosmtpd) on a random loopback port."""

from __future__ import annotations

import email
import email.policy
import socket

import icalendar
import pytest

from aggregator.config_types import SmtpSettings
from aggregator.digest import SendError, build_message, send_message

aiosmtpd_controller = pytest.importorskip(
    "aiosmtpd.controller", reason="aiosmtpd (in the test extras) runs the loopback SMTP server")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

# AUTH over plain SMTP is what these loopback tests exercise on purpose
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

FROM = "Event Digest <digest@example.org>"
PASSWORD = "s3cr3t-Pa55word!"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):   # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def authenticator(good_password: str | None):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (good_password is not None and isinstance(auth_data, aiosmtpd_smtp.LoginPassword)
              and auth_data.login == b"digest" and auth_data.password == good_password.encode())
        # handled=False: aiosmtpd answers "535 Authentication credentials invalid" itself
        return aiosmtpd_smtp.AuthResult(success=ok, handled=ok)
    return check


@pytest.fixture
def smtp_server(request):
    """A running SMTP server; ``request.param`` (optional) is the password it accepts for
    user "digest" (None: every login is refused); without a param it has no AUTH at all."""
    inbox = Inbox()
    port = free_port()
    kwargs = {}
    if hasattr(request, "param"):   # AUTH without TLS is fine on loopback, for a test
        kwargs = {"authenticator": authenticator(request.param), "auth_require_tls": False,
                  "auth_required": True}
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def settings(port: int, **overrides) -> SmtpSettings:
    values = {"host": "127.0.0.1", "port": port, "security": "none", "username": None,
              "from_addr": FROM, "timeout": 5.0}
    values.update(overrides)
    return SmtpSettings(**values)


def test_message_arrives_at_a_real_smtp_server(digest, smtp_server):
    inbox, port = smtp_server
    send_message(build_message(digest, FROM), settings(port), None)
    assert len(inbox.envelopes) == 1, "the server should have received exactly one message"
    envelope = inbox.envelopes[0]
    assert (envelope.mail_from, envelope.rcpt_tos) == ("digest@example.org", ["ana@example.org"])
    msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert msg["Subject"] == "Your events for 2026-W07: 3 picks, 2 deadlines, 1 group, 2 changes"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar"]
    assert "PyLadies Berlin: Mentoring evening" in msg.get_body(("plain",)).get_content()
    ics = next(msg.iter_attachments()).get_content()
    summaries = {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(ics).walk("VEVENT")}
    assert "Data Engineering Job Fair" in summaries


@pytest.mark.parametrize("smtp_server", [PASSWORD], indirect=True)
def test_login_with_the_right_password_delivers(digest, smtp_server):
    inbox, port = smtp_server
    send_message(build_message(digest, FROM), settings(port, username="digest"), PASSWORD)
    assert len(inbox.envelopes) == 1


@pytest.mark.parametrize("smtp_server", [None], indirect=True)
def test_refused_login_is_a_send_error_without_the_password(digest, smtp_server):
    inbox, port = smtp_server
    with pytest.raises(SendError) as info:
        send_message(build_message(digest, FROM), settings(port, username="digest"), PASSWORD)
    text = str(info.value)
    assert text.startswith("could not send to ana@example.org"), text
    assert "refused the login" in text and "535" in text, text
    assert PASSWORD not in text and PASSWORD not in repr(info.value), \
        "the SMTP password leaked into the error message"
    assert info.value.__cause__ is None and info.value.__suppress_context__, \
        "the original exception (and its traceback) must not travel with the error"
    assert inbox.envelopes == []


def test_closed_port_is_a_send_error(digest):
    port = free_port()   # bound then released: nothing listens there
    with pytest.raises(SendError, match=r"could not send to ana@example.org .*connection refused"):
        send_message(build_message(digest, FROM), settings(port), None)


def test_starttls_against_a_server_without_it_is_a_send_error(digest, smtp_server):
    _inbox, port = smtp_server
    with pytest.raises(SendError, match="STARTTLS|starttls"):
        send_message(build_message(digest, FROM), settings(port, security="starttls"), None)


def test_username_without_password_is_refused_before_connecting(digest):
    with pytest.raises(SendError, match="no password"):
        send_message(build_message(digest, FROM), settings(free_port(), username="digest"), None)


def test_unknown_security_mode_is_refused(digest):
    with pytest.raises(SendError, match="starttls, ssl, none"):
        send_message(build_message(digest, FROM), settings(free_port(), security="tls"), None)
