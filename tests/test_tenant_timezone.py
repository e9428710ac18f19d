
"""A tenant's own time zone (``timezone`` command) decides when its daily digest goes."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat.commands import CommandContext, handle
from bot.chat.contract import Destination, Request
from bot.pipeline.digests import DigestQueue, DigestScheduler, next_daily_boundary
from bot.pipeline.outbox import post_from_json
from bot.subscriptions import SubscriptionStore
from bot.subscriptions.tenants import TenantSettings
from tests.pipeline_helpers import current, delivery_entries

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

PARIS = "discord:paris"
DELHI = "slack:delhi"


async def test_timezone_command_shows_sets_and_checks(redis: aioredis.Redis) -> None:
    ctx = CommandContext(SubscriptionStore(redis), tenants=TenantSettings(redis, "UTC"))
    shown = await handle(ctx, Request(PARIS, "u1", "c1", False, text="timezone"))
    assert "UTC" in shown.text
    refused = await handle(ctx, Request(PARIS, "u1", "c1", False, text="timezone Europe/Paris"))
    assert not refused.ok and "manage" in refused.text
    bad = await handle(ctx, Request(PARIS, "u1", "c1", True, text="timezone Mars/Olympus"))
    assert not bad.ok and "Europe/Paris" in bad.text
    done = await handle(ctx, Request(PARIS, "u1", "c1", True, text="timezone Europe/Paris"))
    assert done.ok and "Europe/Paris" in done.text
    assert await TenantSettings(redis).timezone(PARIS) == "Europe/Paris"
    assert await TenantSettings(redis, "UTC").timezone("discord:other") == "UTC"


async def _queue_line(redis: aioredis.Redis, store: SubscriptionStore, tenant: str,
                      dest: Destination, at: float) -> None:
    sub = await store.add(tenant, "u1", dest, "syria", "daily")
    await redis.rpush(keys.digest_key(tenant, sub.id),
                      '{"headline": "Syria story", "link": "https://x.example/s", '
                      f'"site": "X", "matched": ["syria"], "at": {at}}}')
    await redis.sadd(keys.digest_pending_key("daily"), f"{tenant}\x1f{sub.id}")


async def test_daily_digests_follow_each_tenants_zone(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    tenants = TenantSettings(redis, "UTC")
    await tenants.set_timezone(DELHI, "Asia/Kolkata")  # UTC+05:30: a half-hour boundary
    paris_dest = Destination(PARIS, "channel", "c1")
    delhi_dest = Destination(DELHI, "channel", "C1")
    delhi_8am = next_daily_boundary(time.time(), 8, ZoneInfo("Asia/Kolkata"))
    # Both matched ten minutes before 08:00 in Delhi (02:30 UTC).
    await _queue_line(redis, store, PARIS, paris_dest, delhi_8am - 600)
    await _queue_line(redis, store, DELHI, delhi_dest, delhi_8am - 600)
    scheduler = DigestScheduler(DigestQueue(redis, ttl_s=3600), store, digest_hour=8,
                                timezone="UTC", tenants=tenants, shards=current["shards"])
    # Just after 08:00 in Delhi: Delhi's digest goes; Paris (no zone of its own: 08:00 UTC)
    # waits five and a half hours more.
    assert await scheduler.flush("daily", delhi_8am + 60) == 1
    sent = [post_from_json(fields["post"]) for _id, fields in
            await delivery_entries(redis, "slack")]
    assert [p.destination for p in sent] == [delhi_dest]
    assert not await delivery_entries(redis, "discord")
    assert await scheduler.flush("daily", delhi_8am + 5.5 * 3600 + 60) == 1
    assert len(await delivery_entries(redis, "discord")) == 1
    # The scheduler wakes at quarter hours, so a :30 boundary is met on time.
    assert scheduler.next_wake(delhi_8am - 100) <= delhi_8am
