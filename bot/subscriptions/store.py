"""Topic subscriptions kept in Redis: the store behind every subscribe/list/mute command.

Per tenant: a hash per subscription, a set per owner, a set per destination and a set of
all the tenant's ids, all under one hash tag so each write is one atomic Lua call inside
one Cluster slot. After every write the store appends ``(tenant, id)`` to a global change
stream; readers re-read the subscription, so a change applied twice or late still converges.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot import keys
from bot.chat.contract import MODES, Destination, Mode, Subscription
from bot.errors import CommandError, LimitError, StoreError
from bot.settings import Settings

from .topics import parse_topic

log = logging.getLogger(__name__)

def stored_fields(sub: Subscription) -> dict[str, str]:
    """The Redis hash of a subscription, with its canonical expression (duplicate checks)."""
    return {**sub.to_fields(), "canon": parse_topic(sub.expression).canonical}


# KEYS: tenant subs set, owner set, destination set, id counter, tenant version.
# ARGV: hash key prefix, user cap, destination cap (0 = none), canonical expr, then fields.
# The hash key is built from the prefix: it shares the tenant's hash tag, hence its slot.
_ADD_LUA = """
local members = redis.call('SMEMBERS', KEYS[3])
for _, sid in ipairs(members) do
  if redis.call('HGET', ARGV[1] .. sid, 'canon') == ARGV[4] then
    return {'dup', sid}
  end
end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  return {'user_limit', ''}
end
local dest_cap = tonumber(ARGV[3])
if dest_cap > 0 and redis.call('SCARD', KEYS[3]) >= dest_cap then
  return {'dest_limit', ''}
end
local id = tostring(redis.call('INCR', KEYS[4]))
local key = ARGV[1] .. id
redis.call('HSET', key, 'id', id, unpack(ARGV, 5))
redis.call('SADD', KEYS[1], id)
redis.call('SADD', KEYS[2], id)
redis.call('SADD', KEYS[3], id)
return {'ok', id, redis.call('INCR', KEYS[5])}
"""

# KEYS: tenant subs set, tenant version. ARGV: hash key prefix, user key prefix, dest key
# prefix, id. Returns the new version (0: nothing to remove).
_REMOVE_LUA = """
local key = ARGV[1] .. ARGV[4]
local owner = redis.call('HGET', key, 'owner')
if not owner then return 0 end
local dest = redis.call('HGET', key, 'dest')
redis.call('SREM', ARGV[2] .. owner, ARGV[4])
redis.call('SREM', ARGV[3] .. dest, ARGV[4])
redis.call('SREM', KEYS[1], ARGV[4])
redis.call('DEL', key)
return redis.call('INCR', KEYS[2])
"""

# KEYS: the subscription hash, tenant version. ARGV: field, value ('' deletes). Only if
# it still exists; returns the new version (0: gone).
# KEYS: the tenant's id set.  ARGV: subscription key prefix.  Every hash, in one reply
# (a workspace's thousand subscriptions in one round trip, for the panel and repairs).
_TENANT_LUA = """
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local row = redis.call('HGETALL', ARGV[1] .. id)
  if #row > 0 then table.insert(out, row) end
end
return out
"""

_SET_FIELD_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return redis.call('INCR', KEYS[2])
"""


def _strs(values: Any) -> set[str]:
    """A reply set as str (the client decodes responses)."""
    return {str(v) for v in values}


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change stream: subscription ``id`` of ``tenant`` was written."""

    stream_id: str
    tenant: str
    sub_id: str
    #: the tenant's version after this write (0 when unknown)
    version: int = 0


class SubscriptionStore:
    """Domain methods over the subscription keys; every write is atomic per tenant."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        max_per_user: int = 50,
        max_per_channel: int = 200,
        changes_maxlen: int = keys.SUB_CHANGES_MAXLEN,
    ) -> None:
        self.redis = redis
        self.max_per_user = max_per_user
        self.max_per_channel = max_per_channel
        self.changes_maxlen = changes_maxlen
        self._add = redis.register_script(_ADD_LUA)
        self._remove = redis.register_script(_REMOVE_LUA)
        self._set_field = redis.register_script(_SET_FIELD_LUA)
        self._tenant = redis.register_script(_TENANT_LUA)

    @classmethod
    def from_settings(cls, redis: aioredis.Redis, settings: Settings) -> SubscriptionStore:
        """A store with the caps from the settings."""
        return cls(
            redis,
            max_per_user=settings.max_subscriptions_per_user,
            max_per_channel=settings.max_subscriptions_per_channel,
        )

    # --- writes -----------------------------------------------------------------------

    async def add(
        self,
        tenant: str,
        owner: str,
        destination: Destination,
        expression: str,
        mode: Mode = "instant",
        *,
        now: float | None = None,
        ping: str | None = None,
    ) -> Subscription:
        """Validate and store a subscription; caps and duplicates are checked atomically.

        ``ping`` is the role or user group its posts ping (the caller checked the right).
        """
        if mode not in MODES:
            raise CommandError("The delivery mode must be instant, hourly or daily.")
        if destination.tenant != tenant:
            raise StoreError("A subscription's destination must be in its own tenant.")
        parsed = parse_topic(expression)
        sub = Subscription(
            id="",
            tenant=tenant,
            owner=owner,
            destination=destination,
            expression=parsed.text,
            mode=mode,
            created_at=time.time() if now is None else now,
            ping=ping,
        )
        fields = stored_fields(sub)
        del fields["id"]
        flat = [item for pair in fields.items() for item in pair]
        dest_cap = self.max_per_channel if destination.kind == "channel" else 0
        try:
            await self.redis.sadd(keys.TENANTS, tenant)
            if ping:
                # Before the subscription: the fan-out looks up pings only in tenants
                # flagged so (a flag without a pinging subscription costs a look-up only).
                await self.redis.hset(keys.tenant_settings_key(tenant), keys.PINGS_FIELD, "1")
            status, sub_id, *version = await self._add(
                keys=[
                    keys.tenant_subs_key(tenant),
                    keys.user_key(tenant, owner),
                    keys.dest_key(tenant, destination.key),
                    keys.tenant_seq_key(tenant),
                    keys.tenant_version_key(tenant),
                ],
                args=[
                    keys.sub_key_prefix(tenant),
                    self.max_per_user,
                    dest_cap,
                    fields["canon"],
                    *flat,
                ],
            )
        except RedisError as exc:
            raise StoreError(f"Could not save the subscription: {exc}") from exc
        if status == "dup":
            raise CommandError(f"Already subscribed to “{parsed.text}” there.")
        if status == "user_limit":
            raise LimitError(
                f"You already have {self.max_per_user} subscriptions, the most allowed: "
                "remove one first.",
                self.max_per_user,
            )
        if status == "dest_limit":
            raise LimitError(
                f"This channel already has {self.max_per_channel} subscriptions, the most "
                "allowed: remove one first.",
                self.max_per_channel,
            )
        sub = replace(sub, id=str(sub_id))
        await self._publish(tenant, [sub.id], int(version[0]))
        log.info("subscription %s/%s added for %s", tenant, sub.id, destination)
        return sub

    async def remove_ids(self, tenant: str, sub_ids: Iterable[str]) -> int:
        """Delete subscriptions by id; returns how many existed."""
        removed: list[str] = []
        version = 0
        try:
            for sub_id in sub_ids:
                done = int(await self._remove(
                    keys=[keys.tenant_subs_key(tenant), keys.tenant_version_key(tenant)],
                    args=[
                        keys.sub_key_prefix(tenant),
                        keys.user_key(tenant, ""),
                        keys.dest_key(tenant, ""),
                        sub_id,
                    ],
                ))
                if done:
                    removed.append(sub_id)
                    version = max(version, done)
        finally:
            await self._publish(tenant, removed, version)
        return len(removed)

    async def remove(
        self,
        tenant: str,
        owner: str,
        target: str,
        destination: Destination | None = None,
    ) -> list[Subscription]:
        """Remove the owner's subscriptions whose id or expression is ``target``."""
        found = await self.find(tenant, owner, target, destination)
        await self.remove_ids(tenant, [s.id for s in found])
        return found

    async def remove_all(
        self, tenant: str, owner: str, destination: Destination | None = None
    ) -> list[Subscription]:
        """Remove every subscription of the owner (optionally only those to one place)."""
        subs = await self.list_for_user(tenant, owner)
        if destination is not None:
            subs = [s for s in subs if s.destination == destination]
        await self.remove_ids(tenant, [s.id for s in subs])
        return subs

    async def mute(
        self,
        tenant: str,
        owner: str,
        target: str,
        until: float,
        destination: Destination | None = None,
    ) -> list[Subscription]:
        """Mute the matching subscriptions until ``until`` (Unix seconds)."""
        found = await self.find(tenant, owner, target, destination)
        await self._set_all(tenant, [s.id for s in found], "muted_until", repr(until))
        return [replace(s, muted_until=until) for s in found]

    async def unmute(
        self,
        tenant: str,
        owner: str,
        target: str,
        destination: Destination | None = None,
    ) -> list[Subscription]:
        """Lift the mute of the matching subscriptions."""
        found = await self.find(tenant, owner, target, destination)
        await self._set_all(tenant, [s.id for s in found], "muted_until", "")
        return [replace(s, muted_until=None) for s in found]

    async def disable_destination(self, destination: Destination) -> int:
        """Stop delivering to a destination that is gone (e.g. a deleted channel)."""
        tenant = destination.tenant
        ids = _strs(await self.redis.smembers(keys.dest_key(tenant, destination.key)))
        await self._set_all(tenant, sorted(ids), "disabled", "1")
        return len(ids)

    async def _set_all(self, tenant: str, sub_ids: list[str], field: str, value: str) -> None:
        version = 0
        try:
            for sub_id in sub_ids:
                done = await self._set_field(
                    keys=[keys.sub_key(tenant, sub_id), keys.tenant_version_key(tenant)],
                    args=[field, value],
                )
                version = max(version, int(done))
        except RedisError as exc:
            raise StoreError(f"Could not update the subscription: {exc}") from exc
        finally:
            await self._publish(tenant, sub_ids, version)

    async def _publish(self, tenant: str, sub_ids: Iterable[str], version: int = 0) -> None:
        """Append the changes to the global stream (after the tenant-local write).

        Not atomic with the write (the stream is global, the write tenant-local, as Redis
        Cluster requires): a writer dying in between is caught by ``versions``.
        """
        ids = list(sub_ids)
        if not ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        for sub_id in ids:
            pipe.xadd(
                keys.SUB_CHANGES,
                {"tenant": tenant, "id": sub_id, "ver": version},
                maxlen=self.changes_maxlen,
                approximate=True,
            )
        await pipe.execute()

    async def versions(self) -> dict[str, int]:
        """Every tenant's subscription version (bumped by each write, in the write)."""
        tenants = sorted(await self.tenants())
        pipe = self.redis.pipeline(transaction=False)
        for tenant in tenants:
            pipe.get(keys.tenant_version_key(tenant))
        values = await pipe.execute()
        return {t: int(v or 0) for t, v in zip(tenants, values, strict=True)}

    async def count(self, tenant: str) -> int:
        """How many subscriptions a tenant has."""
        return int(await self.redis.scard(keys.tenant_subs_key(tenant)))

    async def tenant_subscriptions(self, tenant: str) -> list[Subscription]:
        """All of one tenant's subscriptions, oldest first."""
        rows: Any = await self._tenant(keys=[keys.tenant_subs_key(tenant)],
                                       args=[keys.sub_key_prefix(tenant)])
        subs = [Subscription.from_fields(dict(zip(row[::2], row[1::2], strict=True)))
                for row in rows]
        return sorted(subs, key=lambda s: (len(s.id), s.id))

    # --- reads ------------------------------------------------------------------------

    async def get(self, tenant: str, sub_id: str) -> Subscription | None:
        """One subscription, or None if it does not exist."""
        fields: dict[str, str] = await self.redis.hgetall(keys.sub_key(tenant, sub_id))  # type: ignore[assignment]
        return Subscription.from_fields(fields) if fields else None

    async def _get_many(self, tenant: str, sub_ids: Iterable[str]) -> list[Subscription]:
        pipe = self.redis.pipeline(transaction=False)
        ordered = sorted(sub_ids, key=lambda s: (len(s), s))
        for sub_id in ordered:
            pipe.hgetall(keys.sub_key(tenant, sub_id))
        rows: list[dict[str, str]] = await pipe.execute()
        return [Subscription.from_fields(row) for row in rows if row]

    async def list_for_user(self, tenant: str, owner: str) -> list[Subscription]:
        """Every subscription the user owns in the tenant, oldest first."""
        ids = _strs(await self.redis.smembers(keys.user_key(tenant, owner)))
        return await self._get_many(tenant, ids)

    async def list_for_destination(self, destination: Destination) -> list[Subscription]:
        """Every subscription delivering to a destination, oldest first."""
        tenant = destination.tenant
        ids = _strs(await self.redis.smembers(keys.dest_key(tenant, destination.key)))
        return await self._get_many(tenant, ids)

    async def find(
        self,
        tenant: str,
        owner: str,
        target: str,
        destination: Destination | None = None,
    ) -> list[Subscription]:
        """The owner's subscriptions whose id, text or meaning equals ``target``."""
        subs = await self.list_for_user(tenant, owner)
        if destination is not None:
            subs = [s for s in subs if s.destination == destination]
        text = target.strip()
        by_id = [s for s in subs if s.id == text.lstrip("#")]
        if by_id:
            return by_id
        try:
            canonical: str | None = parse_topic(text).canonical
        except Exception:
            canonical = None
        folded = text.casefold()
        return [
            s
            for s in subs
            if s.expression.casefold() == folded
            or (canonical is not None and parse_topic(s.expression).canonical == canonical)
        ]

    async def tenants(self) -> list[str]:
        """Every tenant that has had subscriptions."""
        return sorted(_strs(await self.redis.smembers(keys.TENANTS)))

    async def all_subscriptions(self, batch: int = 1000) -> AsyncIterator[Subscription]:
        """Every subscription of every tenant (via the registry, no SCAN), in batches."""
        for tenant in await self.tenants():
            ids = sorted(
                _strs(await self.redis.smembers(keys.tenant_subs_key(tenant))),
                key=lambda s: (len(s), s),
            )
            for start in range(0, len(ids), batch):
                pipe = self.redis.pipeline(transaction=False)
                for sub_id in ids[start : start + batch]:
                    pipe.hgetall(keys.sub_key(tenant, sub_id))
                rows: list[dict[str, str]] = await pipe.execute()
                for row in rows:
                    if row:
                        yield Subscription.from_fields(row)

    # --- change stream ----------------------------------------------------------------

    async def changes_position(self) -> str:
        """The id of the newest change (``0-0`` if none): follow the stream from here."""
        last = await self.redis.xrevrange(keys.SUB_CHANGES, count=1)
        return str(last[0][0]) if last else "0-0"

    async def oldest_change(self) -> str | None:
        """The id of the oldest change still in the stream (None if empty)."""
        first = await self.redis.xrange(keys.SUB_CHANGES, count=1)
        return str(first[0][0]) if first else None

    async def changes_state(self) -> tuple[str, int]:
        """The newest change id and how many changes were ever added (0-0, 0 if none)."""
        try:
            info: dict[str, Any] = await self.redis.xinfo_stream(keys.SUB_CHANGES)
        except ResponseError:
            return "0-0", 0
        return str(info["last-generated-id"]), int(info.get("entries-added") or 0)

    async def missed_changes(self, seen: int) -> bool:
        """Whether changes after the first ``seen`` ever added were trimmed away unread."""
        try:
            info: dict[str, Any] = await self.redis.xinfo_stream(keys.SUB_CHANGES)
        except ResponseError:
            return False
        trimmed = int(info.get("entries-added") or 0) - int(info["length"])
        return trimmed > seen

    async def read_changes(
        self, after: str, block_ms: int | None = None, count: int = 1000
    ) -> list[Change]:
        """Changes after stream id ``after`` (waiting up to ``block_ms`` for one)."""
        reply: Any = await self.redis.xread(
            {keys.SUB_CHANGES: after}, count=count, block=block_ms
        )
        changes: list[Change] = []
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                changes.append(Change(str(entry_id), fields["tenant"], fields["id"],
                                      int(fields.get("ver") or 0)))
        return changes

