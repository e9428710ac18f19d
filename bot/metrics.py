"""Prometheus metrics of the pipeline, on a registry of their own (never the global one)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Every counter, histogram and gauge of the pipeline; passed into the components."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.links_in = Counter(
            "newsbot_links_in", "Links submitted to the pipeline", ["origin"], registry=r
        )
        self.links_failed = Counter(
            "newsbot_links_failed", "Links that could not become a card", ["reason"], registry=r
        )
        self.cards = Counter("newsbot_cards", "Cards made from fetched pages", registry=r)
        self.duplicates = Counter(
            "newsbot_duplicates", "Articles seen before (by URL or content)", ["kind"], registry=r
        )
        self.matches = Counter(
            "newsbot_matches", "Destinations a card matched", ["mode"], registry=r
        )
        self.posts_sent = Counter(
            "newsbot_posts_sent", "Posts delivered", ["platform"], registry=r
        )
        self.posts_edited = Counter(
            "newsbot_posts_edited", "Posts edited in place (their article changed)",
            ["platform"], registry=r
        )
        self.posts_failed = Counter(
            "newsbot_posts_failed", "Failed post attempts", ["platform", "reason"], registry=r
        )
        self.posts_retried = Counter(
            "newsbot_posts_retried", "Post attempts retried", ["platform", "reason"], registry=r
        )
        self.posts_dead_lettered = Counter(
            "newsbot_posts_dead_lettered",
            "Posts in the dead-letter stream instead of posted: retries exhausted (failed, "
            "rate_limited), refused (rejected), unreadable, error, or never queued "
            "(backlog_full) or whose card expired (card_expired)",
            ["platform", "reason"],
            registry=r,
        )
        self.posts_skipped = Counter(
            "newsbot_posts_skipped",
            "Deliveries acknowledged without posting",
            ["platform", "reason"],
            registry=r,
        )
        self.destinations_disabled = Counter(
            "newsbot_destinations_disabled",
            "Destinations disabled because they can no longer be reached",
            ["platform"],
            registry=r,
        )
        self.rate_limit_waits = Counter(
            "newsbot_rate_limit_waits",
            "Times a post waited for its rate budget",
            ["platform"],
            registry=r,
        )
        self.reclaimed = Counter(
            "newsbot_reclaimed",
            "Stream entries taken over from a dead or stalled consumer",
            ["stream"],
            registry=r,
        )
        self.entries_vanished = Counter(
            "newsbot_entries_vanished",
            "Pending stream entries deleted by someone before being handled (lost work)",
            ["stream"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "newsbot_queue_depth", "Entries in a pipeline stream", ["stream"], registry=r
        )
        self.queue_pending = Gauge(
            "newsbot_queue_pending", "Entries read but not acknowledged", ["stream"], registry=r
        )
        self.fetch_seconds = Histogram(
            "newsbot_fetch_seconds", "Time to fetch a page", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.post_seconds = Histogram(
            "newsbot_post_seconds",
            "Time of one platform post call",
            ["platform"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_latency_seconds = Histogram(
            "newsbot_delivery_latency_seconds",
            "From link in to post out, fetch time excluded",
            ["platform"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    async def refresh_queues(self, redis: aioredis.Redis, streams: Iterable[str]) -> None:
        """Set the depth and pending gauges of ``streams`` from Redis (called on scrape)."""
        for stream in streams:
            try:
                depth = int(await redis.xlen(stream))
                pending: Any = 0
                groups: Any = await redis.xinfo_groups(stream)
                pending = sum(int(g.get("pending") or 0) for g in groups)
            except ResponseError:
                depth, pending = 0, 0  # the stream does not exist yet
            except RedisError as exc:
                log.warning("queue gauges for %s not refreshed: %s", stream, exc)
                continue
            self.queue_depth.labels(stream=stream).set(depth)
            self.queue_pending.labels(stream=stream).set(pending)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
