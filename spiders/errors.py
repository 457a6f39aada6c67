"""One-line reasons for failed requests."""

from __future__ import annotations

from http import HTTPStatus

from twisted.python.failure import Failure


def describe_failure(failure: Failure) -> str:
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as net

    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        return f"HTTP {status} {phrase}".strip()
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots.txt" in text.lower():
            return "disallowed by robots.txt"
        return text or "request ignored"
    if isinstance(exc, net.DNSLookupError):
        return "DNS lookup failed: no such host"
    if isinstance(exc, net.TimeoutError | net.TCPTimedOutError):
        return "timed out"
    if isinstance(exc, net.ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, FileNotFoundError | IsADirectoryError):
        return f"no such file: {getattr(exc, 'filename', '') or exc}"
    if isinstance(exc, PermissionError):
        return "permission denied"
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "maxsize" in text.lower() or "warnsize" in text.lower() or "Cancelled" in name:
        return "response too large (over the maximum body size)" if "size" in text.lower() else f"{name}: {text}"
    if "ResponseNeverReceived" in name or "ResponseFailed" in name:
        return f"the connection failed: {text[:200]}" if text else "the connection failed"
    return f"{name}: {text[:200]}" if text else name
