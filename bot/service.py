"""The composition root: ``Newsbot`` wires Redis, fetching, matching and the pipeline.

Built from ``Settings`` (plus, optionally, an open Redis client), used as an async context
manager. Adapters register with it and get a sender on their platform's delivery stream;
they call ``handle`` for commands, ``summarize`` for a card and ``submit`` for links.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import AsyncExitStack
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.abc import AbstractResolver

from bot import keys
from bot.article import ParsePool
from bot.card import Card
from bot.chat import Adapter, CommandContext, Destination, HttpMountable, Reply, Request
from bot.chat import handle as handle_command
from bot.feeds import FeedManager, FeedPoller, FeedStore
from bot.fetch import Fetcher, FetchPolicy, make_session
from bot.httpserver import HttpServer, build_app
from bot.metrics import Metrics
from bot.panel import Grant, Panel, PanelDeps, load_secret
from bot.pipeline import (
    Deduper,
    DigestQueue,
    DigestScheduler,
    Ingest,
    Outbox,
    RateLimiter,
    Sender,
    StreamConsumer,
    Worker,
    consumer_name,
)
from bot.redis_cluster import ReplicaWait, is_cluster
from bot.redis_server import REDIS_ERRORS, open_redis, retry_once
from bot.settings import Settings
from bot.subscriptions import DestinationMatch, Matcher, SubscriptionStore, TenantSettings
from bot.subscriptions import warm_up as warm_up_matching
from bot.upkeep import ensure_current

log = logging.getLogger(__name__)

KNOWN_PLATFORMS = ("discord", "slack", "console")


def pooled_client(base: aioredis.Redis, max_connections: int) -> aioredis.Redis:
    """A client on the same server whose pool waits for a free connection instead of failing.

    Hundreds of posts in flight would otherwise exhaust redis-py's default pool (an
    error); a blocking pool of ``max_connections`` queues them instead.
    """
    if is_cluster(base):
        return base  # RedisCluster keeps a pool per node (CLUSTER_MAX_CONNECTIONS each)
    pool = base.connection_pool
    kwargs = {**pool.connection_kwargs, "retry": retry_once()}
    blocking = aioredis.BlockingConnectionPool(
        connection_class=pool.connection_class,
        max_connections=max_connections,
        timeout=30,
        **kwargs,
    )
    return aioredis.Redis(connection_pool=blocking)


class Newsbot:
    """The running bot core: pipeline workers, a sender per adapter, the HTTP server."""

    def __init__(
        self,
        settings: Settings,
        *,
        redis: aioredis.Redis | None = None,
        workers: int | None = None,
        http: bool = True,
        resolver: AbstractResolver | None = None,
        block_ms: int = 1000,
        parser: ParsePool | None = None,
    ) -> None:
        self.settings = settings
        # Given (tests): used instead of one built from the settings, and closed with us.
        self._given_parser = parser
        self.parser: ParsePool | None = None
        self._given_redis = redis
        self.n_workers = settings.workers if workers is None else workers
        self.http_enabled = http
        self.resolver = resolver
        self.block_ms = block_ms
        self.metrics = Metrics()
        self.adapters: dict[str, Adapter] = {}
        self.workers: list[Worker] = []
        self.senders: dict[str, list[Sender]] = {}
        self.http: HttpServer | None = None
        self.app: web.Application | None = None
        self.panel: Panel | None = None
        self._stack = AsyncExitStack()
        self._started = False

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Newsbot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect, load the subscriptions, start workers, senders, adapters and HTTP."""
        settings = self.settings
        stack = self._stack
        try:
            if self._given_redis is not None:
                base = self._given_redis
            else:
                base = await stack.enter_async_context(open_redis(settings))
            self.redis = pooled_client(base, settings.redis_max_connections)
            if self.redis is not base:
                stack.push_async_callback(self.redis.aclose)
            await ensure_current(self.redis)
            # Pages are parsed in worker processes, each within NEWSBOT_PARSE_TIMEOUT_S and
            # NEWSBOT_PARSE_MAX_MEMORY_MB; a process that chats keeps one for people.
            self.parser = self._given_parser or ParsePool.from_settings(
                settings, consumers=self.n_workers,
                chat_lane=bool(self.adapters) or self.http_enabled)
            stack.push_async_callback(self.parser.close)
            await self.parser.start()
            policy = FetchPolicy.from_settings(settings)
            session = make_session(policy, resolver=self.resolver)
            stack.push_async_callback(session.close)
            self.fetcher = Fetcher(session, policy)
            self.store = SubscriptionStore.from_settings(self.redis, settings)
            self.matcher = Matcher(self.store, min_body_mentions=settings.match_min_body_mentions)
            await self.matcher.start()
            stack.push_async_callback(self.matcher.stop)
            # Before the first link, not on it (the first match would load them).
            await asyncio.to_thread(warm_up_matching)
            self.deduper = Deduper(self.redis, ttl_s=settings.dedupe_ttl_s)
            self.limiter = RateLimiter.from_settings(self.redis, settings)
            self.ingest = Ingest(self.redis, self.metrics, maxlen=settings.stream_maxlen)
            self.digests = DigestQueue(self.redis, ttl_s=settings.dedupe_ttl_s)
            self.feed_store = FeedStore(self.redis)
            self.poller = FeedPoller(self.feed_store, self.fetcher, self.ingest, settings)
            self.feeds = FeedManager(self.feed_store, self.poller,
                                     max_per_channel=settings.max_feeds_per_channel)
            self.tenants = TenantSettings(self.redis, settings.digest_timezone)
            self.digest_scheduler = DigestScheduler(
                self.digests, self.store, digest_hour=settings.digest_hour,
                timezone=settings.digest_timezone, tenants=self.tenants,
                shards=settings.delivery_shards)
            # Deliveries and done-markers reach a replica before their entry is acked.
            self.replicas = ReplicaWait(self.redis, replicas=settings.redis_wait_replicas,
                                        timeout_ms=settings.redis_wait_timeout_ms)
            self.outbox = Outbox(
                self.redis, self.metrics, cap=settings.stream_maxlen,
                wait_s=settings.delivery_backlog_wait_s, card_ttl_s=settings.card_ttl_s,
                dead_letter_maxlen=settings.dead_letter_maxlen,
                shards=settings.delivery_shards, replicas=self.replicas)
            for i in range(self.n_workers):
                worker = Worker(
                    self.redis, self.metrics,
                    fetcher=self.fetcher, deduper=self.deduper, matcher=self.matcher,
                    digests=self.digests, outbox=self.outbox, parser=self.parser,
                    consumer=consumer_name("worker", i),
                    dead_letter_maxlen=settings.dead_letter_maxlen,
                    concurrency=settings.worker_concurrency,
                    lease_s=settings.delivery_lease_s, block_ms=self.block_ms,
                    forget_after_s=settings.consumer_forget_after_s,
                )
                await worker.start()
                self.workers.append(worker)
            await self.poller.start()
            stack.push_async_callback(self.poller.stop)
            await self.digest_scheduler.start()
            stack.push_async_callback(self.digest_scheduler.stop)
            if self.http_enabled:
                self.app = build_app(
                    ingest=self.ingest, metrics=self.metrics, health=self.health,
                    refresh=self.refresh_metrics, token=settings.ingest_token,
                )
                secret = load_secret(
                    settings.secret_key.get_secret_value() if settings.secret_key else None,
                    settings.data_dir)
                self.panel = Panel(PanelDeps(
                    redis=self.redis, subscriptions=self.store, feeds=self.feeds,
                    summarize=self.summarize, match=self._match_now, health=self.health,
                    secret=secret, min_body_mentions=settings.match_min_body_mentions,
                    secure_cookie=(settings.public_url or "").startswith("https://"),
                    delivery_shards=settings.delivery_shards,
                ))
                self.panel.mount(self.app)
                # Routes must be added before the server starts (Slack's /slack/events).
                for adapter in self.adapters.values():
                    if isinstance(adapter, HttpMountable):
                        adapter.attach(self.app)
            self._started = True
            for adapter in list(self.adapters.values()):
                await self._start_adapter(adapter)
            if self.app is not None:
                self.http = HttpServer(self.app, settings.http_host, settings.http_port)
                # Our own port is never an allowed fetch target (the port may be the
                # system's pick): no page can make the bot call its own endpoints.
                policy.own_ports.add(await self.http.start())
        except BaseException:
            await self.close()
            raise

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop HTTP, finish (or leave pending) work in progress, disconnect everything."""
        if self.http is not None:
            await self.http.stop()
            self.http = None
        if self.parser is not None:
            # Reading pages is redone by the next process at no cost; the CPU its workers
            # burn is better spent finishing the posts in flight within the grace.
            self.parser.stop_pipeline()
        consumers: list[StreamConsumer] = [
            *self.workers, *(s for shard in self.senders.values() for s in shard)]
        await asyncio.gather(*(c.stop(grace_s) for c in consumers))
        self.workers.clear()
        self.senders.clear()
        if self._started:
            for adapter in self.adapters.values():
                try:
                    await adapter.close()
                except Exception:
                    log.exception("closing the %s adapter failed", adapter.platform)
        self._started = False
        await self._stack.aclose()

    def register_adapter(self, adapter: Adapter) -> None:
        """Add an adapter before ``start``: it and its sender start with the bot."""
        if self._started:
            raise RuntimeError("the bot is running: use `await add_adapter(adapter)`")
        if adapter.platform in self.adapters:
            raise ValueError(f"an adapter for {adapter.platform} is already registered")
        self.adapters[adapter.platform] = adapter

    async def add_adapter(self, adapter: Adapter) -> None:
        """Add an adapter to a running bot: start it and its sender now."""
        if adapter.platform in self.adapters:
            raise ValueError(f"an adapter for {adapter.platform} is already registered")
        self.adapters[adapter.platform] = adapter
        if self._started:
            await self._start_adapter(adapter)

    async def _start_adapter(self, adapter: Adapter) -> None:
        settings = self.settings
        await adapter.start()
        shards = settings.delivery_shards
        # One sender per shard; together they keep delivery_concurrency posts in flight.
        concurrency = max(1, -(-settings.delivery_concurrency // shards))
        senders = self.senders.setdefault(adapter.platform, [])
        for shard, stream in enumerate(keys.delivery_streams(adapter.platform, shards)):
            sender = Sender(
                self.redis, self.metrics,
                adapter=adapter, store=self.store, limiter=self.limiter, deduper=self.deduper,
                consumer=consumer_name(f"sender-{adapter.platform}", shard),
                dead_letter_maxlen=settings.dead_letter_maxlen, done_ttl_s=settings.dedupe_ttl_s,
                max_attempts=settings.delivery_max_attempts,
                max_rate_limited=settings.delivery_max_rate_limited,
                backoff_base_s=settings.delivery_backoff_base_s,
                backoff_max_s=settings.delivery_backoff_max_s,
                concurrency=concurrency,
                lease_s=settings.delivery_lease_s, block_ms=self.block_ms,
                forget_after_s=settings.consumer_forget_after_s,
                stream=stream, shards=shards, replicas=self.replicas,
            )
            await sender.start()
            senders.append(sender)

    # --- what adapters call -----------------------------------------------------------

    async def handle(self, request: Request) -> Reply:
        """Run a chat command."""
        ctx = CommandContext(self.store, clock=time.time, summarize=self.summarize,
                             feeds=self.feeds, tenants=self.tenants, share=self._share,
                             dashboard=self._dashboard_link if self.panel else None)
        return await handle_command(ctx, request)

    async def summarize(self, url: str) -> Card:
        """Fetch and parse one link into a card (raises FetchError or ParseError)."""
        page = await self.fetcher.fetch(url)
        return await self._parser().parse(page.text, page.url, chat=True)

    async def parse(self, content: str | bytes, url: str | None = None) -> Card:
        """A card for page content a person handed over (a local file, stdin)."""
        return await self._parser().parse(content, url, chat=True)

    def _parser(self) -> ParsePool:
        if self.parser is None:
            raise RuntimeError("the bot is not started")
        return self.parser

    def _match_now(self, card: Card) -> list[DestinationMatch]:
        return list(self.matcher.match(card, time.time()))

    def public_url(self) -> str:
        """Where people reach the HTTP server: NEWSBOT_PUBLIC_URL, else its own address."""
        if self.settings.public_url:
            return self.settings.public_url
        host = self.settings.http_host
        if host in ("0.0.0.0", "::", ""):
            host = "localhost"
        port = self.http.port if self.http is not None else self.settings.http_port
        return f"http://{host}:{port}"

    async def _dashboard_link(self, request: Request) -> str:
        assert self.panel is not None
        grant = Grant(request.tenant, request.user, request.can_manage)
        return await self.panel.login_link(self.public_url(), grant)

    async def _share(self, url: str, tenant: str, channel: str | None) -> str:
        seen_in = Destination(tenant, "channel", channel) if channel else None
        return await self.ingest.submit(url, tenant, "chat", seen_in=seen_in)

    async def submit(self, url: str, tenant: str | None = None, origin: str = "chat") -> str:
        """Queue a link for matching (one tenant's subscriptions, or all); the job id."""
        return await self.ingest.submit(url, tenant, origin)

    # --- health and metrics -----------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """Whether Redis answers, every stream consumer's last read worked (the pipeline
        moves) and every adapter is connected."""
        redis_ok = False
        with contextlib.suppress(*REDIS_ERRORS, TimeoutError):
            async with asyncio.timeout(2.0):
                redis_ok = bool(await self.redis.ping())
        adapters = {name: bool(a.connected) for name, a in self.adapters.items()}
        consumers: list[StreamConsumer] = [
            *self.workers, *(s for shard in self.senders.values() for s in shard)]
        pipeline = {c.consumer: "ok" if c.healthy else (c.last_error or "stopped")
                    for c in consumers}
        ok = redis_ok and all(adapters.values()) and all(v == "ok" for v in pipeline.values())
        return {"ok": ok, "redis": redis_ok, "adapters": adapters, "pipeline": pipeline}

    def streams(self) -> list[str]:
        """The pipeline streams whose depth the metrics report."""
        platforms = sorted({*KNOWN_PLATFORMS, *self.adapters})
        shards = self.settings.delivery_shards
        return [keys.INGEST_STREAM,
                *(s for p in platforms for s in keys.delivery_streams(p, shards)),
                keys.DEAD_LETTER_STREAM]

    async def refresh_metrics(self) -> None:
        """Update the queue gauges (called on each scrape)."""
        await self.metrics.refresh_queues(self.redis, self.streams())
