"""What formats and pings cost a fan-out: ``PostStyles.apply`` beside ``Outbox.put``.

The styling applies each channel's format and its subscriptions' pings to the posts that
the queueing (``Outbox.put``) then puts on the delivery stream.

Two fan-outs of N channel posts (each from one subscription, a tenth of the channels with
a format) are styled and then queued, on an embedded Valkey: one in a tenant where no
subscription pings (the common case), one where half of them do. Reported per 1000 posts:
the bot's CPU seconds (``time.process_time``: the client side, which a loaded machine does
not inflate) and wall seconds of each step, and the Redis commands each sends
(``INFO commandstats``). The styling is one pipelined round trip (two where the tenant
pings); the figure to watch is its CPU against the queueing's.

Usage: ``python bench/styles.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402

from bench.redis_for import run_on_redis  # noqa: E402
from bot.card import Card  # noqa: E402
from bot.chat.contract import Destination, Post, SubscriptionRef  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.pipeline.outbox import Outbox  # noqa: E402
from bot.pipeline.styles import PostStyles  # noqa: E402
from bot.subscriptions import SubscriptionStore, TenantSettings  # noqa: E402

POSTS = 10_000
POSTS_QUICK = 2_000


async def commands(redis: aioredis.Redis) -> int:
    """Commands the server has run so far."""
    stats = await redis.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values() if isinstance(v, dict))


async def measure(redis: aioredis.Redis, posts: list[Post], card: Card,
                  ) -> tuple[list[Post], dict[str, float]]:
    """Style then queue ``posts``: CPU and wall seconds per 1000 posts, commands a post."""
    n = len(posts)
    outbox = Outbox(redis, Metrics(), cap=10 * n, wait_s=1.0, card_ttl_s=60)
    before, cpu, wall = await commands(redis), time.process_time(), time.perf_counter()
    styled = await PostStyles(redis).apply(posts)
    style_cpu, style_wall = time.process_time() - cpu, time.perf_counter() - wall
    style_cmds = await commands(redis) - before - 1  # less the INFO itself
    before, cpu, wall = await commands(redis), time.process_time(), time.perf_counter()
    await outbox.put(styled, article_id=f"a-{posts[0].destination.tenant}", card=card)
    put_cpu, put_wall = time.process_time() - cpu, time.perf_counter() - wall
    put_cmds = await commands(redis) - before - 1
    per_k = 1000 / n
    return styled, {
        "style_cpu_s_per_1k": round(style_cpu * per_k, 4),
        "style_wall_s_per_1k": round(style_wall * per_k, 4),
        "style_commands_per_post": round(style_cmds / n, 3),
        "queue_cpu_s_per_1k": round(put_cpu * per_k, 4),
        "queue_wall_s_per_1k": round(put_wall * per_k, 4),
        "queue_commands_per_post": round(put_cmds / n, 3),
        "style_cpu_vs_queue": round(style_cpu / put_cpu, 2) if put_cpu else 0.0,
    }


async def run(quick: bool, redis_url: str) -> dict[str, Any]:
    """Two fan-outs: a tenant whose subscriptions ping nobody, one where half of them do."""
    redis: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    n = POSTS_QUICK if quick else POSTS
    await redis.flushall()
    store = SubscriptionStore(redis, max_per_user=10 * n, max_per_channel=10)
    tenants = TenantSettings(redis)
    card = Card(headline="Putin in Syria", body="x", url="https://e.com/a", site="e.com")
    figures: dict[str, Any] = {"posts": n}
    # Warm up the client (connection, first pipeline) outside the measured steps.
    warm = [Post(Destination("discord:warm", "channel", str(i)), f"w:{i}", card)
            for i in range(50)]
    await measure(redis, warm, card)
    for name, tenant, pinging in (("quiet", "discord:quiet", False),
                                  ("pinging", "discord:pings", True)):
        refs: list[SubscriptionRef] = []
        for i in range(n):
            channel = Destination(tenant, "channel", str(i))
            sub = await store.add(tenant, "u", channel, "syria",
                                  ping="123" if pinging and i % 2 == 0 else None)
            refs.append(SubscriptionRef(sub.id, sub.expression, sub.owner))
            if i % 10 == 0:
                await tenants.set_channel_format(tenant, str(i), "compact")
        posts = [Post(Destination(tenant, "channel", str(i)), f"a1:{i}", card,
                      subscriptions=(refs[i],)) for i in range(n)]
        styled, measured = await measure(redis, posts, card)
        figures.update({f"{name}_{k}": v for k, v in measured.items()})
        figures[f"{name}_pinged"] = sum(1 for p in styled if p.pings)
        figures[f"{name}_compact"] = sum(1 for p in styled if p.format == "compact")
    await redis.aclose()
    return figures


def main() -> int:
    """Run on NEWSBOT_REDIS_URL (it is flushed!), or on an embedded Valkey in a temp dir."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (seconds)")
    args = parser.parse_args()
    figures = run_on_redis(lambda url: run(args.quick, url))
    figures["load_average"] = round(os.getloadavg()[0], 1)
    figures["data"] = "generated: one fan-out of channel posts with formats and pings"
    for name in ("quiet", "pinging"):
        print(f"{name}: {figures['posts']} posts styled in "
              f"{figures[name + '_style_cpu_s_per_1k']} CPU s per 1000 "
              f"({figures[name + '_style_commands_per_post']} commands a post), queued in "
              f"{figures[name + '_queue_cpu_s_per_1k']} CPU s per 1000 "
              f"({figures[name + '_queue_commands_per_post']} commands a post)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
