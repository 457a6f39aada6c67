"""The digest as the exact MIME message ``--send`` sends and ``--format eml`` writes.

multipart/mixed
  multipart/alternative
    text/plain   (render_text)
    text/html    (render_html)
  text/calendar  (render_ics, attached as eventscout-<week>.ics)

Headers go through ``email.policy.SMTP`` and ``headerregistry`` (folded, encoded, no CR/LF
injection); addresses are parsed, never pasted.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import quote

from aggregator.digest.display import clean
from aggregator.digest.ics import render_ics
from aggregator.digest.model import Digest
from aggregator.digest.render import render_html, render_text


def subject_for(digest: Digest) -> str:
    """"Your events for 2026-W49: 12 picks, 2 deadlines"."""
    return clean(f"Your events for {digest.label}: {digest.summary()}")


def parse_address(value: str, display_name: str | None = None) -> Address:
    """"Digest <d@example.org>" or "d@example.org" -> Address; ValueError when it is not one."""
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"not an email address (it contains a line break): {clean(value)!r}")
    name, addr = parseaddr(clean(value))
    if not addr or "@" not in addr:
        raise ValueError(f"not an email address: {clean(value)!r}")
    try:
        return Address(display_name=clean(name or display_name or ""), addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"not an email address: {clean(value)!r} ({exc})") from None


def _token(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", clean(text)).strip("-") or "x"


def message_id(digest: Digest, sender: Address, now: datetime, *, per_period: bool = False) -> str:
    """Unique per sending instant, readable, and free of anything random (replays are exact).

    ``per_period``: one id for the profile's period, whenever it is sent, so a send repeated after
    a crash (the server took the mail, the record of it was lost) reaches mail clients as the
    same message, which they show once."""
    stamp = "digest" if per_period else now.astimezone(digest.tz).strftime("%Y%m%dT%H%M%S")
    domain = _token(sender.domain) if sender.domain else "eventscout.invalid"
    return f"<eventscout.{_token(digest.profile)}.{_token(digest.label)}.{stamp}@{domain}>"


def build_message(
    digest: Digest,
    from_addr: str,
    to_addr: str | None = None,
    *,
    now: datetime | None = None,
    per_period_id: bool = False,
) -> EmailMessage:
    """The digest email from ``from_addr`` to ``to_addr`` (default: the profile's email).

    ``now`` (default ``digest.now``) sets the Date and Message-ID headers; with
    ``per_period_id`` the Message-ID is the period's own (see ``message_id``).
    """
    now = now or digest.now
    recipient_text = to_addr or digest.email
    if not recipient_text:
        raise ValueError(f"profile {clean(digest.profile)!r} has no email address to send to")
    sender = parse_address(from_addr)
    recipient = parse_address(recipient_text)

    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject_for(digest)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(digest, sender, now, per_period=per_period_id)
    unsubscribe = quote(f"unsubscribe {clean(digest.profile)}")
    msg["List-Unsubscribe"] = f"<mailto:{sender.addr_spec}?subject={unsubscribe}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Eventscout-Digest"] = clean(f"{digest.profile} {digest.label}")

    msg.set_content(render_text(digest), subtype="plain", charset="utf-8",
                    cte="quoted-printable")
    msg.add_alternative(render_html(digest), subtype="html", charset="utf-8",
                        cte="quoted-printable")
    ics = render_ics(digest).encode("utf-8")
    msg.add_attachment(ics, maintype="text", subtype="calendar",
                       filename=f"eventscout-{_token(digest.label)}.ics")
    # boundaries derived from the content: the same digest at the same instant is the same bytes
    digest_hash = hashlib.sha256(render_text(digest).encode("utf-8") + ics)
    for number, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_eventscout_{digest_hash.hexdigest()[:24]}_{number}")
    return msg
