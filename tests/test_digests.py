"""Digests: matches collected per period, one post per destination, nothing for empty ones."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination
from bot.errors import ConfigError
from bot.pipeline.digests import (
    DigestQueue,
    DigestScheduler,
    daily_boundary,
    hourly_boundary,
    next_daily_boundary,
)
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, HttpAdapter, PageServer, article_html, story
from tests.pipeline_helpers import current, drained, pipeline_settings

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

G = "discord:g1"
DM = Destination(G, "dm", "u4")
C3 = Destination(G, "channel", "c3")


@dataclass
class Rig:
    bot: Newsbot
    pages: PageServer
    platform: FakePlatform
    adapter: HttpAdapter
    store: SubscriptionStore
    redis: aioredis.Redis

    async def story(self, path: str, seed: int, topic: str) -> None:
        self.pages.pages[path] = article_html(f"{topic} story {seed}", story(seed, topic))
        await self.bot.submit(self.pages.url(path))

    def scheduler(self, **kw: object) -> DigestScheduler:
        kw.setdefault("shards", current["shards"])
        return DigestScheduler(DigestQueue(self.redis, ttl_s=3600), self.store, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def rig(redis: aioredis.Redis) -> AsyncIterator[Rig]:
    pages = await PageServer().start()
    platform = await FakePlatform().start()
    store = SubscriptionStore(redis)
    bot = Newsbot(pipeline_settings(), redis=redis, block_ms=200, http=False)
    adapter = HttpAdapter("discord", platform.base_url)
    bot.register_adapter(adapter)
    try:
        async with bot:
            yield Rig(bot, pages, platform, adapter, store, redis)
    finally:
        await platform.stop()
        await pages.stop()


def test_boundaries() -> None:
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2024, 3, 31, 7, 30, tzinfo=paris).timestamp()  # DST starts that night
    assert hourly_boundary(now) == datetime(2024, 3, 31, 7, tzinfo=paris).timestamp()
    assert daily_boundary(now, 8, paris) == datetime(2024, 3, 30, 8, tzinfo=paris).timestamp()
    assert next_daily_boundary(now, 8, paris) == datetime(2024, 3, 31, 8,
                                                          tzinfo=paris).timestamp()
    assert daily_boundary(now, 7, paris) == datetime(2024, 3, 31, 7, tzinfo=paris).timestamp()
    utc = ZoneInfo("UTC")
    at8 = datetime(2024, 5, 1, 8, tzinfo=utc).timestamp()
    assert daily_boundary(at8, 8, utc) == at8
    assert next_daily_boundary(at8, 8, utc) == at8 + 86400


async def test_bad_timezone_is_a_config_error(redis: aioredis.Redis) -> None:
    with pytest.raises(ConfigError, match="DIGEST_TIMEZONE"):
        DigestScheduler(DigestQueue(redis, ttl_s=60), SubscriptionStore(redis),
                        timezone="Mars/Olympus")


async def test_three_matches_in_an_hour_give_one_post(rig: Rig) -> None:
    await rig.store.add(G, "u4", DM, "ukraine", "hourly")
    await rig.store.add(G, "u4", DM, "brexit", "hourly")
    await rig.store.add(G, "u5", C3, "ukraine", "daily")
    await rig.bot.matcher.sync()
    await rig.story("/d/1", 1, "Ukraine")
    await rig.story("/d/2", 2, "Brexit")
    await rig.story("/d/3", 3, "Ukraine")
    await drained(rig.redis)
    assert rig.platform.order == []  # nothing instant

    scheduler = rig.scheduler()
    end = hourly_boundary(time.time()) + 3600
    assert await scheduler.flush("hourly", end - 1) == 0  # the hour is not over
    assert await scheduler.flush("hourly", end + 1) == 1
    assert await scheduler.flush("hourly", end + 2) == 0  # sent once per period
    other = rig.scheduler()  # another process at the same boundary
    assert await other.flush("hourly", end + 3) == 0
    [post] = await rig.adapter.wait_sent(1)
    await drained(rig.redis)
    assert post.destination == DM
    assert post.digest_title == "Your hourly digest: 3 stories"
    assert sorted((d.headline, d.matched) for d in post.digest) == [
        ("Brexit story 2", ("brexit",)), ("Ukraine story 1", ("ukraine",)),
        ("Ukraine story 3", ("ukraine",))]
    assert all(d.link and d.link.startswith(rig.pages.url("/d/")) for d in post.digest)
    assert {s.expression for s in post.subscriptions} == {"ukraine", "brexit"}
    # The daily digest is still waiting for its hour; the hourly lists are empty.
    assert await rig.redis.smembers(keys.digest_pending_key("hourly")) == set()
    assert len(await rig.redis.smembers(keys.digest_pending_key("daily"))) == 1

    # An empty hour posts nothing.
    assert await scheduler.flush("hourly", end + 3600 + 1) == 0
    # The daily digest goes at 08:00 in the configured zone.
    daily = rig.scheduler(digest_hour=8, timezone="Asia/Tokyo")
    at = next_daily_boundary(time.time(), 8, ZoneInfo("Asia/Tokyo"))
    assert await daily.flush("daily", at - 60) == 0
    assert await daily.flush("daily", at + 60) == 1
    last = (await rig.adapter.wait_sent(2))[-1]
    await drained(rig.redis)
    assert last.destination == C3 and last.digest_title == "Your daily digest: 2 stories"


async def test_one_article_matched_twice_is_listed_once(rig: Rig) -> None:
    await rig.store.add(G, "u4", DM, "ukraine", "hourly")
    await rig.store.add(G, "u4", DM, "kyiv", "hourly")
    await rig.bot.matcher.sync()
    rig.pages.pages["/k/1"] = article_html(
        "Ukraine: Kyiv story", story(9, "Ukraine Kyiv"))
    await rig.bot.submit(rig.pages.url("/k/1"))
    await drained(rig.redis)
    end = hourly_boundary(time.time()) + 3600
    assert await rig.scheduler().flush("hourly", end + 1) == 1
    [post] = await rig.adapter.wait_sent(1)
    assert post.digest_title == "Your hourly digest: 1 story"
    assert set(post.digest[0].matched) == {"ukraine", "kyiv"}


async def test_removed_and_muted_subscriptions_get_no_digest(rig: Rig) -> None:
    gone = await rig.store.add(G, "u4", DM, "ukraine", "hourly")
    await rig.store.add(G, "u6", Destination(G, "dm", "u6"), "ukraine", "hourly")
    await rig.bot.matcher.sync()
    await rig.story("/m/1", 11, "Ukraine")
    await drained(rig.redis)
    await rig.store.remove_ids(G, [gone.id])
    await rig.store.mute(G, "u6", "ukraine", until=time.time() + 7200)
    end = hourly_boundary(time.time()) + 3600
    assert await rig.scheduler().flush("hourly", end + 1) == 0
    assert await rig.redis.smembers(keys.digest_pending_key("hourly")) == set()
    assert not await rig.redis.exists(keys.digest_key(G, gone.id))
