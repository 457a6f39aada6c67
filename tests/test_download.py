"""aggregator/download.py: the HTTP handler's pool keeps as many connections per host as a
download slot may use (run in a child process: it installs a reactor)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy.utils.test import get_crawler
from aggregator.collect import crawl_settings
from aggregator.download import PooledHTTP11DownloadHandler

def pool(**extra):
    crawler = get_crawler(settings_dict={**crawl_settings(None, "sqlite://", None, []), **extra})
    return PooledHTTP11DownloadHandler(crawler)._pool.maxPersistentPerHost

print(pool(), pool(CONCURRENT_REQUESTS=64), pool(DOWNLOAD_SLOTS={}),
      pool(DOWNLOAD_SLOTS={}, CONCURRENT_REQUESTS_PER_DOMAIN=8))
"""


def test_the_pool_keeps_a_slots_width_of_connections() -> None:
    run = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    # the loopback slot fetches 32 at once, capped by CONCURRENT_REQUESTS (16); without wider
    # slots, Scrapy's own figure (CONCURRENT_REQUESTS_PER_DOMAIN)
    assert run.stdout.split() == ["16", "32", "4", "8"]

