"""The weekly digest: the model (which items go where), renderers, the email and sending.

    digest = build_digest(profile, (2026, 49), ranked_events, ranked_groups, sent, now, tz)
    text = render(digest, "text")            # text | markdown | html | json | ics
    msg = build_message(digest, from_addr="Digest <d@example.org>")
    send_message(msg, settings.smtp, password)
"""

from __future__ import annotations

from aggregator.digest.email import build_message, subject_for
from aggregator.digest.model import (
    Digest,
    DigestItem,
    Ranked,
    Section,
    build_digest,
    default_week,
    describe_change,
    fingerprint,
    parse_week,
    week_bounds,
    week_label,
)
from aggregator.digest.render import FORMATS, render
from aggregator.digest.send import SendError, send_message

__all__ = [
    "FORMATS",
    "Digest",
    "DigestItem",
    "Ranked",
    "Section",
    "SendError",
    "build_digest",
    "build_message",
    "default_week",
    "describe_change",
    "fingerprint",
    "parse_week",
    "render",
    "send_message",
    "subject_for",
    "week_bounds",
    "week_label",
]
