"""Redis Streams helpers: XADD, consumer groups, reading, reclaiming and acking.

XACK does not delete an entry; ``ack`` also XDELs it (one group per stream), so a stream
holds only its backlog. Work streams are never trimmed (``MAXLEN`` would drop entries
nobody has handled): their producers refuse or wait at a cap instead. Only record streams
(the dead letters) are trimmed, oldest first.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

Fields = Mapping[str, str | int | float]


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry: its id and its fields (strings)."""

    id: str
    fields: dict[str, str]


def consumer_name(role: str, index: int = 0) -> str:
    """A consumer name unique to this process: ``role-host-pid-index``."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{index}"


async def add(redis: aioredis.Redis, stream: str, fields: Fields,
              maxlen: int | None = None) -> str:
    """XADD (trimming to about ``maxlen`` only when given: records, never work); the id."""
    data: dict[Any, Any] = dict(fields)
    entry_id: Any = await redis.xadd(stream, data, maxlen=maxlen, approximate=True)
    return str(entry_id)


async def ensure_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) unless it exists."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _entries(raw: Any) -> list[Entry]:
    out: list[Entry] = []
    for entry_id, fields in raw or ():
        if fields is None:  # deleted while pending
            continue
        out.append(Entry(str(entry_id), {str(k): str(v) for k, v in fields.items()}))
    return out


async def read(
    redis: aioredis.Redis,
    stream: str,
    group: str,
    consumer: str,
    *,
    count: int,
    block_ms: int,
) -> list[Entry]:
    """New entries for ``consumer`` (XREADGROUP ``>``), waiting up to ``block_ms``."""
    reply: Any = await redis.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
    out: list[Entry] = []
    for _stream, raw in reply or ():
        out.extend(_entries(raw))
    return out


async def read_own(
    redis: aioredis.Redis, stream: str, group: str, consumer: str, *, count: int
) -> tuple[list[Entry], bool]:
    """This consumer's own pending entries (XREADGROUP ``0``) and whether that was all."""
    reply: Any = await redis.xreadgroup(group, consumer, {stream: "0"}, count=count)
    raw: list[Any] = []
    for _stream, part in reply or ():
        raw.extend(part)
    return _entries(raw), len(raw) < count


# KEYS: the stream.  ARGV: group, min idle ms, the caller's own name.  The names removed.
# Atomic, so a consumer cannot take an entry between the check and the removal (XGROUP
# DELCONSUMER drops a consumer's pending entries with it).
_FORGET_LUA = """
local removed = {}
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['name'] ~= ARGV[3] and tonumber(info['pending']) == 0
      and tonumber(info['idle']) >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    table.insert(removed, info['name'])
  end
end
return removed
"""


async def forget_idle(
    redis: aioredis.Redis, stream: str, group: str, consumer: str, *, min_idle_ms: int
) -> list[str]:
    """Remove consumers idle for ``min_idle_ms`` with nothing pending (dead processes')."""
    removed: Any = await redis.eval(_FORGET_LUA, 1, stream, group, min_idle_ms, consumer)
    return [str(name) for name in removed or ()]


def is_nogroup(exc: BaseException) -> bool:
    """Whether Redis said the stream or its consumer group does not exist (emptied?)."""
    return isinstance(exc, ResponseError) and str(exc).startswith("NOGROUP")


async def reclaim(
    redis: aioredis.Redis,
    stream: str,
    group: str,
    consumer: str,
    *,
    min_idle_ms: int,
    count: int = 100,
) -> tuple[list[Entry], int]:
    """Take over entries idle longer than ``min_idle_ms`` (XAUTOCLAIM, one full sweep);
    also how many pending entries had been deleted by someone else (lost work)."""
    out: list[Entry] = []
    vanished = 0
    cursor = "0-0"
    while True:
        reply: Any = await redis.xautoclaim(
            stream, group, consumer, min_idle_ms, start_id=cursor, count=count
        )
        cursor = str(reply[0])
        out.extend(_entries(reply[1]))
        deleted = reply[2] if len(reply) > 2 else []
        if deleted:
            # Nothing here trims a work stream: someone deleted entries nobody handled.
            # They cannot be processed; say so and stop tracking them.
            vanished += len(deleted)
            log.warning("%d pending entries of %s were deleted before being handled: %s",
                        len(deleted), stream, ", ".join(str(d) for d in deleted[:5]))
            await redis.xack(stream, group, *deleted)
        if cursor == "0-0" or len(out) >= count:
            return out, vanished


async def touch(
    redis: aioredis.Redis, stream: str, group: str, consumer: str, ids: Sequence[str]
) -> None:
    """Reset the idle time of entries still being worked on, so nobody reclaims them."""
    if ids:
        await redis.xclaim(stream, group, consumer, 0, list(ids), justid=True)


async def ack(redis: aioredis.Redis, stream: str, group: str, *ids: str) -> None:
    """XACK then XDEL in one transaction: done entries leave the stream at once."""
    if not ids:
        return
    pipe = redis.pipeline(transaction=True)
    pipe.xack(stream, group, *ids)
    pipe.xdel(stream, *ids)
    await pipe.execute()
