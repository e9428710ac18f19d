
"""A worker process killed with SIGKILL while posting loses nothing and posts nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination
from bot.metrics import Metrics
from bot.pipeline.ingest import Ingest
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, PageServer, article_html, story
from tests.pipeline_helpers import current, drained

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

ROOT = Path(__file__).resolve().parent.parent
G = "discord:g1"
CHANNELS = [Destination(G, "channel", f"c{i}") for i in range(4)]
ARTICLES = 15


async def _start_worker(redis_url: str, platform: FakePlatform) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "NEWSBOT_REDIS_URL": redis_url,
        "NEWSBOT_FETCH_ALLOW_HOSTS": "127.0.0.1",
        "NEWSBOT_WORKERS": "1",
        "NEWSBOT_DELIVERY_CONCURRENCY": "4",
        "NEWSBOT_DELIVERY_LEASE_S": "1",
        "NEWSBOT_DISCORD_CHANNEL_RATE": "100",
        "NEWSBOT_DISCORD_GLOBAL_RATE": "1000",
        "NEWSBOT_LOG_LEVEL": "WARNING",
        "NEWSBOT_DELIVERY_SHARDS": str(current["shards"]),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_worker", platform.base_url,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.strip() == b"ready", line
    return proc



async def test_sigkill_while_posting_then_takeover_posts_each_once(
    redis: aioredis.Redis, redis_url: str, pages: PageServer
) -> None:
    store = SubscriptionStore(redis)
    for i, channel in enumerate(CHANNELS):
        await store.add(G, f"u{i}", channel, "syria")
    # Slow answers keep many posts in flight when the first worker dies.
    platform = await FakePlatform(delay_s=0.15).start()
    first = second = None
    try:
        first = await _start_worker(redis_url, platform)
        ingest = Ingest(redis, Metrics(), maxlen=10_000)
        for i in range(ARTICLES):
            pages.pages[f"/c/{i}"] = article_html(f"Syria {i}", story(500 + i, "Syria"))
            await ingest.submit(pages.url(f"/c/{i}"))
        expected = ARTICLES * len(CHANNELS)
        await platform.wait_for(expected // 3, timeout=30)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert platform.count() < expected, "the kill came too late to test anything"
        killed_at = platform.count()
        second = await _start_worker(redis_url, platform)
        await platform.wait_for(expected, timeout=30)
        await drained(redis, timeout=30)
        await asyncio.sleep(1.5)  # a late duplicate would show up here
        assert platform.count() == expected
        assert len(platform.order) == expected  # each (article, channel) created once
        per_channel = {str(c): 0 for c in CHANNELS}
        for message in platform.order:
            per_channel[message.channel] += 1
        assert set(per_channel.values()) == {ARTICLES}
        assert killed_at < expected
        assert await redis.xlen(keys.DEAD_LETTER_STREAM) == 0
        # SIGTERM: a clean exit, no traceback.
        second.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(second.communicate(), 20)
        assert second.returncode == 0, err.decode()
        assert b"Traceback" not in err, err.decode()
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
        await platform.stop()
