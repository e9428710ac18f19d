"""The subscription store against a real Redis-protocol server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination, Subscription
from bot.errors import CommandError, LimitError, StoreError, TopicError
from bot.redis_server import open_redis, redact_url
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

T1 = "discord:1234"
T2 = "slack:T0123"


def dm(user: str, tenant: str = T1) -> Destination:
    return Destination(tenant, "dm", user)


def channel(cid: str, tenant: str = T1) -> Destination:
    return Destination(tenant, "channel", cid)


async def test_subscribe_list_unsubscribe_round_trip(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    a = await store.add(T1, "u1", dm("u1"), "syria", now=1000.0)
    b = await store.add(T1, "u1", channel("c1"), '"vladimir putin" -sports', "daily")
    assert a.id != b.id
    assert await store.get(T1, a.id) == a
    listed = await store.list_for_user(T1, "u1")
    assert [s.expression for s in listed] == ["syria", '"vladimir putin" -sports']
    assert listed[0].created_at == 1000.0
    assert listed[1].mode == "daily"
    assert await store.list_for_destination(channel("c1")) == [b]

    removed = await store.remove(T1, "u1", "Syrian")  # same meaning, other spelling
    assert [s.id for s in removed] == [a.id]
    assert await store.get(T1, a.id) is None
    assert await store.list_for_destination(dm("u1")) == []
    assert await store.remove(T1, "u1", "nothing-like-this") == []

    await store.add(T1, "u1", dm("u1"), "iran")
    removed = await store.remove_all(T1, "u1")
    assert len(removed) == 2
    assert await store.list_for_user(T1, "u1") == []
    assert await redis.scard(keys.tenant_subs_key(T1)) == 0


async def test_remove_by_id_and_only_own(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    sub = await store.add(T1, "u1", channel("c1"), "syria")
    assert await store.remove(T1, "u2", sub.id) == []  # not the owner
    assert [s.id for s in await store.remove(T1, "u1", f"#{sub.id}")] == [sub.id]


async def test_duplicate_is_refused(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    await store.add(T1, "u1", dm("u1"), "Russia -sports")
    with pytest.raises(CommandError, match="Already subscribed"):
        await store.add(T1, "u1", dm("u1"), "russian NOT sport")
    await store.add(T1, "u1", channel("c1"), "Russia -sports")  # elsewhere is fine


async def test_invalid_expression_is_refused_with_its_message(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    with pytest.raises(TopicError, match="not only exclusions"):
        await store.add(T1, "u1", dm("u1"), "-sports")
    with pytest.raises(TopicError, match="100 characters"):
        await store.add(T1, "u1", dm("u1"), "x" * 101)
    with pytest.raises(CommandError, match="instant, hourly or daily"):
        await store.add(T1, "u1", dm("u1"), "syria", "weekly")  # type: ignore[arg-type]
    assert await store.list_for_user(T1, "u1") == []


async def test_per_user_cap(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis, max_per_user=3)
    for word in ("a1", "b2", "c3"):
        await store.add(T1, "u1", dm("u1"), word)
    with pytest.raises(LimitError) as info:
        await store.add(T1, "u1", channel("c1"), "d4")
    assert info.value.limit == 3
    assert "3 subscriptions" in info.value.user_message
    await store.add(T1, "u2", dm("u2"), "d4")  # another user is not affected
    await store.add(T2, "u1", dm("u1", T2), "d4")  # nor the same id in another tenant


async def test_per_channel_cap(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis, max_per_user=50, max_per_channel=2)
    await store.add(T1, "u1", channel("c1"), "a1")
    await store.add(T1, "u2", channel("c1"), "b2")
    with pytest.raises(LimitError, match="This channel already has 2"):
        await store.add(T1, "u3", channel("c1"), "c3")
    await store.add(T1, "u3", channel("c2"), "c3")


async def test_concurrent_adds_cannot_pass_the_cap(
    redis: aioredis.Redis, redis_factory: Callable[[], Awaitable[aioredis.Redis]]
) -> None:
    stores = [SubscriptionStore(redis, max_per_user=5)]
    stores.append(SubscriptionStore(await redis_factory(), max_per_user=5))

    async def attempt(i: int) -> bool:
        try:
            await stores[i % 2].add(T1, "u1", dm("u1"), f"topic{i}")
        except LimitError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert sum(results) == 5
    assert len(await stores[0].list_for_user(T1, "u1")) == 5


async def test_mute_expiry_and_unmute(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    sub = await store.add(T1, "u1", dm("u1"), "syria")
    muted = await store.mute(T1, "u1", "syria", until=2000.0)
    assert [s.muted_until for s in muted] == [2000.0]
    stored = await store.get(T1, sub.id)
    assert stored is not None and stored.muted_until == 2000.0
    assert stored.is_muted(1999.0)
    assert not stored.is_muted(2000.0)  # expired at the given time
    await store.unmute(T1, "u1", "syria")
    stored = await store.get(T1, sub.id)
    assert stored is not None and stored.muted_until is None
    assert not stored.is_muted(0.0)


async def test_digest_mode_is_stored(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    for mode in ("instant", "hourly", "daily"):
        sub = await store.add(T1, "u1", dm("u1"), f"topic {mode}", mode)
        again = await store.get(T1, sub.id)
        assert again is not None and again.mode == mode


async def test_tenants_are_isolated(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    a = await store.add(T1, "u1", channel("c1"), "syria")
    b = await store.add(T2, "u1", channel("c1", T2), "syria")
    assert a.id == b.id == "1"  # ids are per tenant ...
    assert await store.list_for_user(T1, "u1") == [a]  # ... and never mix
    assert await store.list_for_user(T2, "u1") == [b]
    assert await store.list_for_destination(channel("c1")) == [a]
    await store.remove_all(T2, "u1")
    assert await store.list_for_user(T1, "u1") == [a]
    assert await store.get(T2, a.id) is None
    with pytest.raises(StoreError):
        await store.add(T1, "u1", channel("c1", T2), "iran")


async def test_all_keys_of_a_tenant_share_a_hash_tag(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    await store.add(T1, "u1", channel("c1"), "syria")
    names = [str(k) for k in await redis.keys("newsbot:*")
             if k not in (keys.TENANTS, keys.SUB_CHANGES)]
    assert names and all(k.startswith("newsbot:{t:discord:1234}:") for k in names)


async def test_disable_destination(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    sub = await store.add(T1, "u1", channel("c1"), "syria")
    assert await store.disable_destination(channel("c1")) == 1
    again = await store.get(T1, sub.id)
    assert again is not None and again.disabled


async def test_every_write_is_on_the_change_stream(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    start = await store.changes_position()
    sub = await store.add(T1, "u1", dm("u1"), "syria")
    await store.mute(T1, "u1", "syria", 5.0)
    await store.remove(T1, "u1", "syria")
    changes = await store.read_changes(start)
    assert [(c.tenant, c.sub_id) for c in changes] == [(T1, sub.id)] * 3


async def test_all_subscriptions_covers_every_tenant(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    made = [await store.add(T1, f"u{i}", dm(f"u{i}"), f"topic{i}") for i in range(5)]
    made.append(await store.add(T2, "x", dm("x", T2), "iran"))
    seen = [s async for s in store.all_subscriptions(batch=2)]
    assert sorted(seen, key=lambda s: (s.tenant, int(s.id))) == sorted(
        made, key=lambda s: (s.tenant, int(s.id))
    )


def test_destination_and_subscription_serialise() -> None:
    dest = channel("c1")
    assert Destination.from_dict(dest.to_dict()) == dest
    assert Destination.parse(T1, dest.key) == dest
    sub = Subscription("7", T1, "u1", dest, "syria", "hourly", 12.5, 3.0)
    assert Subscription.from_fields(sub.to_fields()) == sub


async def test_restart_of_embedded_server_keeps_subscriptions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=None)
    async with open_redis(settings) as client:
        store = SubscriptionStore(client)
        made = [await store.add(T1, "u1", dm("u1"), f"topic{i}", "daily") for i in range(3)]
        await store.mute(T1, "u1", "topic1", 99.0)
    assert (tmp_path / "valkey").is_dir()
    async with open_redis(settings) as client:
        store = SubscriptionStore(client)
        kept = await store.list_for_user(T1, "u1")
    assert [s.id for s in kept] == [s.id for s in made]
    assert kept[1].muted_until == 99.0
    assert all(s.mode == "daily" for s in kept)


async def test_unreachable_redis_is_one_clear_line() -> None:
    settings = Settings(redis_url="redis://user:s3cret@127.0.0.1:1/0")
    with pytest.raises(StoreError) as info:
        async with open_redis(settings):
            pass
    message = info.value.user_message
    assert message.startswith("Redis at redis://user:***@127.0.0.1:1/0 is unreachable")
    assert "s3cret" not in message and "\n" not in message


def test_redact_url() -> None:
    assert redact_url("redis://:pw@h:6379/1") == "redis://:***@h:6379/1"
    assert redact_url("redis://h:6379") == "redis://h:6379"
