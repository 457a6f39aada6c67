"""The spiders: `collect` crawls every enabled source; `feed`, `ical`, `page`, `html`, `json`
and `csv` crawl the sources of their type (`scrapy crawl ical -a source=NAME`).

Each spider fetches a source's URL (conditionally, with the ETag / Last-Modified of the last
run), hands the bytes to the parser of the source's type, follows the links the parser returns
and, after the source's last response, yields a SourceDone so the store commits that source.

With `collect --queue` (aggregator.queue) the per-source bookkeeping lives in Redis instead of
in this process: any worker may fetch any page; the worker that finishes a source's last request
yields all of the source's items, gathered from every worker, and its SourceDone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from sqlalchemy import select
from twisted.python.failure import Failure

from aggregator import constants as C
from aggregator import context
from aggregator.config_types import SourceConfig
from aggregator.items import Batch, EventItem, GroupItem, SourceDone
from aggregator.prepare import Prepared, prepare_document
from spiders.base import ParseContext
from spiders.errors import describe_failure

logger = logging.getLogger(__name__)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _Progress:
    """Bookkeeping for one source during one crawl."""

    pending: int = 0
    items: int = 0
    error: str | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    warnings: list[str] = field(default_factory=list)


class SourceSpider(scrapy.Spider):
    name = "collect"
    source_type: str | None = None   # None: every type

    def __init__(self, source: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.only = [s for s in (source or "").split(",") if s]
        self.progress: dict[str, _Progress] = {}

    @classmethod
    def update_settings(cls, settings):  # type: ignore[no-untyped-def]
        super().update_settings(settings)
        run = context.from_settings(settings)
        crawl = run.config.settings
        prio = "spider"
        settings.set("USER_AGENT", crawl.user_agent, priority=prio)
        settings.set("CONCURRENT_REQUESTS", crawl.concurrency, priority=prio)
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", max(1, min(4, crawl.concurrency)), priority=prio)
        settings.set("ROBOTSTXT_OBEY", crawl.obey_robots, priority=prio)
        settings.set("DOWNLOAD_TIMEOUT", crawl.timeout, priority=prio)
        settings.set("DOWNLOAD_MAXSIZE", int(crawl.max_body_mb * 1024 * 1024), priority=prio)

    # ------------------------------------------------------------------ sources
    def selected_sources(self) -> list[SourceConfig]:
        run = context.from_settings(self.settings)
        names = self.only or list(self.settings.getlist("EVENTSCOUT_SOURCES"))
        chosen = []
        for src in run.config.sources:
            if self.source_type and src.type != self.source_type:
                continue
            if names and src.name not in names:
                continue
            if not names and not src.enabled:
                continue
            chosen.append(src)
        return chosen

    @property
    def shared(self) -> Any:
        """The run's shared queue (aggregator.queue.RunScheduler) under --queue, else None."""
        return getattr(self.crawler, "eventscout_queue", None)

    async def start(self) -> AsyncIterator[Any]:
        shared = self.shared
        if shared is not None:
            # one worker seeds the run in one Redis transaction; the others only take requests
            if shared.seeder:
                requests = self.start_requests_list()
                shared.seed([(r, self.progress[r.meta["source"]].content_hash) for r in requests])
                self.progress.clear()
            return
        for request in self.start_requests_list():
            yield request

    def start_requests_list(self) -> list[scrapy.Request]:
        from aggregator.models import Source

        run = context.from_settings(self.settings)
        sources = self.selected_sources()
        with run.engine.connect() as conn:
            rows = {r.name: r for r in conn.execute(select(Source.name, Source.etag, Source.last_modified,
                                                           Source.content_hash))}
        requests = []
        for src in sources:
            headers = {}
            prev = rows.get(src.name)
            state = _Progress(pending=1)
            if prev is not None:
                state.content_hash = prev.content_hash
                if prev.etag:
                    headers["If-None-Match"] = prev.etag
                if prev.last_modified:
                    headers["If-Modified-Since"] = prev.last_modified
            self.progress[src.name] = state
            requests.append(self.make_request(src, src.url, followed=False, headers=headers))
        return requests

    def make_request(self, src: SourceConfig, url: str, *, followed: bool,
                     headers: dict[str, str] | None = None) -> scrapy.Request:
        meta: dict[str, Any] = {"source": src.name, "followed": followed,
                                "handle_httpstatus_list": [304]}
        return scrapy.Request(url, callback=self.parse_source, errback=self.on_error, meta=meta,
                              headers=headers or {}, dont_filter=not followed)

    # ------------------------------------------------------------------ parsing
    @property
    def pool(self) -> Any:
        """The run's parse workers (aggregator.prepare.ParsePool), or None: parse here."""
        return getattr(self.crawler, "eventscout_pool", None)

    async def parse_source(self, response: Response) -> AsyncIterator[Any]:
        if self.shared is not None:
            for shared_out in self._parse_shared(response):
                yield shared_out
            return
        name = response.meta["source"]
        run = context.from_settings(self.settings)
        src = run.config.source(name)
        state = self.progress.setdefault(name, _Progress(pending=1))
        followed = bool(response.meta.get("followed"))
        assert src is not None
        out: list[Any] = []
        if response.status == 304:
            state.not_modified = True
            self.crawler.stats.inc_value("eventscout/responses_not_modified")
        else:
            body = response.body
            digest = hashlib.sha256(body).hexdigest()
            if not followed:
                state.etag = _header(response, "ETag")
                state.last_modified = _header(response, "Last-Modified")
                if state.content_hash == digest:
                    state.not_modified = True
                    self.crawler.stats.inc_value("eventscout/bodies_unchanged")
                state.content_hash = digest
            if not state.not_modified:
                ctx = self._context(response, followed)
                prepared = await self._prepare(src, response, ctx, state)
                out = self._outputs(src, response.url, followed, state, ctx, prepared)
        for item in out:
            yield item
        state.pending -= 1
        if state.pending == 0:
            yield self._done(src.name, state)

    def _context(self, response: Response, followed: bool) -> ParseContext:
        run = context.from_settings(self.settings)
        return ParseContext(
            now=run.now, horizon_days=run.config.settings.horizon_days,
            headers={k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v},
            followed=followed, max_items=run.config.settings.max_items_per_source)

    async def _prepare(self, src: SourceConfig, response: Response, ctx: ParseContext, state: _Progress) -> Prepared:
        """The document parsed, normalised and classified: by a parse worker when the run has
        them, else here."""
        pool = self.pool
        cap = max(ctx.max_items - state.items, 0)
        if pool is not None:
            # with a writer process, the events go to it as the worker pickled them
            pack = getattr(self.crawler, "eventscout_writer", None) is not None
            prepared: Prepared = await pool.prepare(response.body, response.url, src, ctx, cap, pack)
            return prepared
        run = context.from_settings(self.settings)
        return prepare_document(response.body, response.url, src, ctx, run.config.industries, cap)

    def _outputs(self, src: SourceConfig, url: str, followed: bool, state: _Progress, ctx: ParseContext,
                 prepared: Prepared) -> list[Any]:
        """What the spider yields for one prepared document: its Batch and the links to follow."""
        stats = self.crawler.stats
        stats.inc_value("eventscout/documents_parsed")
        if prepared.error is not None:
            if followed:
                state.warnings.append(f"{url}: {prepared.error}")
            else:
                state.error = prepared.error
            return []
        if state.items + prepared.parsed > ctx.max_items:
            # documents of one source parsed at the same time: the cap holds for their sum
            prepared.events = prepared.unpack()[:max(ctx.max_items - state.items, 0)]
            prepared.warnings.append(f"more than {ctx.max_items} events: the rest were left out")
        state.items += prepared.parsed
        stats.inc_value("eventscout/items_parsed", prepared.parsed)
        if prepared.unusable:
            stats.inc_value("eventscout/dropped_unusable", prepared.unusable)
        state.warnings.extend(prepared.warnings)
        out: list[Any] = [Batch(src.name, prepared.events, prepared.groups, prepared.packed)]
        for link in prepared.follow:
            if not followed or src.type == C.HTML:
                state.pending += 1
                out.append(self.make_request(src, link, followed=True))
        return out

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        if self.shared is not None:
            yield from self._error_shared(request, describe_failure(failure))
            return
        name = request.meta["source"]
        state = self.progress.setdefault(name, _Progress(pending=1))
        reason = describe_failure(failure)
        if request.meta.get("followed"):
            state.warnings.append(f"{request.url}: {reason}")
        else:
            state.error = reason
        state.pending -= 1
        if state.pending == 0:
            yield self._done(name, state)

    def _done(self, name: str, state: _Progress) -> SourceDone:
        ok = state.error is None
        return SourceDone(source=name, ok=ok, error=state.error, items=state.items,
                          not_modified=state.not_modified and ok, etag=state.etag,
                          last_modified=state.last_modified,
                          content_hash=state.content_hash if ok else None,
                          warnings=state.warnings)


    # ------------------------------------------------------------------ shared (--queue)
    def _parse_shared(self, response: Response) -> Iterator[Any]:
        shared = self.shared
        name = response.meta["source"]
        run = context.from_settings(self.settings)
        src = run.config.source(name)
        assert src is not None
        followed = bool(response.meta.get("followed"))
        stored = shared.state(name)
        if response.status == 304:
            shared.set_state(name, not_modified=1)
            self.crawler.stats.inc_value("eventscout/responses_not_modified")
        else:
            digest = hashlib.sha256(response.body).hexdigest()
            not_modified = False
            if not followed:
                not_modified = stored.get("prev_hash") == digest
                if not_modified:
                    self.crawler.stats.inc_value("eventscout/bodies_unchanged")
                shared.set_state(name, etag=_header(response, "ETag"),
                                 last_modified=_header(response, "Last-Modified"),
                                 content_hash=digest, not_modified=int(not_modified))
            if not not_modified:
                state = _Progress(items=int(stored.get("items") or 0))
                ctx = self._context(response, followed)
                prepared = prepare_document(response.body, response.url, src, ctx, run.config.industries,
                                            max(ctx.max_items - state.items, 0))
                out = self._outputs(src, response.url, followed, state, ctx, prepared)
                if state.error:
                    shared.set_state(name, error=state.error)
                items = [i for b in out if isinstance(b, Batch) for i in [*b.events, *b.groups]]
                shared.add_items(name, items, state.warnings)
                # queued before this request counts as finished: the source stays open for them
                for request in out:
                    if isinstance(request, scrapy.Request):
                        shared.enqueue_request(request)
        assert response.request is not None
        yield from self._finish_shared(response.request)

    def _error_shared(self, request: scrapy.Request, reason: str) -> Iterator[Any]:
        name = request.meta["source"]
        if request.meta.get("followed"):
            self.shared.add_items(name, [], [f"{request.url}: {reason}"])
        else:
            self.shared.set_state(name, error=reason)
        yield from self._finish_shared(request)

    def _finish_shared(self, request: scrapy.Request) -> Iterator[Any]:
        shared = self.shared
        name = request.meta["source"]
        if shared.finish(request) > 0 or not shared.claim(name):
            return
        items, warnings = shared.gather(name)
        state = shared.state(name)
        yield Batch(name, [i for i in items if isinstance(i, EventItem)],
                    [i for i in items if isinstance(i, GroupItem)])
        yield self._done(name, _Progress(
            items=int(state.get("items") or 0), error=state.get("error") or None,
            not_modified=state.get("not_modified") == "1", etag=state.get("etag") or None,
            last_modified=state.get("last_modified") or None,
            content_hash=state.get("content_hash") or None, warnings=warnings))


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class FeedSpider(SourceSpider):
    name = C.FEED
    source_type = C.FEED


class ICalSpider(SourceSpider):
    name = C.ICAL
    source_type = C.ICAL


class PageSpider(SourceSpider):
    name = C.PAGE
    source_type = C.PAGE


class HtmlSpider(SourceSpider):
    name = C.HTML
    source_type = C.HTML


class JsonSpider(SourceSpider):
    name = C.JSON
    source_type = C.JSON


class CsvSpider(SourceSpider):
    name = C.CSV
    source_type = C.CSV
