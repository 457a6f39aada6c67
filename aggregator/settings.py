"""Scrapy settings for eventscout (scrapy.cfg points here).

Custom settings start with EVENTSCOUT_: the configuration directory, the pretend clock, the
database URL. The crawl values of eventscout.toml ([crawl]) are applied by the spider.
"""

from scrapy.settings import default_settings as _scrapy_defaults

BOT_NAME = "eventscout"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "eventscout/0.1 (+https://github.com/eventscout/eventscout)"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"
# an item a pipeline drops (no title, no readable start) is expected, not a warning for cron mail
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
# Scrapy imports every extension it lists, enabled or not, and some cost every run (RemoteControl
# imports aiohttp, a tenth of a second): the ones a collect run does not use are not listed
_unused = ("scrapy.extensions.remote_control.RemoteControl", "scrapy.extensions.telnet.TelnetConsole",
           "scrapy.extensions.feedexport.FeedExporter", "scrapy.extensions.memdebug.MemoryDebugger",
           "scrapy.extensions.spiderstate.SpiderState", "scrapy.extensions.throttle.AutoThrottle")
EXTENSIONS_BASE = {k: v for k, v in _scrapy_defaults.EXTENSIONS_BASE.items() if k not in _unused}
EXTENSIONS = {"aggregator.throttle.RemoteAutoThrottle": 0}
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# this machine's own addresses and file:// need no politeness delay
DOWNLOAD_SLOTS = {
    "127.0.0.1": {"delay": 0, "concurrency": 32},
    "localhost": {"delay": 0, "concurrency": 32},
    "::1": {"delay": 0, "concurrency": 32},
    "": {"delay": 0, "concurrency": 32},
}

# a response yields one Batch of items, its links and maybe its SourceDone, in that order:
# one at a time (Scrapy's default of 100 starts 100 tasks per response)
CONCURRENT_ITEMS = 1
# keeps as many idle connections per host as a download slot may use (aggregator/download.py)
DOWNLOAD_HANDLERS = {"http": "aggregator.download.PooledHTTP11DownloadHandler",
                     "https": "aggregator.download.PooledHTTP11DownloadHandler"}

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
DNS_TIMEOUT = 15

ITEM_PIPELINES = {
    "aggregator.pipelines.normalize.NormalizePipeline": 100,
    "aggregator.pipelines.classify.ClassifyPipeline": 200,
    "aggregator.pipelines.store.StorePipeline": 400,
}

EVENTSCOUT_CONFIG_DIR = None
EVENTSCOUT_NOW = None
EVENTSCOUT_DB = None
EVENTSCOUT_SOURCES: list[str] = []

# middlewares a crawl of configured sources does not need, each a call per request or output;
# left out of the base lists rather than set to None, because Scrapy imports every listed
# middleware to normalise the list (the cookies one alone imports tldextract and requests)
_unused_middlewares = (
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware",        # no allowed_domains here
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",      # no http_user/http_pass
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",        # COOKIES_ENABLED is off
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware",  # a development aid
    "scrapy.spidermiddlewares.depth.DepthMiddleware",                # no depth limit set
)
DOWNLOADER_MIDDLEWARES_BASE = {k: v for k, v in _scrapy_defaults.DOWNLOADER_MIDDLEWARES_BASE.items()
                               if k not in _unused_middlewares}
SPIDER_MIDDLEWARES_BASE = {k: v for k, v in _scrapy_defaults.SPIDER_MIDDLEWARES_BASE.items()
                           if k not in _unused_middlewares}
