"""Web panel pages at workspace scale: 1,000 subscriptions and 200 feeds in one workspace.

The bot core runs in this process with its HTTP server on 127.0.0.1 and an embedded
Valkey. One workspace gets 1,000 subscriptions (50 channels, 100 owners), 200 feeds
(20 channels), 2,000 recorded posts and 200 dead letters among 2,000 of other
workspaces; other workspaces hold as much again. An admin signs in through a one-time
link, then every page is requested in turn, one request at a time, and timed from request
to last byte (client included). CPU per request is this process's (client and server).

Usage: ``python bench/panel.py [--quick] [--rounds N]``; the last line is one JSON object
with, per page, ``p50_ms``, ``p95_ms``, ``cpu_ms`` and ``kb``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from bot import keys  # noqa: E402
from bot.card import Card  # noqa: E402
from bot.chat import Destination, Post, SubscriptionRef  # noqa: E402
from bot.feeds import feed_id_for  # noqa: E402
from bot.panel import Grant  # noqa: E402
from bot.pipeline import post_to_json, record_post  # noqa: E402
from bot.redis_server import EmbeddedValkey  # noqa: E402
from bot.service import Newsbot  # noqa: E402
from bot.settings import load_settings  # noqa: E402

TENANT = "discord:bench"
OTHERS = ("discord:other", "slack:TOTHER")
PAGES = ("/admin/", "/admin/subscriptions", "/admin/feeds", "/admin/deliveries",
         "/admin/try", "/admin/feeds/export.opml")
WORDS = ("syria", "climate", "elections", "football", "inflation", "vaccines", "nasa",
         "ukraine", "opec", "wildfires", "tariffs", "semiconductors", "fusion", "drought")


async def populate(bot: Newsbot, tenant: str, n_subs: int, n_feeds: int) -> None:
    """Subscriptions, feeds, posts and dead letters of one workspace."""
    store = bot.store
    for i in range(n_subs):
        expression = f"{WORDS[i % len(WORDS)]} {WORDS[(i // 7) % len(WORDS)]} t{i}"
        channel = Destination(tenant, "channel", f"c{i % 50}")
        dest = channel if i % 4 else Destination(tenant, "dm", f"u{i % 100}")
        await store.add(tenant, f"u{i % 100}", dest, expression, "instant" if i % 3 else "daily",
                        now=time.time())
    now = time.time()
    for i in range(n_feeds):
        url = f"http://feeds.example/{tenant}/{i}.xml"
        dest = Destination(tenant, "channel", f"f{i % 20}")
        fields: dict[str, str | int | float] = {
            "url": url, "title": f"Feed {i}", "interval_s": 600, "next_poll_at": now + 600,
            "created_at": now, "last_ok_at": now, "added_by": str(dest)}
        await bot.feed_store.add(feed_id_for(url), dest, fields, [f"g:{i}"],
                                 next_poll_at=now + 600, max_per_channel=50)
    card = Card(headline="A headline of ordinary length about several things at once",
                body="", url="https://news.example/a", site="news.example")
    for i in range(2000):
        dest = Destination(tenant, "channel", f"c{i % 50}")
        post = Post(dest, f"a{i}:{dest}", card=card, matched=("syria", "climate"),
                    subscriptions=(SubscriptionRef(str(i % 900 + 1), "syria climate", "u1"),),
                    score=7.5)
        await record_post(bot.redis, post, f"m{i}")
    pipe = bot.redis.pipeline(transaction=False)
    for i in range(200):
        dest = Destination(tenant, "channel", f"c{i % 50}")
        post = Post(dest, f"d{i}:{dest}", card=card, matched=("syria",))
        pipe.xadd(keys.DEAD_LETTER_STREAM, {
            "stream": keys.delivery_stream(tenant.partition(":")[0]), "entry": f"{i}-0",
            "platform": tenant.partition(":")[0], "reason": "transient after 8 attempts: 502",
            "attempts": 8, "post": post_to_json(post), "key": post.key, "tenant": tenant,
            "at": repr(now)})
    await pipe.execute()


async def sign_in(http: aiohttp.ClientSession, bot: Newsbot) -> None:
    """Through a one-time link, as an admin would."""
    assert bot.panel is not None
    link = await bot.panel.login_link(bot.public_url(), Grant(TENANT, "u1", True))
    token = link.partition("t=")[2]
    async with http.post(f"{bot.public_url()}/admin/login", data={"t": token}) as resp:
        assert resp.status == 200, await resp.text()


async def measure(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedValkey(Path(tmp) / "valkey")
        await asyncio.to_thread(server.start)
        client: aioredis.Redis = aioredis.Redis.from_url(server.url, decode_responses=True)
        try:
            settings = load_settings(
                data_dir=Path(tmp), http_host="127.0.0.1", http_port=0,
                max_subscriptions_per_user=1000, max_subscriptions_per_channel=1000)
            bot = Newsbot(settings, redis=client, workers=0)
            async with bot:
                t0 = time.perf_counter()
                await populate(bot, TENANT, 1000, 200)
                for other in OTHERS:
                    await populate(bot, other, 1000, 200)
                setup_s = time.perf_counter() - t0
                jar = aiohttp.CookieJar(unsafe=True)
                async with aiohttp.ClientSession(cookie_jar=jar) as http:
                    await sign_in(http, bot)
                    base = bot.public_url()
                    times: dict[str, list[float]] = {p: [] for p in PAGES}
                    cpu: dict[str, list[float]] = {p: [] for p in PAGES}
                    size: dict[str, int] = {}
                    for page in PAGES:  # warm-up: templates compiled, pools filled
                        async with http.get(base + page) as resp:
                            assert resp.status == 200, (page, resp.status)
                            await resp.read()
                    for _ in range(rounds):
                        for page in PAGES:
                            c0, w0 = time.process_time(), time.perf_counter()
                            async with http.get(base + page) as resp:
                                body = await resp.read()
                                assert resp.status == 200, (page, resp.status)
                            times[page].append(time.perf_counter() - w0)
                            cpu[page].append(time.process_time() - c0)
                            size[page] = len(body)
        finally:
            await client.aclose()
            await asyncio.to_thread(server.stop)

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    pages = {
        page: {"p50_ms": round(1000 * statistics.median(times[page]), 1),
               "p95_ms": round(1000 * pct(times[page], 0.95), 1),
               "cpu_ms": round(1000 * statistics.mean(cpu[page]), 1),
               "kb": round(size[page] / 1024, 1)}
        for page in PAGES
    }
    return {"subscriptions": 1000, "feeds": 200, "rounds": rounds,
            "setup_s": round(setup_s, 1), "pages": pages,
            "worst_p95_ms": max(p["p95_ms"] for p in pages.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rounds instead of 200")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (20 if args.quick else 200)
    result = asyncio.run(measure(rounds))
    for page, figures in result["pages"].items():
        print(f"{page:<28} p50 {figures['p50_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms  "
              f"cpu {figures['cpu_ms']:6.1f} ms  {figures['kb']:7.1f} KB", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
