"""A writer that dies between its write and its publish does not leave other processes
blind: the tenant's version, bumped inside the write, tells them to read it again."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from bot.chat.contract import Destination
from bot.subscriptions import SubscriptionStore
from bot.subscriptions.matcher import Matcher
from tests.test_matcher import T1, seed_card_by_hand, wait_for


class DiesBeforePublishing(SubscriptionStore):
    """A store whose process dies right after each Redis write: nothing is published."""

    async def _publish(self, tenant: str, sub_ids: object, version: int = 0) -> None:
        return None


async def test_unpublished_writes_are_repaired_by_the_version_check(
    redis: aioredis.Redis, redis_factory: Callable[[], Awaitable[aioredis.Redis]]
) -> None:
    writer = DiesBeforePublishing(await redis_factory())
    store = SubscriptionStore(redis)
    await store.add(T1, "u0", Destination(T1, "dm", "u0"), "putin")
    card = seed_card_by_hand()
    async with Matcher(store, block_ms=100, reconcile_s=0.2) as reader:
        assert len(reader.match(card)) == 1
        await writer.add(T1, "u1", Destination(T1, "channel", "c1"), "syria")
        await wait_for(lambda: len(reader.match(card)) == 2, within=2.0)
        await writer.remove_all(T1, "u0")
        await wait_for(lambda: {d.destination.id for d in reader.match(card)} == {"c1"},
                       within=2.0)
        await writer.mute(T1, "u1", "syria", time.time() + 3600)
        await wait_for(lambda: len(reader.match(card, now=time.time())) == 0, within=2.0)


async def test_published_writes_need_no_repair(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    matcher = Matcher(store)
    await matcher.load()
    await store.add(T1, "u1", Destination(T1, "dm", "u1"), "syria")
    await matcher.sync()
    assert await matcher.reconcile() == 0
