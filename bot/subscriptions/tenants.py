"""Per-tenant settings kept in Redis: a workspace's or guild's own time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis.asyncio as aioredis

from bot import keys
from bot.errors import CommandError


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``, or a CommandError a person can act on."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            f"I don't know the time zone “{name[:60]}”: use a name like Europe/Paris, "
            "America/New_York or UTC."
        ) from None


class TenantSettings:
    """A tenant's time zone, falling back to ``NEWSBOT_DIGEST_TIMEZONE``."""

    def __init__(self, redis: aioredis.Redis, default_timezone: str = "UTC") -> None:
        self.redis = redis
        self.default = default_timezone

    async def timezone(self, tenant: str) -> str:
        """The tenant's time zone name (the default when it set none)."""
        value = await self.redis.hget(keys.tenant_settings_key(tenant), "timezone")
        return str(value) if value else self.default

    async def set_timezone(self, tenant: str, name: str) -> str:
        """Store a (validated) time zone for the tenant; its canonical name."""
        canonical = str(zone(name))
        await self.redis.hset(keys.tenant_settings_key(tenant), "timezone", canonical)
        return canonical
