"""The store's schema version, and the migrations that bring an older store up to date.

``newsbot:schema`` holds the version of the key layout the store was written in. Release
0.1.0 wrote no such key: a store without it is version 0. Every process runs
``ensure_current`` when it connects: missing steps run in order (each idempotent, so two
processes starting together do no harm), then the version is stamped. A store written by
a newer newsbot is refused with one line rather than misread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from bot import keys
from bot.errors import StoreError

log = logging.getLogger(__name__)

#: the key layout this code reads and writes
SCHEMA_VERSION = 1

Migration = Callable[[aioredis.Redis], Awaitable[None]]


async def _from_0_1_0(redis: aioredis.Redis) -> None:
    """0 → 1: release 0.1.0's layout is read unchanged; from now on it carries its
    version, so the next change of layout knows what it starts from."""


#: MIGRATIONS[n] turns a version-n store into version n + 1
MIGRATIONS: dict[int, Migration] = {0: _from_0_1_0}


async def stored_version(redis: aioredis.Redis) -> int:
    """The version the store says it was written in (0: release 0.1.0, before the key)."""
    raw = await redis.get(keys.SCHEMA_KEY)
    if raw is None:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise StoreError(f"The store's schema version {raw!r} is not a number.") from None


async def ensure_current(redis: aioredis.Redis) -> int:
    """Migrate the store to SCHEMA_VERSION if it is older; the version found."""
    found = await stored_version(redis)
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"The store was written by a newer newsbot (schema {found}; this one reads up "
            f"to {SCHEMA_VERSION}): upgrade newsbot, or restore a backup into an empty store.")
    for version in range(found, SCHEMA_VERSION):
        log.info("store schema %d → %d", version, version + 1)
        await MIGRATIONS[version](redis)
        await redis.set(keys.SCHEMA_KEY, str(version + 1))
    return found
