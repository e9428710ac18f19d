"""Backup, restore and upgrade of the store: nothing an admin relies on is lost.

Back up, wipe, restore: every subscription, feed, seen item, queued link and setting is
back, on the real server. A store written by release 0.1.0 (tests/data/store-0.1.0.backup,
made by tests/data/make_store_0_1_0.py) is read by this release and stamped with its
schema version; a store from a newer release is refused with one line.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat import Destination, Request
from bot.errors import StoreError
from bot.feeds.store import FeedStore
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from bot.upkeep import SCHEMA_VERSION, BackupError, backup, ensure_current, restore
from tests.fakes import Feed, FeedServer
from tests.pipeline_helpers import pipeline_settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "store-0.1.0.backup"
G = "discord:g1"


async def everything(redis: aioredis.Redis) -> list[str]:
    """The whole newsbot keyspace, as backup lines (without the header's time)."""
    out = io.StringIO()
    await backup(redis, out)
    return out.getvalue().splitlines()[1:]


async def fill(redis: aioredis.Redis, feeds: FeedServer) -> None:
    """Subscriptions, a muted one, a time zone, a feed with seen items, a queued link."""
    feed = Feed("Local news", "rss")
    feed.entries += [feeds.entry("/a1", 1, time.time() - 3600),
                     feeds.entry("/a2", 2, time.time() - 60)]
    feeds.feeds["/feed.xml"] = feed
    bot = Newsbot(pipeline_settings(), redis=redis, http=False, block_ms=100)
    async with bot:
        for user, text in [("u1", "subscribe syria"), ("u1", '"vladimir putin" dm'),
                           ("u2", "subscribe ukraine dm digest:hourly"),
                           ("u2", "subscribe climate dm"), ("u2", "mute climate 1w"),
                           ("u1", "timezone Europe/Paris"),
                           ("u1", f"feed add {feeds.url('/feed.xml')}")]:
            await bot.handle(Request(G, user, "c1", True, text=text))
    # A link waiting in the ingest stream, read by a worker that then died: pending.
    await redis.xadd(keys.INGEST_STREAM, {"url": "https://example.com/a", "t": "1"})
    await redis.xreadgroup(keys.INGEST_GROUP, "dead-worker", {keys.INGEST_STREAM: ">"},
                           count=1)


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = await FeedServer().start()
    yield server
    await server.stop()


async def test_back_up_wipe_restore_and_everything_is_back(
        redis: aioredis.Redis, feeds: FeedServer) -> None:
    await fill(redis, feeds)
    before = await everything(redis)
    store, feed_store = SubscriptionStore(redis), FeedStore(redis)
    subs_before = await store.list_for_user(G, "u2")
    feeds_before = await feed_store.for_channel(Destination(G, "channel", "c1"))
    assert len(subs_before) == 2 and subs_before[1].muted_until
    assert len(feeds_before) == 1 and await feed_store.seen_count(feeds_before[0].id) >= 2

    saved = io.StringIO()
    count = await backup(redis, saved)
    await redis.flushdb()
    assert await everything(redis) == []
    assert await restore(redis, saved.getvalue().splitlines()) == count

    assert await everything(redis) == before
    assert await store.list_for_user(G, "u2") == subs_before
    assert await feed_store.for_channel(Destination(G, "channel", "c1")) == feeds_before
    assert await feed_store.seen_count(feeds_before[0].id) >= 2
    # The link a dead worker held is delivered again to the next one.
    again: Any = await redis.xreadgroup(keys.INGEST_GROUP, "new-worker",
                                              {keys.INGEST_STREAM: ">"}, count=10)
    assert [fields["url"] for _, entries in again for _, fields in entries] == [
        "https://example.com/a"]


async def test_restore_never_overwrites_data_by_accident(
        redis: aioredis.Redis, feeds: FeedServer) -> None:
    await fill(redis, feeds)
    saved = io.StringIO()
    await backup(redis, saved)
    lines = saved.getvalue().splitlines()
    with pytest.raises(BackupError, match="already holds newsbot data"):
        await restore(redis, lines)
    await SubscriptionStore(redis).add(G, "u9", Destination(G, "dm", "u9"), "extra", "instant")
    assert await restore(redis, lines, replace=True) == len(lines) - 1
    assert await SubscriptionStore(redis).list_for_user(G, "u9") == []


async def test_a_damaged_or_cut_backup_is_refused_before_anything_is_written(
        redis: aioredis.Redis, feeds: FeedServer) -> None:
    await fill(redis, feeds)
    saved = io.StringIO()
    await backup(redis, saved)
    lines = saved.getvalue().splitlines()
    await redis.flushdb()
    with pytest.raises(BackupError, match="cut short"):
        await restore(redis, lines[:-3])
    with pytest.raises(BackupError, match="damaged"):
        await restore(redis, [*lines[:3], "{not json", *lines[4:]])
    with pytest.raises(BackupError, match="not a newsbot backup"):
        await restore(redis, ["hello"])
    assert await everything(redis) == []


async def test_a_store_written_by_release_0_1_0_is_read_and_upgraded(
        redis: aioredis.Redis) -> None:
    await restore(redis, FIXTURE.read_text(encoding="utf-8").splitlines())
    assert await redis.get(keys.SCHEMA_KEY) is None  # 0.1.0 wrote no version
    bot = Newsbot(pipeline_settings(), redis=redis, http=False, block_ms=100)
    async with bot:
        assert await redis.get(keys.SCHEMA_KEY) == str(SCHEMA_VERSION)
        listed = await bot.handle(Request(G, "u2", "c1", False, text="list"))
        assert "ukraine" in listed.text and "hourly digest" in listed.text
        assert "climate" in listed.text and "muted" in listed.text
        mine = await bot.handle(Request(G, "u1", "c1", True, text="list"))
        assert '"vladimir putin"' in mine.text and "syria" in mine.text
        feed_list = await bot.handle(Request(G, "u1", "c2", True, text="feed list"))
        assert "Local news" in feed_list.text
        zone = await bot.handle(Request(G, "u1", "c1", False, text="timezone"))
        assert "Europe/Paris" in zone.text
        # The matcher indexed the old subscriptions.
        assert len(bot.matcher.index) == 4


async def test_a_store_from_a_newer_release_is_refused_in_one_line(
        redis: aioredis.Redis) -> None:
    await redis.set(keys.SCHEMA_KEY, str(SCHEMA_VERSION + 1))
    with pytest.raises(StoreError) as info:
        await ensure_current(redis)
    assert "newer newsbot" in info.value.user_message
    assert "\n" not in info.value.user_message


def _newsbot(data: Path, *args: str, stdin: str = "",
             redis_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update({"NEWSBOT_DATA_DIR": str(data), "NEWSBOT_HTTP_PORT": "0"})
    if redis_url:
        env["NEWSBOT_REDIS_URL"] = redis_url
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def test_the_embedded_store_backed_up_wiped_and_restored_with_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = _newsbot(data, "run", stdin='/news subscribe syria\n/news subscribe "vladimir '
                                       'putin" dm digest:daily\n')
    assert made.returncode == 0, made.stderr
    saved = tmp_path / "newsbot.backup"
    res = _newsbot(data, "backup", str(saved))
    assert res.returncode == 0, res.stderr
    assert "backed up" in res.stderr
    shutil.rmtree(data)  # the disk is gone
    res = _newsbot(data, "restore", str(saved))
    assert res.returncode == 0, res.stderr
    listed = _newsbot(data, "run", stdin="/news list\n")
    assert "syria" in listed.stdout and '"vladimir putin"' in listed.stdout
    assert "daily digest" in listed.stdout
    # A second restore into the data that is back refuses, in one line.
    again = _newsbot(data, "restore", str(saved))
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "--replace" in again.stderr.strip().splitlines()[-1]


async def test_a_backup_moves_from_a_redis_server_to_the_embedded_store(
        redis: aioredis.Redis, redis_url: str, feeds: FeedServer, tmp_path: Path) -> None:
    """As from a compose deployment (NEWSBOT_REDIS_URL) to a laptop (embedded)."""
    await fill(redis, feeds)
    before = await everything(redis)
    saved = tmp_path / "compose.backup"
    res = _newsbot(tmp_path / "unused", "backup", str(saved), redis_url=redis_url)
    assert res.returncode == 0, res.stderr
    await redis.flushdb()
    res = _newsbot(tmp_path / "data", "restore", str(saved))
    assert res.returncode == 0, res.stderr
    # And back again, into the emptied server: the same keyspace.
    back = tmp_path / "embedded.backup"
    assert _newsbot(tmp_path / "data", "backup", str(back)).returncode == 0
    assert _newsbot(tmp_path / "x", "restore", str(back), redis_url=redis_url).returncode == 0
    assert await everything(redis) == before
