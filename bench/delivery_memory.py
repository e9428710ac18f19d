"""Redis memory held by the deliveries of one long article fanned out to many channels.

One article of about 100,000 characters matches 200 channels (50 with ``--quick``); the
pipeline workers queue its deliveries while no sender runs, then ``MEMORY USAGE`` of the
delivery stream and of the stored card give the bytes per delivery. Each delivery names the
card stored once per article, so the figure must not grow with the page.

Usage: ``python bench/delivery_memory.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402

from bench.redis_for import run_on_redis  # noqa: E402
from bot import keys  # noqa: E402
from bot.chat import Destination  # noqa: E402
from bot.service import Newsbot  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.subscriptions import SubscriptionStore  # noqa: E402
from tests.fakes import PageServer, article_html, story  # noqa: E402
from tests.pipeline_helpers import drained  # noqa: E402

TENANT = "discord:bench"


async def run(quick: bool, redis_url: str) -> dict[str, Any]:
    """Queue one long article's deliveries and weigh them."""
    n = 50 if quick else 200
    redis: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await redis.flushdb()
    store = SubscriptionStore(redis, max_per_user=n)
    for i in range(n):
        await store.add(TENANT, "admin", Destination(TENANT, "channel", f"c{i}"), "syria")
    pages = await PageServer().start()
    paragraphs = story(3, "Syria", paragraphs=400)
    pages.pages["/long"] = article_html("Syria at length", paragraphs)
    settings = load_settings(redis_url=redis_url, fetch_allow_hosts=["127.0.0.1"],
                             workers=1, _env_file=None)
    stream = keys.delivery_stream("discord")
    try:
        async with Newsbot(settings, block_ms=100, http=False) as bot:
            await bot.submit(pages.url("/long"))
            await drained(redis, (), timeout=60)  # the link done: its deliveries queued
            stream_bytes = int(await redis.memory_usage(stream) or 0)
            card_bytes = 0
            async for key in redis.scan_iter(match=keys.card_key("*")):
                card_bytes += int(await redis.memory_usage(key) or 0)
            entries = int(await redis.xlen(stream))
    finally:
        await pages.stop()
        await redis.aclose()
    total = stream_bytes + card_bytes
    return {
        "quick": quick,
        "channels": n,
        "deliveries": entries,
        "page_body_chars": sum(len(p) for p in paragraphs),
        "stream_bytes": stream_bytes,
        "card_bytes": card_bytes,
        "bytes_per_delivery": round(total / max(entries, 1)),
    }


def main() -> int:
    """Run on NEWSBOT_REDIS_URL, or on an embedded Valkey in a temp dir."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 channels instead of 200")
    args = parser.parse_args()
    figures = run_on_redis(lambda url: run(args.quick, url))
    print(f"{figures['deliveries']} deliveries of a {figures['page_body_chars']}-character "
          f"article: {figures['stream_bytes'] + figures['card_bytes']} bytes in Redis, "
          f"{figures['bytes_per_delivery']} per delivery")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
