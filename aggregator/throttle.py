"""AutoThrottle for the public web only.

Scrapy's AutoThrottle sets a download slot's delay from its responses' latency, and a delay
makes the slot send one request at a time. Loopback and file:// sources (a local mirror, the
tests, the benchmark) need no politeness: their slots keep the delay of DOWNLOAD_SLOTS (0).
Marking only our own requests is not enough: the first response of a host is often robots.txt,
requested by Scrapy's middleware, and its latency alone would set a delay that never decays.
"""

from __future__ import annotations

from typing import Any

from scrapy.extensions.throttle import AutoThrottle


class RemoteAutoThrottle(AutoThrottle):
    def _response_downloaded(self, response: Any, request: Any, spider: Any) -> None:
        from spiders.sources import is_local

        if is_local(request.url):
            return
        super()._response_downloaded(response, request, spider)
