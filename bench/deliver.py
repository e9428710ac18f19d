"""Delivery throughput and latency through the whole pipeline, against enforced budgets.

Two worker processes (``tests/crash_worker.py``: pipeline workers plus a Discord-budget
sender each) share one Redis. A local fake platform enforces Discord's default budgets
(5 messages / 5 s per channel, 45 requests / s for the bot) with sliding windows and
answers 429 when one is exceeded. Pages come from a local server.

* Throughput: links matching 200 channels are submitted at once. Each channel gets at
  most one post per article, so the per-channel budget never binds and the global one does.
  ``budget_fraction`` is the time the fastest sender the budget allows would need for
  these posts over the time they took: with at most C posts in any period P, post N
  comes ``floor((N − 1) / C) · P`` after the first at best. ``posts_per_s`` is that
  fraction of the budget's rate. (``posts_per_s_naive``, ``(posts − C) / (last − first)``,
  is what earlier runs reported; it reads low when the run ends in a part-filled period,
  e.g. 94.9 % for a perfect sender of 600 posts at 45/s.)
* Latency: other links, paced well below the budgets, to 10 channels; the time from link
  in to post received at the platform, minus the fetch time (``Post.ready_at``).
* Fan-out past the stream cap: one article matching 2,000 channels (600 with ``--quick``)
  while the workers run with ``NEWSBOT_STREAM_MAXLEN=200``. Every post must be delivered
  or dead-lettered (``fanout_lost`` = 0), and the delivery stream must stay within its cap
  (``fanout_max_stream``): the worker waits for room instead of trimming.

Usage: ``python bench/deliver.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402

from bench.redis_for import run_on_redis  # noqa: E402
from bot import keys  # noqa: E402
from bot.chat import Destination  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.pipeline.ingest import Ingest  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.subscriptions import SubscriptionStore  # noqa: E402
from tests.fakes import FakePlatform, PageServer, article_html, story  # noqa: E402


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


# The budgets the bot is configured with by default, enforced exactly by the fake platform.
GLOBAL = (_default("discord_global_rate"), _default("discord_global_period_s"))
CHANNEL = (_default("discord_channel_rate"), _default("discord_channel_period_s"))
TENANT = "discord:bench"
BULK_CHANNELS = 200
PACED_CHANNELS = 10
FANOUT_CHANNELS = 2000
FANOUT_CHANNELS_QUICK = 600
FANOUT_CAP = 200


async def start_worker(redis_url: str, platform: FakePlatform,
                       extra_env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """One bot process with workers and a sender; waits until it is consuming."""
    env = {**os.environ, "NEWSBOT_REDIS_URL": redis_url,
           "NEWSBOT_FETCH_ALLOW_HOSTS": "127.0.0.1", "NEWSBOT_LOG_LEVEL": "WARNING"}
    for name in list(env):
        if name.startswith(("NEWSBOT_DISCORD_", "NEWSBOT_RATE_", "NEWSBOT_DELIVERY_",
                            "NEWSBOT_STREAM_")):
            del env[name]  # the defaults are what is measured
    env.update(extra_env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_worker", platform.base_url, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.strip() != b"ready":
        raise RuntimeError(f"worker did not start: {line!r}")
    return proc


async def wait_count(platform: FakePlatform, n: int, limit_s: float) -> None:
    """Wait for ``n`` messages in all, or return after ``limit_s`` (the rest counts as lost)."""
    with contextlib.suppress(TimeoutError):
        await platform.wait_for(n, timeout=limit_s)


async def run(quick: bool, redis_url: str) -> dict[str, Any]:
    """Both phases; the figures."""
    redis: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await redis.flushdb()
    store = SubscriptionStore(redis, max_per_user=1000)
    for i in range(BULK_CHANNELS):
        await store.add(TENANT, "admin", Destination(TENANT, "channel", f"b{i}"), "syria")
    for i in range(PACED_CHANNELS):
        await store.add(TENANT, "admin", Destination(TENANT, "channel", f"p{i}"), "ukraine")
    pages = await PageServer().start()
    platform = await FakePlatform(channel_budget=CHANNEL, global_budget=GLOBAL).start()
    workers = [await start_worker(redis_url, platform) for _ in range(2)]
    ingest = Ingest(redis, Metrics(), maxlen=100_000)
    bulk_articles = 3 if quick else 12
    paced_articles = 8 if quick else 20
    try:
        # --- throughput ------------------------------------------------------------
        for i in range(bulk_articles):
            pages.pages[f"/bulk/{i}"] = article_html(f"Syria bulk {i}", story(1000 + i, "Syria"))
        expected_bulk = bulk_articles * BULK_CHANNELS
        for i in range(bulk_articles):
            await ingest.submit(pages.url(f"/bulk/{i}"), origin="bench")
        await wait_count(platform, expected_bulk, expected_bulk / GLOBAL[0] * 2 + 30)
        bulk = [m for m in platform.order if (m.headline or "").startswith("Syria bulk")]
        times = sorted(m.at for m in bulk)
        span = times[-1] - times[0] if len(times) > 1 else float("nan")
        naive_per_s = (len(bulk) - GLOBAL[0]) / span if span > 0 else 0.0
        ideal_span = (len(bulk) - 1) // GLOBAL[0] * GLOBAL[1]
        fraction = ideal_span / span if span > 0 else 0.0
        posts_per_s = fraction * GLOBAL[0] / GLOBAL[1]
        # --- latency ---------------------------------------------------------------
        await asyncio.sleep(1.0)
        before = len(platform.order)
        for i in range(paced_articles):
            pages.pages[f"/paced/{i}"] = article_html(f"Ukraine paced {i}",
                                                      story(2000 + i, "Ukraine"))
            await ingest.submit(pages.url(f"/paced/{i}"), origin="bench")
            await asyncio.sleep(1.5)
        expected_paced = paced_articles * PACED_CHANNELS
        await wait_count(platform, before + expected_paced, 30)
        paced = [m for m in platform.order[before:] if m.ready_at is not None]
        latencies = sorted((m.at - float(m.ready_at or 0.0)) * 1000 for m in paced)
        await asyncio.sleep(1.0)  # late duplicates would arrive now
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            await proc.wait()
        await platform.stop()
        await pages.stop()
        dead = int(await redis.xlen(keys.DEAD_LETTER_STREAM))
        await redis.aclose()
    distinct = {(m.headline, m.channel) for m in platform.order}
    expected = expected_bulk + expected_paced

    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {
        "quick": quick,
        "workers": 2,
        "posts": len(platform.order),
        "expected": expected,
        "posts_per_s": round(posts_per_s, 2),
        "budget_per_s": GLOBAL[0] / GLOBAL[1],
        "budget_fraction": round(posts_per_s / (GLOBAL[0] / GLOBAL[1]), 3),
        "posts_per_s_naive": round(naive_per_s, 2),
        "http_429": platform.http_429,
        "http_429_global": platform.http_429_global,
        "nonce_replays": platform.replays,
        "dead_lettered": dead,
        "lost": expected - len(distinct),
        "duplicates": len(platform.order) - len(distinct),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "latency_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }


async def fanout(quick: bool, redis_url: str) -> dict[str, Any]:
    """One article to thousands of channels through a delivery stream capped at 200."""
    n = FANOUT_CHANNELS_QUICK if quick else FANOUT_CHANNELS
    redis: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await redis.flushdb()
    store = SubscriptionStore(redis, max_per_user=n)
    for i in range(n):
        await store.add(TENANT, "admin", Destination(TENANT, "channel", f"f{i}"), "syria")
    pages = await PageServer().start()
    platform = await FakePlatform(channel_budget=CHANNEL, global_budget=GLOBAL).start()
    cap = {"NEWSBOT_STREAM_MAXLEN": str(FANOUT_CAP)}
    workers = [await start_worker(redis_url, platform, cap) for _ in range(2)]
    stream = keys.delivery_stream("discord")
    longest = 0
    started = time.monotonic()
    try:
        pages.pages["/fanout"] = article_html("Syria fan-out", story(3000, "Syria"))
        await Ingest(redis, Metrics(), maxlen=100_000).submit(pages.url("/fanout"),
                                                               origin="bench")
        limit = time.monotonic() + n / GLOBAL[0] * 2 + 60
        while time.monotonic() < limit:
            longest = max(longest, int(await redis.xlen(stream)))
            done = platform.count() + int(await redis.xlen(keys.DEAD_LETTER_STREAM))
            if done >= n:
                break
            await asyncio.sleep(0.05)
        wall = time.monotonic() - started
        await asyncio.sleep(1.0)  # late duplicates would arrive now
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            await proc.wait()
        await platform.stop()
        await pages.stop()
        dead = int(await redis.xlen(keys.DEAD_LETTER_STREAM))
        await redis.aclose()
    delivered = {m.channel for m in platform.order}
    return {
        "fanout_channels": n,
        "fanout_cap": FANOUT_CAP,
        "fanout_delivered": len(delivered),
        "fanout_dead_lettered": dead,
        "fanout_lost": n - len(delivered) - dead,
        "fanout_duplicates": len(platform.order) - len(delivered),
        "fanout_max_stream": longest,
        "fanout_s": round(wall, 1),
        "fanout_posts_per_s": round(len(delivered) / wall, 1) if wall > 0 else 0.0,
    }


async def run_all(quick: bool, redis_url: str) -> dict[str, Any]:
    """The throughput and latency phases, then the fan-out past the cap."""
    figures = await run(quick, redis_url)
    figures.update(await fanout(quick, redis_url))
    return figures


def main() -> int:
    """Run the bench on NEWSBOT_REDIS_URL, or on an embedded Valkey in a temp dir."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    args = parser.parse_args()
    started = time.monotonic()
    figures = run_on_redis(lambda url: run_all(args.quick, url))
    figures["wall_s"] = round(time.monotonic() - started, 1)
    figures["data"] = "generated: tests.fakes article pages and a fake platform"
    print(f"{figures['posts']} posts ({figures['expected']} expected), "
          f"{figures['posts_per_s']}/s sustained = {figures['budget_fraction']:.1%} of "
          f"{figures['budget_per_s']:g}/s; 429s {figures['http_429']}; "
          f"lost {figures['lost']}, duplicates {figures['duplicates']}; "
          f"latency p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; "
          f"fan-out to {figures['fanout_channels']} channels through a stream capped at "
          f"{figures['fanout_cap']}: {figures['fanout_delivered']} delivered, "
          f"{figures['fanout_dead_lettered']} dead-lettered, {figures['fanout_lost']} lost "
          f"(stream at most {figures['fanout_max_stream']})")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
