"""Feed polling at scale: thousands of feeds served locally, polled by one process.

A separate server process (a ``tests.fakes.LocalServer``) serves N RSS feeds (20 items
each, ETag and Last-Modified).
One poller (``FeedPoller``, the bot's default concurrency) first adds every feed (the
first read: full fetch and parse, items recorded as seen), then runs full polling
cycles: before each, a tenth of the feeds gain a new item, the rest are unchanged and
answer 304 to the conditional GET. A cycle is timed from the first claim to the last
commit; CPU seconds are the poller process's own (user + system, Redis not included).

Usage: ``python bench/poll.py [--quick] [--feeds N]``; the last line is one JSON object
with ``feeds``, ``cycle_s``, ``feeds_per_s``, ``peak_rss_mb`` and more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.redis_for import run_on_redis  # noqa: E402
from bot import keys  # noqa: E402
from bot.chat import Destination  # noqa: E402
from bot.feeds.commands import FeedManager  # noqa: E402
from bot.feeds.poller import FeedPoller  # noqa: E402
from bot.feeds.store import FeedStore  # noqa: E402
from bot.fetch import Fetcher, FetchPolicy, make_session  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.pipeline.ingest import Ingest  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from tests.fakes import LocalServer  # noqa: E402

ITEMS = 20
CHANGE_EVERY = 10  # a tenth of the feeds change per cycle
TENANT = "discord:bench"


def render(feed: int, cycle: int, port: int) -> bytes:
    """Feed ``feed`` as it is at ``cycle``: 20 items plus one per cycle it changed in."""
    extra = [c for c in range(1, cycle + 1) if c % CHANGE_EVERY == feed % CHANGE_EVERY]
    numbers = [*range(ITEMS), *(ITEMS + c for c in extra)]
    base = f"http://127.0.0.1:{port}/a/{feed}"
    items = "".join(
        f"<item><title>Story {n} of feed {feed}</title><link>{base}/{n}</link>"
        f"<guid>{base}/{n}</guid><pubDate>{formatdate(1.7e9 + n * 60, usegmt=True)}"
        f"</pubDate><description>Summary of story {n}, a sentence or two long, as feeds "
        f"usually carry.</description></item>"
        for n in reversed(numbers)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><link>{base}</link><description>Bench feed"
            f"</description>{items}</channel></rss>").encode()


def serve(port_out: Any, cycle: Any) -> None:
    """The feed server process (its CPU is not the poller's)."""
    cache: dict[tuple[int, int], tuple[bytes, str]] = {}

    async def handle(request: web.Request) -> web.Response:
        feed = int(request.match_info["n"])
        now = int(cycle.value)
        # The document changes only in the cycles where this feed gains an item.
        version = sum(1 for c in range(1, now + 1) if c % CHANGE_EVERY == feed % CHANGE_EVERY)
        hit = cache.get((feed, version))
        if hit is None:
            body = render(feed, now, request.url.port or 80)
            hit = cache[(feed, version)] = (body, f'"{feed}-{version}"')
        body, etag = hit
        headers = {"ETag": etag, "Last-Modified": formatdate(1.7e9 + version, usegmt=True)}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={**headers,
                                                "Content-Type": "application/rss+xml"})

    async def main() -> None:
        server = LocalServer()
        server.app.router.add_get("/f/{n}", handle)
        await server.start()
        port_out.value = server.port
        await asyncio.Event().wait()

    asyncio.run(main())


def cpu_s() -> float:
    """User + system CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(n_feeds: int, cycles: int, redis_url: str) -> dict[str, Any]:
    """Add the feeds, then time full polling cycles."""
    ctx = multiprocessing.get_context("spawn")
    port = ctx.Value("i", 0)
    cycle = ctx.Value("i", 0)
    server = ctx.Process(target=serve, args=(port, cycle), daemon=True)
    server.start()
    redis: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        deadline = time.monotonic() + 30
        while port.value == 0 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # a value set by another process: nothing to await
        await redis.flushdb()
        settings = load_settings(fetch_allow_hosts=["127.0.0.1"], redis_url=None)
        policy = FetchPolicy.from_settings(settings)
        session = make_session(policy)
        clock_now = [time.time()]
        store = FeedStore(redis)
        poller = FeedPoller(store, Fetcher(session, policy), Ingest(redis, Metrics(),
                            maxlen=1_000_000), settings, clock=lambda: clock_now[0])
        manager = FeedManager(store, poller, max_per_channel=n_feeds, clock=lambda: clock_now[0])
        sem = asyncio.Semaphore(settings.feed_concurrency)

        async def add(i: int) -> None:
            async with sem:
                channel = Destination(TENANT, "channel", f"c{i % 50}")
                await manager.add(channel, f"http://127.0.0.1:{port.value}/f/{i}")

        started, cpu0 = time.perf_counter(), cpu_s()
        await asyncio.gather(*(add(i) for i in range(n_feeds)))
        add_s, add_cpu = time.perf_counter() - started, cpu_s() - cpu0
        print(f"added {n_feeds} feeds (first read, full parse) in {add_s:.2f} s, "
              f"{add_cpu:.2f} CPU s", file=sys.stderr)
        rounds: list[dict[str, Any]] = []
        for c in range(1, cycles + 1):
            cycle.value = c
            clock_now[0] += 7 * 3600  # past every feed's interval (jitter included)
            started, cpu0 = time.perf_counter(), cpu_s()
            stats = await poller.poll_due()
            elapsed, used = time.perf_counter() - started, cpu_s() - cpu0
            rounds.append({"cycle_s": elapsed, "cpu_s": used, "polled": stats.polled,
                           "not_modified": stats.not_modified, "new_items": stats.new_items,
                           "failed": stats.failed})
            print(f"cycle {c}: {stats.polled} feeds in {elapsed:.2f} s, {used:.2f} CPU s, "
                  f"{stats.not_modified} × 304, {stats.new_items} new items, "
                  f"{stats.failed} failed", file=sys.stderr)
        await session.close()
        queued = int(await redis.xlen(keys.INGEST_STREAM))
    finally:
        await redis.aclose()
        server.terminate()
        server.join(5)
    steady = rounds[-1]
    return {
        "feeds": n_feeds,
        "cycle_s": round(steady["cycle_s"], 3),
        "feeds_per_s": round(steady["polled"] / steady["cycle_s"], 1),
        "not_modified_share": round(steady["not_modified"] / max(1, steady["polled"]), 3),
        "cpu_s": round(steady["cpu_s"], 3),
        "new_items": steady["new_items"],
        "failed": sum(r["failed"] for r in rounds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "first_read_s": round(add_s, 3),
        "first_read_cpu_s": round(add_cpu, 3),
        "cycles": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                   for r in rounds],
        "queued_items": queued,
        "concurrency": settings.feed_concurrency,
    }


def main() -> None:
    """Run the benchmark and print the JSON figures last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 feeds, two cycles")
    parser.add_argument("--feeds", type=int, default=None, help="number of feeds (2000)")
    parser.add_argument("--cycles", type=int, default=3, help="polling cycles after adding")
    args = parser.parse_args()
    n = args.feeds or (200 if args.quick else 2000)
    cycles = 2 if args.quick else args.cycles
    figures = run_on_redis(lambda url: run(n, cycles, url))
    figures["quick"] = args.quick
    figures["data"] = "generated: feeds served by a local server"
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
