"""Sending a built message through SMTP (security: starttls | ssl | none).

The password is used for LOGIN and nowhere else: it is never part of an error or log message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

logger = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "ssl", "none")


class SendError(Exception):
    """The message could not be delivered to the SMTP server; the text says why."""


def _setting(settings: Any, name: str, default: Any = None) -> Any:
    if isinstance(settings, dict):
        return settings.get(name, default)
    return getattr(settings, name, default)


def _recipients(msg: EmailMessage) -> list[str]:
    fields = [str(v) for key in ("To", "Cc", "Bcc") for v in msg.get_all(key, [])]
    return [addr for _name, addr in getaddresses(fields) if addr]


def _redact(text: str, password: str | None) -> str:
    if password:
        text = text.replace(password, "***")
    return text


def _decode(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        detail = _decode(exc.smtp_error)
        return f"the server refused the login ({exc.smtp_code} {detail.strip()})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the server does not support this ({exc})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{addr}: {code} {_decode(msg)}"
                            for addr, (code, msg) in exc.recipients.items())
        return f"the server refused the recipient ({refused})"
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = _decode(exc.smtp_error)
        return f"the server answered {exc.smtp_code} {detail.strip()}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the SMTP server running, and are host and port right?)"
    if isinstance(exc, TimeoutError):
        return "the connection timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc}); check `security` (starttls, ssl or none)"
    return str(exc) or type(exc).__name__


def send_message(msg: EmailMessage, smtp_settings: Any, password: str | None = None) -> None:
    """Send ``msg`` with ``smtp_settings`` (an SmtpSettings or a dict with host, port, security,
    username, timeout). Logs in when ``username`` is set. Raises SendError on any failure."""
    host = _setting(smtp_settings, "host", "localhost")
    port = int(_setting(smtp_settings, "port", 587))
    security = (_setting(smtp_settings, "security", "starttls") or "starttls").lower()
    username = _setting(smtp_settings, "username")
    timeout = float(_setting(smtp_settings, "timeout", 30.0))
    recipients = _recipients(msg)
    who = ", ".join(recipients) or "(no recipient)"
    if security not in SECURITY_MODES:
        raise SendError(f"could not send to {who}: smtp security must be one of "
                        f"{', '.join(SECURITY_MODES)}, not {security!r}")
    if not recipients:
        raise SendError("could not send: the message has no To address")
    if username and not password:
        raise SendError(f"could not send to {who}: smtp username {username!r} is set but no "
                        "password was given (set the variable named by smtp.password_env)")
    context = ssl.create_default_context()
    try:
        if security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            if security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if username:
                client.login(username, password or "")
            client.send_message(msg, to_addrs=recipients)
    except (OSError, smtplib.SMTPException) as exc:
        reason = _redact(_reason(exc), password)
        raise SendError(f"could not send to {who} via {host}:{port} ({security}): {reason}") \
            from None
    logger.info("sent %s to %s via %s:%s", msg.get("Subject", ""), who, host, port)
