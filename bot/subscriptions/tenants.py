"""Per-tenant settings kept in Redis: a workspace's or guild's own time zone, its managers
roles and its channels' post formats."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import PostFormat, format_of
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
    """A tenant's time zone (falling back to ``NEWSBOT_DIGEST_TIMEZONE``), managers roles
    and channel formats."""

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

    # --- managers: roles / user groups whose members manage besides the admins ----------

    async def manager_roles(self, tenant: str) -> list[str]:
        """The role (Discord) or user group (Slack) ids whose members manage the tenant."""
        return sorted(str(r) for r in await self.redis.smembers(keys.tenant_managers_key(tenant)))

    async def add_manager_role(self, tenant: str, role: str) -> bool:
        """Let the members of ``role`` manage; False if they already did."""
        return bool(await self.redis.sadd(keys.tenant_managers_key(tenant), role))

    async def remove_manager_role(self, tenant: str, role: str) -> bool:
        """Stop ``role`` granting manage rights; False if it did not."""
        return bool(await self.redis.srem(keys.tenant_managers_key(tenant), role))

    async def is_manager(self, tenant: str, roles: Sequence[str]) -> bool:
        """Whether any of ``roles`` (a user's) is a managers role of the tenant."""
        if not roles:
            return False
        found = await self.redis.smismember(keys.tenant_managers_key(tenant), list(roles))
        return any(found)

    # --- per-channel post format ----------------------------------------------------------

    async def channel_format(self, tenant: str, channel: str) -> PostFormat:
        """How cards are shown in a channel (``full`` unless set)."""
        value = await self.redis.hget(keys.channel_formats_key(tenant), f"channel:{channel}")
        return format_of(str(value) if value else None)

    async def set_channel_format(self, tenant: str, channel: str, fmt: PostFormat) -> None:
        """Store a channel's format (``full``, the default, is stored as nothing)."""
        key = keys.channel_formats_key(tenant)
        if fmt == "full":
            await self.redis.hdel(key, f"channel:{channel}")
        else:
            await self.redis.hset(key, f"channel:{channel}", fmt)
