"""The HTTP download handler of a collect run: Scrapy's, with a connection pool sized for the
download slots.

Scrapy keeps at most CONCURRENT_REQUESTS_PER_DOMAIN (4) idle connections per host, while a slot
of DOWNLOAD_SLOTS may fetch more at once (32 from loopback and a local network's mirror): every
round of requests beyond the fourth then opens and closes new connections. A host fetched
four at a time keeps four either way: the pool only keeps connections that were opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class PooledHTTP11DownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        settings = crawler.settings
        widest = max([settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
                      *(int(slot.get("concurrency", 0)) for slot in settings.getdict("DOWNLOAD_SLOTS").values())])
        self._pool.maxPersistentPerHost = min(widest, settings.getint("CONCURRENT_REQUESTS"))
