"""Dead letters name the real cause: the real discord.py adapter against the local fake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from adapters.discord import DiscordAdapter
from bot import keys
from bot.chat.contract import Destination, Post, Reply, Request
from bot.metrics import Metrics
from bot.pipeline import Deduper, RateLimiter, Sender, enqueue
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.pipeline_helpers import stream_entries

TENANT = f"discord:{GUILD_ID}"


class _Core:
    async def handle(self, request: Request) -> Reply:
        raise AssertionError("no commands in this test")


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[FakeDiscord, DiscordAdapter]]:
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(
        _env_file=None,
        discord_token="MTExMTExMTExMTExMTExMTEx.fake.token",
        discord_api_base=fake.api_base, discord_gateway_url=fake.gateway_url,
        discord_dev_guild=GUILD_ID,
    )
    running = DiscordAdapter(settings, _Core(), ready_timeout=10,
                             client_options={"guild_ready_timeout": 0.05})
    await running.start()
    try:
        yield fake, running
    finally:
        await running.close()
        await fake.stop()


async def test_a_post_timing_out_on_http_500s_is_dead_lettered_with_them(
        redis: aioredis.Redis, adapter: tuple[FakeDiscord, DiscordAdapter]) -> None:
    fake, discord = adapter
    for _ in range(10):  # discord.py retries a 500 itself, after 1 s, 3 s, ...
        fake.fail_next(f"/channels/{CHANNEL_ID}/messages", 500, {"message": "internal"})
    sender = Sender(
        redis, Metrics(), adapter=discord, store=SubscriptionStore(redis),
        limiter=RateLimiter(redis, {}), deduper=Deduper(redis, ttl_s=60),
        consumer="sender-test", dead_letter_maxlen=100, done_ttl_s=60, max_attempts=2,
        backoff_base_s=0.01, backoff_max_s=0.02, post_timeout_s=0.5, lease_s=5.0,
        block_ms=100,
    )
    await sender.start()
    try:
        pipe = redis.pipeline()
        enqueue(pipe, Post(Destination(TENANT, "channel", str(CHANNEL_ID)), "k1", note="hi"))
        await pipe.execute()
        deadline = time.monotonic() + 15
        while not await redis.xlen(keys.DEAD_LETTER_STREAM):
            assert time.monotonic() < deadline, "no dead letter"
            await asyncio.sleep(0.05)
    finally:
        await sender.stop(grace_s=0.1)
    [(_id, fields)] = await stream_entries(redis, keys.DEAD_LETTER_STREAM)
    assert fields["reason"].startswith("timeout after 2 attempts")
    assert "HTTP 500" in fields["reason"], fields["reason"]
