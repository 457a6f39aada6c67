"""One-line reasons for failed requests."""

from __future__ import annotations

import re
from http import HTTPStatus

from twisted.python.failure import Failure

TOO_LARGE = "response too large (over the maximum body size)"
_TIMEOUT_RE = re.compile(r"longer than ([0-9.]+) seconds")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def describe_failure(failure: Failure) -> str:
    from scrapy import exceptions as sx
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as net

    exc = failure.value
    text = _first_line(exc)
    if isinstance(exc, HttpError):
        status = exc.response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        return f"HTTP {status} {phrase}".strip()
    if isinstance(exc, sx.IgnoreRequest):
        if "robots.txt" in text.lower():
            return "disallowed by robots.txt"
        if "during decompression" in text:   # a compression bomb (Scrapy's HttpCompressionMiddleware)
            return "response too large once decompressed (over the maximum body size)"
        return text[:200] or "request ignored"
    if isinstance(exc, net.DNSLookupError | sx.CannotResolveHostError):
        return "DNS lookup failed: no such host"
    if isinstance(exc, sx.DownloadTimeoutError):
        found = _TIMEOUT_RE.search(text)
        return f"timed out (no answer within {float(found.group(1)):g} s)" if found else "timed out"
    if isinstance(exc, net.TimeoutError | net.TCPTimedOutError):
        return "timed out"
    if isinstance(exc, net.ConnectionRefusedError | sx.DownloadConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, sx.DownloadCancelledError):
        # Scrapy cancels a download whose body (announced or received) passes DOWNLOAD_MAXSIZE;
        # the "received" case carries no message
        if not text or "max size" in text or "maxsize" in text.lower():
            return TOO_LARGE
        return f"download cancelled: {text[:200]}"
    if isinstance(exc, FileNotFoundError | IsADirectoryError):
        return f"no such file: {getattr(exc, 'filename', '') or exc}"
    if isinstance(exc, PermissionError):
        return "permission denied"
    name = type(exc).__name__
    if "maxsize" in text.lower() or "max size" in text.lower() or "warnsize" in text.lower():
        return TOO_LARGE
    if isinstance(exc, sx.ResponseDataLossError) or "ResponseNeverReceived" in name or "ResponseFailed" in name:
        return f"the connection failed: {text[:200]}" if text else "the connection failed"
    return f"{name}: {text[:200]}" if text else name
