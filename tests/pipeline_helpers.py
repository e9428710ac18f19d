"""Shared set-up of the pipeline tests: settings, running bot, pages and drain waits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis

from bot import keys
from bot.settings import Settings, load_settings

TOKEN = "test-ingest-token"

CLUSTER_SHARDS = 3
"""Delivery shards per platform in tests on the cluster (one per primary)."""

current = {"shards": 1}
"""Set per test by conftest: the delivery shards the test's settings and waits use."""


def delivery_streams(platform: str) -> list[str]:
    """The delivery streams of ``platform`` under the current test's shard count."""
    return keys.delivery_streams(platform, current["shards"])


async def delivery_entries(
    redis: aioredis.Redis, platform: str
) -> list[tuple[str, dict[str, str]]]:
    """Every entry on the platform's delivery streams (all shards)."""
    out: list[tuple[str, dict[str, str]]] = []
    for stream in delivery_streams(platform):
        out.extend(await stream_entries(redis, stream))
    return out


def pipeline_settings(**overrides: Any) -> Settings:
    """Fast settings for tests: short leases and backoff, local fetching allowed."""
    values: dict[str, Any] = {
        "fetch_allow_hosts": ["127.0.0.1"],
        "http_host": "127.0.0.1",
        "http_port": 0,
        "ingest_token": TOKEN,
        "workers": 1,
        "delivery_lease_s": 1.0,
        "delivery_backoff_base_s": 0.02,
        "delivery_backoff_max_s": 0.1,
        "delivery_max_attempts": 4,
        "discord_channel_rate": 50,
        "discord_channel_period_s": 1.0,
        "discord_global_rate": 200,
        "slack_channel_rate": 50,
        "delivery_shards": current["shards"],
    }
    values.update(overrides)
    return load_settings(**values)


async def stream_entries(redis: aioredis.Redis, stream: str) -> list[tuple[str, dict[str, str]]]:
    """The whole stream (XRANGE) as ``(id, fields)`` pairs of strings."""
    return [
        (str(entry_id), {str(k): str(v) for k, v in (fields or {}).items()})
        for entry_id, fields in await redis.xrange(stream) or []
    ]


async def drained(redis: aioredis.Redis, platforms: tuple[str, ...] = ("discord",),
                  timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Wait until the ingest and delivery streams are empty (every entry acknowledged)."""
    names = [keys.INGEST_STREAM, *(s for p in platforms for s in delivery_streams(p))]
    deadline = time.monotonic() + timeout
    while True:
        lengths = [int(await redis.xlen(n)) for n in names]
        if not any(lengths):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"streams not drained: {dict(zip(names, lengths, strict=True))}")
        await asyncio.sleep(0.05)
