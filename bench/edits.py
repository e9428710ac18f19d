"""What keeping posts editable costs: Redis bytes per post record, CPU per re-sighting.

Each card post made is recorded under its article (message id, matched terms, the
subscription's button) for the dedupe window, so that its post can be edited when the
story changes; ``MEMORY USAGE`` of one article's records over 10,000 posts (1,000 with
``--quick``) gives the bytes per post, beside the done-marker every post already had.
Then an unchanged article is seen again and again (``Deduper.revise``): the process CPU
time per sighting.

Usage: ``python bench/edits.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.redis_for import run_on_redis  # noqa: E402
from bot import keys  # noqa: E402
from bot.card import Card  # noqa: E402
from bot.chat import Destination, Post, SubscriptionRef  # noqa: E402
from bot.pipeline.dedupe import Deduper, Identity  # noqa: E402
from bot.pipeline.outbox import post_ref  # noqa: E402
from bot.redis_server import redis_client  # noqa: E402

ARTICLE = "0123456789abcdef"
TENANT = "discord:222222222222222222"
WEEK_MS = 7 * 24 * 3600 * 1000


async def run(quick: bool, redis_url: str) -> dict[str, Any]:
    """Record one article's posts, weigh them, then time the revision check."""
    redis = redis_client(redis_url)
    posts = 1_000 if quick else 10_000
    sightings = 500 if quick else 2_000
    try:
        records = keys.article_posts_key(ARTICLE)
        await redis.delete(records)
        pipe = redis.pipeline(transaction=False)
        first_marker = ""
        for i in range(posts):
            where = Destination(TENANT, "channel", str(333333333333333333 + i))
            post = Post(where, f"{ARTICLE}:{where}", matched=("syria", "putin"),
                        subscriptions=(SubscriptionRef(str(i), "syria", "111111111111111111"),),
                        score=7.5)
            message_id = str(1_300_000_000_000_000_000 + i)
            pipe.hset(records, str(where), post_ref(post, message_id))
            marker = keys.posted_key(post.key)
            first_marker = first_marker or marker
            pipe.set(marker, f"done:{message_id}", px=WEEK_MS)
        pipe.pexpire(records, WEEK_MS)
        await pipe.execute()
        record_bytes = int(await redis.memory_usage(records, samples=0) or 0)
        marker_bytes = int(await redis.memory_usage(first_marker) or 0)
        deduper = Deduper(redis, ttl_s=WEEK_MS // 1000)
        card = Card("Putin visits Syria in a surprise trip", "", url="https://example.org/a",
                    summary=" ".join(f"word{i}" for i in range(60)))
        identity = Identity("bench-article", "url")
        await redis.delete(keys.article_version_key("bench-article"))
        await deduper.revise(identity, card)
        started = time.process_time()
        for _ in range(sightings):
            await deduper.revise(identity, card)
        cpu_ms = (time.process_time() - started) / sightings * 1000
        await redis.delete(records, keys.article_version_key("bench-article"))
    finally:
        await redis.aclose()
    return {
        "posts": posts,
        "record_bytes_per_post": round(record_bytes / posts, 1),
        "done_marker_bytes_per_post": marker_bytes,
        "sightings": sightings,
        "revise_cpu_ms_per_sighting": round(cpu_ms, 3),
    }


def main() -> int:
    """Run on NEWSBOT_REDIS_URL, or on an embedded Valkey in a temp dir."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 posts instead of 10,000")
    args = parser.parse_args()
    figures = run_on_redis(lambda url: run(args.quick, url))
    print(f"{figures['record_bytes_per_post']} bytes per editable post "
          f"(the done-marker: {figures['done_marker_bytes_per_post']}); "
          f"{figures['revise_cpu_ms_per_sighting']} ms CPU per re-sighting")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
