"""Feeds kept in Redis: one record per feed however many channels use it.

A feed is keyed by a hash of its normalised URL. Its record holds the polling state
(validators, interval, failures, disabled reason); beside it, the set of channels that
added it, the seen set of its items (``g:<guid>`` and ``l:<canonical link>`` members
scored by insertion order, the newest few thousand kept), a lease per poll, and one
schedule ZSET ``next poll time -> feed id`` for all enabled feeds. Every multi-key write
is one Lua call; the poll commit checks the lease, records the new items as seen and puts
them on the ingest stream in the same step, so an item is neither lost nor posted twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination
from bot.errors import InvalidURLError, NewsbotError
from bot.pipeline import destinations_from
from bot.urls import clean_url

from .options import FeedOptions

log = logging.getLogger(__name__)

SEEN_CAP = 2000
FORMAT_VERSION = "1"

# KEYS: schedule.  ARGV: now, scan limit, take limit, lease key prefix, token, lease ms.
_CLAIM_LUA = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
local take = tonumber(ARGV[3])
for _, id in ipairs(ids) do
  if #out >= take then break end
  if redis.call('SET', ARGV[4] .. id, ARGV[5], 'NX', 'PX', ARGV[6]) then
    table.insert(out, id)
  end
end
return out
"""

# KEYS: feed hash, channels set, seen zset, schedule, channel index set, options hash.
# ARGV: feed id, destination JSON, next poll at, per-channel cap, seen cap,
#       n field pairs, the channel's options (JSON; '' keeps them), fields...,
#       then the seen keys of the current items.
# Returns 'added' (new or re-enabled feed), 'joined' (running feed, new channel),
#         'already' (this channel has it) or 'limit'.
_ADD_LUA = """
local nf = tonumber(ARGV[6])
local exists = redis.call('EXISTS', KEYS[1]) == 1
local disabled = exists and (redis.call('HGET', KEYS[1], 'disabled') or '') ~= ''
local member = redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1
if not member and redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[4]) then return 'limit' end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[6], ARGV[2], ARGV[7]) end
if member and exists and not disabled then return 'already' end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[1])
if exists and not disabled then return 'joined' end
local fields = {}
for i = 8, 7 + 2 * nf do table.insert(fields, ARGV[i]) end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HDEL', KEYS[1], 'disabled', 'failures', 'first_failure_at', 'last_error')
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
for i = 8 + 2 * nf, #ARGV do
  if not redis.call('ZSCORE', KEYS[3], ARGV[i]) then
    seq = seq + 1
    redis.call('ZADD', KEYS[3], seq, ARGV[i])
  end
end
redis.call('HSET', KEYS[1], 'seq', seq)
local n = redis.call('ZCARD', KEYS[3])
local cap = tonumber(ARGV[5])
if n > cap then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - cap - 1) end
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return 'added'
"""

# KEYS: feed hash, channels set, seen zset, schedule, channel index set, lease, options.
# ARGV: feed id, destination JSON, keep the channel's options (1/0).
# Returns 0 (not there), 1 (removed), 2 (feed deleted).
_REMOVE_LUA = """
if ARGV[3] ~= '1' then redis.call('HDEL', KEYS[7], ARGV[2]) end
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then
  redis.call('SREM', KEYS[5], ARGV[1])
  return 0
end
redis.call('SREM', KEYS[5], ARGV[1])
if redis.call('SCARD', KEYS[2]) > 0 then return 1 end
local kept = ARGV[3] == '1' and redis.call('HGET', KEYS[7], ARGV[2])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[7])
if kept then redis.call('HSET', KEYS[7], ARGV[2], kept) end
redis.call('ZREM', KEYS[4], ARGV[1])
return 2
"""

# KEYS: feed hash, channels set, seen zset, schedule, lease, ingest stream, options.
# ARGV: token, feed id, next poll at (-1: disable), seen cap, t_in,
#       post (1/0), n field pairs, fields..., n items,
#       then per item: url, version key ('' if none), n keys, keys...
# An item is new when none of its keys was seen; a seen item whose version key is new was
# edited: its link goes to the ingest stream marked ``revise`` (edits its posts, if any;
# never a new post). Feeds stored before version keys ('vk' unset) learn them first.
# Returns {new items, edited items}; {-1, 0} if the lease was lost, {-2, 0} if the feed
# is gone.
_COMMIT_LUA = """
if redis.call('GET', KEYS[5]) ~= ARGV[1] then return {-1, 0} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[5])
  return {-2, 0}
end
local versions = redis.call('HGET', KEYS[1], 'vk') == '1'
local options = nil
local function queue(url, revise)
  if options == nil then
    local flat = redis.call('HGETALL', KEYS[7])
    options = ''
    if #flat > 0 then
      local map = {}
      for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
      options = cjson.encode(map)
    end
  end
  local fields = {'url', url, 'tenant', '', 'origin', 'feed', 't_in', ARGV[5],
                  'feed', ARGV[2], 'channels', cjson.encode(redis.call('SMEMBERS', KEYS[2]))}
  if options ~= '' then
    table.insert(fields, 'options')
    table.insert(fields, options)
  end
  if revise then
    table.insert(fields, 'revise')
    table.insert(fields, '1')
  end
  redis.call('XADD', KEYS[6], '*', unpack(fields))
end
local nf = tonumber(ARGV[7])
if nf > 0 then
  local fields = {}
  for i = 8, 7 + 2 * nf do table.insert(fields, ARGV[i]) end
  redis.call('HSET', KEYS[1], unpack(fields))
end
local pos = 8 + 2 * nf
local n_items = tonumber(ARGV[pos])
pos = pos + 1
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local post = ARGV[6] == '1'
local fresh = 0
local edited = 0
for _ = 1, n_items do
  local url = ARGV[pos]
  local version = ARGV[pos + 1]
  local nk = tonumber(ARGV[pos + 2])
  local missing = {}
  local known = false
  for k = pos + 3, pos + 2 + nk do
    if redis.call('ZSCORE', KEYS[3], ARGV[k]) then known = true
    else table.insert(missing, ARGV[k]) end
  end
  pos = pos + 3 + nk
  local changed = false
  if version ~= '' and not redis.call('ZSCORE', KEYS[3], version) then
    table.insert(missing, version)
    changed = known and versions
  end
  for _, key in ipairs(missing) do
    seq = seq + 1
    redis.call('ZADD', KEYS[3], seq, key)
  end
  if not known then
    fresh = fresh + 1
    if post and url ~= '' then queue(url, false) end
  elseif changed then
    edited = edited + 1
    if post and url ~= '' then queue(url, true) end
  end
end
redis.call('HSET', KEYS[1], 'seq', seq)
-- Version keys recorded for the items of a full read: from now on a new one is an edit.
if n_items > 0 then redis.call('HSET', KEYS[1], 'vk', '1') end
local n = redis.call('ZCARD', KEYS[3])
local cap = tonumber(ARGV[4])
if n > cap then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - cap - 1) end
if tonumber(ARGV[3]) < 0 then
  redis.call('ZREM', KEYS[4], ARGV[2])
else
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
end
redis.call('DEL', KEYS[5])
return {fresh, edited}
"""


# KEYS: lease.  ARGV: token.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def normalise_feed_url(url: str) -> str:
    """The feed URL as stored: absolute http(s), no tracking parameters or fragment."""
    cleaned = clean_url(url)
    if cleaned is None:
        raise InvalidURLError("That is not a web link (http:// or https://).", url[:200])
    return cleaned


def feed_id_for(url: str) -> str:
    """The id of a feed: a hash of its normalised URL."""
    digest = hashlib.blake2b(normalise_feed_url(url).encode("utf-8"), digest_size=10)
    return digest.hexdigest()


def destination_member(destination: Destination) -> str:
    """A destination as a set member (stable JSON)."""
    return json.dumps(destination.to_dict(), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """One feed's stored state; times are Unix seconds."""

    id: str
    url: str
    title: str = ""
    source: str = ""
    etag: str = ""
    last_modified: str = ""
    body_hash: str = ""
    ttl_s: int = 0
    interval_s: int = 0
    next_poll_at: float = 0.0
    failures: int = 0
    first_failure_at: float | None = None
    last_error: str = ""
    disabled: str = ""
    created_at: float = 0.0
    last_ok_at: float | None = None

    @classmethod
    def from_fields(cls, feed_id: str, f: Mapping[str, str]) -> FeedRecord:
        """Rebuild from the Redis hash (fields missing in older records get defaults)."""

        def num(name: str) -> float | None:
            value = f.get(name)
            try:
                return float(value) if value else None
            except ValueError:
                return None

        return cls(
            id=feed_id,
            url=f.get("url", ""),
            title=f.get("title", ""),
            source=f.get("source", ""),
            etag=f.get("etag", ""),
            last_modified=f.get("last_modified", ""),
            body_hash=f.get("body_hash", ""),
            ttl_s=int(num("ttl_s") or 0),
            interval_s=int(num("interval_s") or 0),
            next_poll_at=num("next_poll_at") or 0.0,
            failures=int(num("failures") or 0),
            first_failure_at=num("first_failure_at"),
            last_error=f.get("last_error", ""),
            disabled=f.get("disabled", ""),
            created_at=num("created_at") or 0.0,
            last_ok_at=num("last_ok_at"),
        )

    @property
    def state(self) -> str:
        """``ok``, ``backing off`` or ``disabled``."""
        if self.disabled:
            return "disabled"
        return "backing off" if self.failures else "ok"


@dataclass(frozen=True, slots=True)
class PolledItem:
    """What the commit needs of an item: the link to card, the keys it is seen by and the
    key of its current version (a new one: the item was edited)."""

    url: str
    seen_keys: tuple[str, ...]
    version_key: str = ""


@dataclass(frozen=True, slots=True)
class Committed:
    """What a poll's commit recorded: new items, edited items; ``lost`` the lease or
    ``gone`` the feed (nothing recorded then)."""

    new: int = 0
    edited: int = 0
    lost: bool = False
    gone: bool = False


def _flat(fields: Mapping[str, str | int | float]) -> list[str]:
    out: list[str] = []
    for name, value in fields.items():
        out.extend((name, value if isinstance(value, str) else repr(value)))
    return out


class FeedStore:
    """Domain methods over the feed keys."""

    def __init__(self, redis: aioredis.Redis, *, seen_cap: int = SEEN_CAP) -> None:
        self.redis = redis
        self.seen_cap = seen_cap
        self._claim = redis.register_script(_CLAIM_LUA)
        self._add = redis.register_script(_ADD_LUA)
        self._remove = redis.register_script(_REMOVE_LUA)
        self._commit = redis.register_script(_COMMIT_LUA)
        self._release = redis.register_script(_RELEASE_LUA)

    def _cap(self, n_keys: int) -> int:
        # Every key still in the document must stay remembered, however long the feed.
        return max(self.seen_cap, 4 * n_keys)

    async def get(self, feed_id: str) -> FeedRecord | None:
        """One feed, or None."""
        fields: dict[str, str] = await self.redis.hgetall(keys.feed_key(feed_id))  # type: ignore[assignment]
        return FeedRecord.from_fields(feed_id, fields) if fields else None

    async def channels(self, feed_id: str) -> list[Destination]:
        """The channels that added a feed."""
        members = await self.redis.smembers(keys.feed_channels_key(feed_id))
        return sorted(destinations_from(json.dumps([str(m) for m in members])), key=str)

    async def for_channel(self, destination: Destination) -> list[FeedRecord]:
        """The feeds a channel has added, by URL."""
        ids = await self.redis.smembers(
            keys.channel_feeds_key(destination.tenant, destination.key))
        pipe = self.redis.pipeline(transaction=False)
        ordered = sorted(str(i) for i in ids)
        for feed_id in ordered:
            pipe.hgetall(keys.feed_key(feed_id))
        rows: list[dict[str, str]] = await pipe.execute()
        found = [FeedRecord.from_fields(i, r) for i, r in zip(ordered, rows, strict=True) if r]
        return sorted(found, key=lambda r: r.url)

    async def add(
        self,
        feed_id: str,
        destination: Destination,
        fields: Mapping[str, str | int | float],
        seen_keys: Sequence[str],
        *,
        next_poll_at: float,
        max_per_channel: int,
        options: FeedOptions | None = None,
    ) -> str:
        """Add a channel to a feed, creating (or re-enabling) it with its items as seen.

        ``options`` (when given) replace the channel's options for the feed, in the same
        atomic step; None keeps them.
        """
        flat = _flat({**fields, "v": FORMAT_VERSION})
        reply = await self._add(
            keys=[
                keys.feed_key(feed_id), keys.feed_channels_key(feed_id),
                keys.feed_seen_key(feed_id), keys.FEED_SCHEDULE,
                keys.channel_feeds_key(destination.tenant, destination.key),
                keys.feed_options_key(feed_id),
            ],
            args=[
                feed_id, destination_member(destination), repr(next_poll_at),
                max_per_channel, self._cap(len(seen_keys)), len(flat) // 2,
                json.dumps(options.stored(), sort_keys=True) if options is not None else "",
                *flat, *seen_keys,
            ],
        )
        if str(reply) != "limit":
            await self.redis.sadd(keys.tenant_feed_channels_key(destination.tenant),
                                  destination.key)
        return str(reply)

    async def tenant_channels(self, tenant: str) -> list[Destination]:
        """The channels of a tenant that have added (or paused) feeds."""
        index = keys.tenant_feed_channels_key(tenant)
        members = {str(m) for m in await self.redis.smembers(index)}
        if not members:
            # Feeds added before the index existed: find their channels once, then index.
            prefix = keys.channel_feeds_key(tenant, "")
            pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
            async for name in self.redis.scan_iter(match=pattern, count=1000):
                members.add(str(name)[len(prefix):])
            # "-" marks the index as built: a tenant without feeds is not scanned again.
            await self.redis.sadd(index, "-", *members)
        out: list[Destination] = []
        for member in sorted(members):
            try:
                out.append(Destination.parse(tenant, member))
            except NewsbotError:
                continue
        return out

    async def pause(self, destination: Destination, record: FeedRecord) -> None:
        """Remember a channel's paused feed (its posting there stopped by ``remove``)."""
        await self.redis.hset(
            keys.channel_paused_feeds_key(destination.tenant, destination.key),
            record.url, record.title)
        await self.redis.sadd(keys.tenant_feed_channels_key(destination.tenant),
                              destination.key)

    async def paused(self, destination: Destination) -> dict[str, str]:
        """A channel's paused feeds: URL -> title."""
        found = await self.redis.hgetall(
            keys.channel_paused_feeds_key(destination.tenant, destination.key))
        return {str(k): str(v) for k, v in found.items()}

    async def unpause(self, destination: Destination, url: str) -> bool:
        """Forget a paused feed of a channel; whether it was paused."""
        return bool(await self.redis.hdel(
            keys.channel_paused_feeds_key(destination.tenant, destination.key), url))

    async def remove(self, feed_id: str, destination: Destination, *,
                     keep_options: bool = False) -> int:
        """Take a channel off a feed (the feed goes when no channel is left); 0 if absent.

        ``keep_options`` keeps the channel's options for a resume (a pause)."""
        reply = await self._remove(
            keys=[
                keys.feed_key(feed_id), keys.feed_channels_key(feed_id),
                keys.feed_seen_key(feed_id), keys.FEED_SCHEDULE,
                keys.channel_feeds_key(destination.tenant, destination.key),
                keys.feed_lease_key(feed_id), keys.feed_options_key(feed_id),
            ],
            args=[feed_id, destination_member(destination), 1 if keep_options else 0],
        )
        return int(reply)

    async def drop_options(self, feed_id: str, destination: Destination) -> None:
        """Forget a channel's options for a feed (a paused feed removed for good)."""
        await self.redis.hdel(keys.feed_options_key(feed_id), destination_member(destination))

    async def options(self, feed_id: str, destination: Destination) -> str | None:
        """A channel's options of a feed as stored (JSON), or None."""
        raw = await self.redis.hget(keys.feed_options_key(feed_id),
                                    destination_member(destination))
        return None if raw is None else str(raw)

    async def claim_due(self, now: float, limit: int, token: str, lease_ms: int) -> list[str]:
        """Feeds due at ``now`` that this poller now holds the lease of (at most ``limit``)."""
        reply = await self._claim(
            keys=[keys.FEED_SCHEDULE],
            args=[repr(now), max(limit * 4, 64), limit, keys.feed_lease_key(""), token,
                  lease_ms],
        )
        return [str(r) for r in reply]

    async def next_due(self) -> float | None:
        """When the earliest feed is due (None if there are no enabled feeds)."""
        first = await self.redis.zrange(keys.FEED_SCHEDULE, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def commit(
        self,
        feed_id: str,
        token: str,
        *,
        fields: Mapping[str, str | int | float],
        next_poll_at: float | None,
        items: Sequence[PolledItem] = (),
        post: bool = True,
        t_in: float = 0.0,
    ) -> Committed:
        """Record a poll: state, new and edited items seen (and queued), next poll or
        disabled."""
        flat = _flat(fields)
        args: list[str | int] = [
            token, feed_id, -1 if next_poll_at is None else repr(next_poll_at),
            self._cap(sum(len(i.seen_keys) + 1 for i in items)),
            repr(t_in), 1 if post else 0, len(flat) // 2, *flat, len(items),
        ]
        for item in items:
            args.extend((item.url, item.version_key, len(item.seen_keys), *item.seen_keys))
        reply = await self._commit(
            keys=[
                keys.feed_key(feed_id), keys.feed_channels_key(feed_id),
                keys.feed_seen_key(feed_id), keys.FEED_SCHEDULE,
                keys.feed_lease_key(feed_id), keys.INGEST_STREAM,
                keys.feed_options_key(feed_id),
            ],
            args=args,
        )
        new, edited = int(reply[0]), int(reply[1])
        return Committed(max(new, 0), edited, lost=new == -1, gone=new == -2)

    async def release(self, feed_id: str, token: str) -> None:
        """Give up a lease without recording anything (only if it is still ours)."""
        await self._release(keys=[keys.feed_lease_key(feed_id)], args=[token])

    async def seen_count(self, feed_id: str) -> int:
        """How many item keys a feed remembers."""
        return int(await self.redis.zcard(keys.feed_seen_key(feed_id)))
