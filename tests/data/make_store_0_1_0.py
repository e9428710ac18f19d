"""Writes ``tests/data/store-0.1.0.backup``: a store in release 0.1.0's key layout.

Usage (from the repository root): ``python tests/data/make_store_0_1_0.py``

The store is made the way people make one, through the chat commands of a running core:
subscriptions (instant, digest, muted, in DMs and in a channel), a workspace time zone,
and a feed whose current items are remembered as seen. Release 0.1.0 wrote no schema
version, so the key is removed before the dump; the key layout is otherwise exactly what
0.1.0 wrote (nothing in it changed since). ``tests/test_backup.py`` restores this file
and checks the current code reads it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from bot import keys  # noqa: E402
from bot.chat import Request  # noqa: E402
from bot.redis_server import EmbeddedValkey, connect  # noqa: E402
from bot.service import Newsbot  # noqa: E402
from bot.upkeep import backup  # noqa: E402
from tests.fakes import Feed, FeedServer  # noqa: E402
from tests.pipeline_helpers import pipeline_settings  # noqa: E402

OUT = Path(__file__).with_name("store-0.1.0.backup")
TENANT = "discord:g1"


async def build(url: str) -> None:
    """Fill the store at ``url`` through the core's commands, then dump it."""
    redis = await connect(url)
    feeds = await FeedServer().start()
    try:
        feed = Feed("Local news", "rss")
        now = time.time()
        feed.entries += [feeds.entry("/a1", 1, now - 3600), feeds.entry("/a2", 2, now - 60)]
        feeds.feeds["/feed.xml"] = feed
        bot = Newsbot(pipeline_settings(), redis=redis, http=False)
        async with bot:
            for user, channel, manage, text in [
                ("u1", "c1", True, "subscribe syria"),
                ("u1", "c1", True, 'subscribe "vladimir putin" dm digest:daily'),
                ("u2", "c1", False, "subscribe ukraine dm digest:hourly"),
                ("u2", "c1", False, "subscribe climate dm"),
                ("u2", "c1", False, "mute climate 1w"),
                ("u1", "c1", True, "timezone Europe/Paris"),
                ("u1", "c2", True, f"feed add {feeds.url('/feed.xml')}"),
            ]:
                reply = await bot.handle(Request(TENANT, user, channel, manage, text=text))
                assert reply.ok, (text, reply.text)
        await redis.delete(keys.SCHEMA_KEY)  # 0.1.0 wrote no version
        with OUT.open("w", encoding="utf-8") as out:
            count = await backup(redis, out)
        print(f"wrote {count} keys to {OUT}")
    finally:
        await feeds.stop()
        await redis.aclose()


def main() -> None:
    """Run an embedded server in a temporary directory for the duration."""
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedValkey(Path(tmp))
        server.start()
        try:
            asyncio.run(build(server.url))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
