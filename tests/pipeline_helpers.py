"""Shared set-up of the pipeline tests: settings, running bot, pages and drain waits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis

from bot import keys
from bot.settings import Settings, load_settings

TOKEN = "test-ingest-token"


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
    names = [keys.INGEST_STREAM, *(keys.delivery_stream(p) for p in platforms)]
    deadline = time.monotonic() + timeout
    while True:
        lengths = [int(await redis.xlen(n)) for n in names]
        if not any(lengths):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"streams not drained: {dict(zip(names, lengths, strict=True))}")
        await asyncio.sleep(0.05)
