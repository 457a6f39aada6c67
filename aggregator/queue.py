"""Distributed collection: any number of `eventscout collect --queue redis://...` workers share
one run of the crawl through Redis (scrapy-redis's scheduler and duplicate filter, extended).

One run, many workers:
- A run has an id. With `--now` (or EVENTSCOUT_RUN_ID) every worker computes the same id; without,
  the first worker publishes a fresh run under `<prefix>:current` and later ones join it while
  it is active.
- Exactly one worker seeds the run (SET NX on `<prefix>:<run>:seed`): in one Redis transaction it
  writes each selected source's bookkeeping and pushes the start requests.
- Every request gets a request id. Popping a request moves it atomically into the run's
  in-flight hash under the worker's id; a worker whose heartbeat key has expired (killed,
  frozen, cut off) has its in-flight requests pushed back on the queue by the others.
- Each source has a pending count (HINCRBY): +1 when one of its requests is queued (a follow
  link that the duplicate filter lets through), -1 once per request id when its callback is
  done. Parsed items are pushed as JSON onto a per-source list. The worker whose decrement
  reaches 0 claims the source, reads the list back and stores everything in one transaction
  (so a source's health is recorded once, by one worker); then the source is marked complete.
- Workers stay up until every source of the run is complete; the last completion marks the run
  complete (kept for a day, so a late worker of the same run does nothing).

Single-machine collection (no --queue) does not touch this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scrapy_redis.scheduler import Scheduler

from aggregator.items import EventItem, GroupItem

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "eventscout"
DEFAULT_LEASE_S = 15.0       # a worker silent this long is presumed dead
RUN_TTL_S = 24 * 3600        # every key of a run expires after this
SEED_CLAIM_S = 120           # a seeder that has not seeded after this is presumed dead
RID = "eventscout_rid"       # request meta key: the request's id in the run


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def queue_prefix() -> str:
    return os.environ.get("EVENTSCOUT_QUEUE_PREFIX") or DEFAULT_PREFIX


def queue_lease() -> float:
    try:
        return max(1.0, float(os.environ.get("EVENTSCOUT_QUEUE_LEASE") or DEFAULT_LEASE_S))
    except ValueError:
        return DEFAULT_LEASE_S


class QueueError(Exception):
    """The shared queue cannot be used; the message says why."""


def connect(url: str):  # type: ignore[no-untyped-def]
    import redis

    try:
        server = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=30)
        server.ping()
    except (redis.RedisError, ValueError) as exc:
        raise QueueError(f"cannot reach the queue {url}: {exc}") from None
    return server


class Keys:
    """The Redis keys of one run."""

    def __init__(self, prefix: str, run: str) -> None:
        self.prefix, self.run = prefix, run
        base = f"{prefix}:{run}"
        self.base = base
        self.seed = f"{base}:seed"              # seeder's worker id (SET NX)
        self.meta = f"{base}:meta"              # now, seeded, seeder
        self.requests = f"{base}:requests"      # scrapy-redis priority queue (zset)
        self.dupefilter = f"{base}:dupefilter"  # request fingerprints (set)
        self.inflight = f"{base}:inflight"      # payload -> worker id
        self.done = f"{base}:done"              # request ids whose callback finished
        self.pending = f"{base}:pending"        # source -> requests queued or in flight
        self.open = f"{base}:open"              # sources not stored yet
        self.complete = f"{base}:complete"      # set when every source is stored
        self.workers = f"{prefix}:worker:"      # + worker id: heartbeat (expires)
        self.current = f"{prefix}:current"      # the run workers without --now join

    def state(self, source: str) -> str:
        return f"{self.base}:state:{source}"

    def items(self, source: str) -> str:
        return f"{self.base}:items:{source}"

    def warnings(self, source: str) -> str:
        return f"{self.base}:warnings:{source}"

    def storing(self, source: str) -> str:
        return f"{self.base}:storing:{source}"


@dataclass
class RunInfo:
    url: str
    prefix: str
    id: str
    now: datetime
    worker: str
    seeder: bool
    complete: bool = False
    lease: float = DEFAULT_LEASE_S


def run_id_for(now: datetime, sources: list[str]) -> str:
    raw = json.dumps([now.astimezone(UTC).isoformat(), sorted(sources)])
    return "r" + hashlib.sha1(raw.encode()).hexdigest()[:12]


def join_run(url: str, now: datetime | None, sources: list[str], *, prefix: str | None = None,
             lease: float | None = None) -> RunInfo:
    """Find or start the run this worker takes part in; claim its seeding if nobody has."""
    prefix = prefix or queue_prefix()
    lease = lease or queue_lease()
    server = connect(url)
    wid = worker_id()
    run = os.environ.get("EVENTSCOUT_RUN_ID")
    if run is None and now is not None:
        run = run_id_for(now, sources)
    if run is None:
        fresh = {"id": "r" + uuid.uuid4().hex[:12], "now": datetime.now(UTC).isoformat()}
        server.set(f"{prefix}:current", json.dumps(fresh), nx=True, ex=RUN_TTL_S)
        raw = server.get(f"{prefix}:current")
        current = json.loads(raw) if raw else fresh
        run, now = current["id"], datetime.fromisoformat(current["now"])
    assert run is not None
    keys = Keys(prefix, run)
    server.set(keys.workers + wid, "1", ex=max(1, int(lease)))
    if server.exists(keys.complete):
        return RunInfo(url, prefix, run, now or datetime.now(UTC), wid, False, True, lease)
    seeder = bool(server.set(keys.seed, wid, nx=True, ex=SEED_CLAIM_S))
    if seeder and now is None:
        now = datetime.now(UTC)
    if now is None:
        stored = server.hget(keys.meta, "now")
        now = datetime.fromisoformat(stored.decode()) if stored else datetime.now(UTC)
    if seeder:
        server.hset(keys.meta, mapping={"now": now.isoformat(), "seeder": wid, "seeded": 0})
        server.expire(keys.meta, RUN_TTL_S)
    return RunInfo(url, prefix, run, now, wid, seeder, False, lease)


class Heartbeat:
    """Refreshes this worker's heartbeat key from a thread (a long store in the reactor thread
    must not make the worker look dead)."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.server = connect(run.url)
        self.key = Keys(run.prefix, run.id).workers + run.worker
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="eventscout-heartbeat", daemon=True)

    def _beat(self) -> None:
        import redis

        while not self.stop_event.is_set():
            try:
                self.server.set(self.key, "1", ex=max(1, int(round(self.run.lease))))
            except redis.RedisError as exc:
                logger.warning("heartbeat to the queue failed: %s", exc)
            self.stop_event.wait(self.run.lease / 4)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)
        try:
            self.server.delete(self.key)
        finally:
            self.server.close()


# ---------------------------------------------------------------------------- items as JSON

def _enc(value: Any) -> Any:
    if isinstance(value, datetime):
        out = {"$dt": value.isoformat()}
        key = getattr(value.tzinfo, "key", None)
        if key:
            out["tz"] = key
        return out
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_enc(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _enc(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _dec(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            parsed = datetime.fromisoformat(value["$dt"])
            if value.get("tz") and parsed.tzinfo is not None:
                parsed = parsed.astimezone(ZoneInfo(value["tz"]))
            return parsed
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        return {k: _dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


def item_to_json(item: EventItem | GroupItem) -> str:
    kind = "event" if isinstance(item, EventItem) else "group"
    fields = {f.name: _enc(getattr(item, f.name)) for f in dataclasses.fields(item) if f.name != "precomputed"}
    return json.dumps({"kind": kind, "fields": fields}, ensure_ascii=False)


def item_from_json(text: str | bytes) -> EventItem | GroupItem:
    data = json.loads(text)
    cls = EventItem if data["kind"] == "event" else GroupItem
    return cls(**{k: _dec(v) for k, v in data["fields"].items()})


# ---------------------------------------------------------------------------- Lua

# KEYS: requests, inflight; ARGV: worker -> payload or false
_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0)
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], r[1], ARGV[1])
return r[1]
"""
# KEYS: dupefilter, requests, pending; ARGV: fingerprint ('' = unfiltered), payload, score, source
_ENQUEUE = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
return 1
"""
# a popped request comes back (retry, redirect): same request id, no new pending count
# KEYS: inflight, requests; ARGV: old payload, new payload, score
_REQUEUE = """
if ARGV[1] ~= '' then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
"""
# a request's callback is done: -1 on its source once per request id; the in-flight entry is
# kept while the source is to be stored (its worker may die before the commit)
# KEYS: done, pending, inflight; ARGV: request id, source, payload
_FINISH = """
local n
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  n = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
else
  n = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
end
if n > 0 then redis.call('HDEL', KEYS[3], ARGV[3]) end
return n
"""
# KEYS: storing, open; ARGV: worker, worker key prefix, source
_CLAIM = """
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then return 0 end
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] or redis.call('EXISTS', ARGV[2] .. cur) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', 86400)
  return 1
end
return 0
"""
# KEYS: open, inflight, state, items, warnings, storing, complete, current, requests, dupefilter,
#       done, pending; ARGV: source, payload, run id, ttl
_COMPLETE = """
redis.call('SREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[2]) end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('SET', KEYS[7], '1', 'EX', tonumber(ARGV[4]))
  local cur = redis.call('GET', KEYS[8])
  if cur and string.find(cur, ARGV[3], 1, true) then redis.call('DEL', KEYS[8]) end
  redis.call('DEL', KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[2])
  return 1
end
return 0
"""
# KEYS: inflight, requests; ARGV: payload, dead worker
_REAP = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
  return 1
end
return 0
"""


# ---------------------------------------------------------------------------- the scheduler

class RunScheduler(Scheduler):
    """scrapy-redis's scheduler, extended for eventscout runs (see the module docstring).

    The spider reaches it as `crawler.eventscout_queue` to record per-source state, push items,
    queue follow links and finish requests."""

    POKE_S = 0.2     # how often an idle worker looks at the shared queue
    REAP_S = 1.0     # how often it looks for requests of dead workers

    def __init__(self, server, *args: Any, **kwargs: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(server, *args, **kwargs)
        self.crawler: Any = None
        self.keys: Keys | None = None
        self.worker = ""
        self.seeder = False
        self.lease = DEFAULT_LEASE_S
        self.payloads: dict[str, bytes] = {}     # request id -> payload popped by this worker
        self.finishing: dict[str, bytes] = {}    # source -> payload of the request that closed it
        self.abandoned: str | None = None
        self._loop: Any = None
        self._ticks = 0
        self._complete = False
        self._pop = server.register_script(_POP)
        self._enqueue = server.register_script(_ENQUEUE)
        self._requeue = server.register_script(_REQUEUE)
        self._finish = server.register_script(_FINISH)
        self._claim = server.register_script(_CLAIM)
        self._complete_script = server.register_script(_COMPLETE)
        self._reap = server.register_script(_REAP)

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        instance = super().from_crawler(crawler)
        s = crawler.settings
        instance.crawler = crawler
        instance.keys = Keys(s.get("EVENTSCOUT_QUEUE_PREFIX"), s.get("EVENTSCOUT_RUN_ID"))
        instance.worker = s.get("EVENTSCOUT_WORKER_ID")
        instance.seeder = s.getbool("EVENTSCOUT_SEEDER")
        instance.lease = s.getfloat("EVENTSCOUT_QUEUE_LEASE", DEFAULT_LEASE_S)
        crawler.eventscout_queue = instance
        return instance

    # ------------------------------------------------------------ scheduler interface
    def open(self, spider):  # type: ignore[no-untyped-def]
        from scrapy.utils.misc import load_object
        from twisted.internet import task

        # scrapy-redis's open() without its deprecated spider.log() call
        self.spider = spider
        self.queue = load_object(self.queue_cls)(server=self.server, spider=spider,
                                                 key=self.queue_key % {"spider": spider.name},
                                                 serializer=self.serializer)
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if len(self.queue):
            logger.info("joining run %s: %d requests queued", self.keys.run if self.keys else "?",
                        len(self.queue))
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(self.POKE_S, now=False)

    def close(self, reason):  # type: ignore[no-untyped-def]
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return super().close(reason)

    def enqueue_request(self, request) -> bool:  # type: ignore[no-untyped-def]
        assert self.keys is not None
        score = -request.priority
        rid = request.meta.get(RID)
        if rid is not None:   # a retry or a redirect of a request this worker popped
            payload = self.queue._encode_request(request)
            old = self.payloads.pop(rid, b"")
            self._requeue(keys=[self.keys.inflight, self.keys.requests], args=[old, payload, score])
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
            return True
        request.meta[RID] = uuid.uuid4().hex
        payload = self.queue._encode_request(request)
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        added = self._enqueue(keys=[self.keys.dupefilter, self.keys.requests, self.keys.pending],
                              args=[fingerprint, payload, score, request.meta.get("source", "")])
        if not added:
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self):  # type: ignore[no-untyped-def]
        assert self.keys is not None
        payload = self._pop(keys=[self.keys.requests, self.keys.inflight], args=[self.worker])
        if not payload:
            return None
        request = self.queue._decode_request(payload)
        self.payloads[request.meta[RID]] = payload
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        """True while the run is not complete: a worker waits for the others' follow links."""
        if len(self) > 0:
            return True
        return not self.run_complete()

    # ------------------------------------------------------------ run state
    def run_complete(self) -> bool:
        assert self.keys is not None
        if self._complete or self.abandoned:
            return True
        self._complete = bool(self.server.exists(self.keys.complete))
        return self._complete

    def _tick(self) -> None:
        """Wake the engine (the queue may have work from other workers) and, now and then,
        take back the requests of workers that died."""
        import redis

        engine = getattr(self.crawler, "engine", None)
        slot = getattr(engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()
        self._ticks += 1
        if self._ticks % max(1, int(self.REAP_S / self.POKE_S)):
            return
        try:
            self.reap()
            self._check_seed()
        except redis.RedisError as exc:
            logger.warning("the queue is not answering: %s", exc)

    def _check_seed(self) -> None:
        assert self.keys is not None
        if self.server.hget(self.keys.meta, "seeded") == b"1":
            return
        seeder = self.server.get(self.keys.seed)
        if seeder is None or not self.server.exists(self.keys.workers + seeder.decode()):
            self.abandoned = "the worker that was to seed this run is gone; run collect again"
            logger.error(self.abandoned)

    def reap(self) -> int:
        """Push back on the queue the requests held by workers whose heartbeat expired."""
        assert self.keys is not None
        taken = 0
        alive: dict[bytes, bool] = {}
        for payload, owner in self.server.hgetall(self.keys.inflight).items():
            if owner not in alive:
                alive[owner] = bool(self.server.exists(self.keys.workers + owner.decode()))
            if not alive[owner]:
                taken += self._reap(keys=[self.keys.inflight, self.keys.requests], args=[payload, owner])
        if taken:
            logger.warning("took back %d requests of a worker that stopped", taken)
            if self.stats:
                self.stats.inc_value("eventscout/requests_taken_back", taken)
        return taken

    def seed(self, starts: list[tuple[Any, str | None]]) -> None:
        """Write each source's bookkeeping and push the start requests, in one transaction.
        `starts`: (request, content hash of the source's last run)."""
        assert self.keys is not None
        k = self.keys
        pipe = self.server.pipeline(transaction=True)
        for request, prev_hash in starts:
            source = request.meta["source"]
            request.meta[RID] = uuid.uuid4().hex
            pipe.hset(k.pending, source, 1)
            pipe.sadd(k.open, source)
            pipe.hset(k.state(source), mapping={"prev_hash": prev_hash or "", "items": 0})
            pipe.zadd(k.requests, {self.queue._encode_request(request): -request.priority})
        pipe.hset(k.meta, "seeded", 1)
        for key in (k.pending, k.open, k.meta, k.seed, k.requests, k.dupefilter):
            pipe.expire(key, RUN_TTL_S)
        pipe.execute()

    def state(self, source: str) -> dict[str, str]:
        assert self.keys is not None
        raw = self.server.hgetall(self.keys.state(source))
        return {a.decode(): b.decode() for a, b in raw.items()}

    def set_state(self, source: str, **values: Any) -> None:
        assert self.keys is not None
        if values:
            self.server.hset(self.keys.state(source),
                             mapping={k: ("" if v is None else str(v)) for k, v in values.items()})

    def add_items(self, source: str, items: list[Any], warnings: list[str]) -> int:
        """Push a response's parsed items (and warnings); the source's item count after it."""
        assert self.keys is not None
        pipe = self.server.pipeline(transaction=True)
        events = sum(isinstance(i, EventItem) for i in items)
        if items:
            pipe.rpush(self.keys.items(source), *[item_to_json(i) for i in items])
        if warnings:
            pipe.rpush(self.keys.warnings(source), *warnings)
        pipe.hincrby(self.keys.state(source), "items", events)
        return int(pipe.execute()[-1])

    def finish(self, request) -> int:  # type: ignore[no-untyped-def]
        """The request's callback is done; returns how many of its source's requests are left."""
        assert self.keys is not None
        rid = request.meta[RID]
        source = request.meta["source"]
        payload = self.payloads.pop(rid, b"")
        left = int(self._finish(keys=[self.keys.done, self.keys.pending, self.keys.inflight],
                                args=[rid, source, payload]))
        if left <= 0:
            self.finishing[source] = payload
        return left

    def claim(self, source: str) -> bool:
        """Become the worker that stores `source` (unless a live one already is)."""
        assert self.keys is not None
        return bool(self._claim(keys=[self.keys.storing(source), self.keys.open],
                                args=[self.worker, self.keys.workers, source]))

    def gather(self, source: str) -> tuple[list[EventItem | GroupItem], list[str]]:
        assert self.keys is not None
        items = [item_from_json(raw) for raw in self.server.lrange(self.keys.items(source), 0, -1)]
        warnings = [w.decode() for w in self.server.lrange(self.keys.warnings(source), 0, -1)]
        return items, warnings

    def complete(self, source: str) -> bool:
        """The source is stored: forget its bookkeeping; True when that completed the run."""
        assert self.keys is not None
        k = self.keys
        payload = self.finishing.pop(source, b"")
        done = bool(self._complete_script(
            keys=[k.open, k.inflight, k.state(source), k.items(source), k.warnings(source),
                  k.storing(source), k.complete, k.current, k.requests, k.dupefilter, k.done, k.pending],
            args=[source, payload, k.run, RUN_TTL_S]))
        if done:
            self._complete = True
        return done
