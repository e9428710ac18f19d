"""Backup and restore of everything newsbot keeps in Redis, as portable JSON lines.

A backup holds every ``newsbot:*`` key by its type (strings, hashes, sets, sorted sets,
lists, streams with their consumer groups) and its time to live. It is logical, not a
copy of the server's files, so it moves between server kinds and versions: from the
embedded Valkey to a compose Redis and back. It can be taken while the bot runs; an
entry a worker was processing at that moment is delivered again after a restore (the
groups restart just before their oldest pending entry, and posts are idempotent).

The first line is a header: ``{"newsbot_backup": 1, "schema": N, "keys": K}``; each
further line is one key: ``{"key", "type", "ttl_ms", "value"}`` (streams add
``"groups"``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import redis.asyncio as aioredis

from bot import keys
from bot.errors import NewsbotError

from .schema import SCHEMA_VERSION, stored_version

FORMAT = 1
_MAX_SEQ = 2**64 - 1


class BackupError(NewsbotError):
    """A backup file that cannot be read, or a restore that would overwrite data."""


def _before(stream_id: str) -> str:
    """The stream id just before ``stream_id`` (a group set there re-reads that entry)."""
    ms, _, seq = stream_id.partition("-")
    m, s = int(ms), int(seq or 0)
    if s > 0:
        return f"{m}-{s - 1}"
    return f"{m - 1}-{_MAX_SEQ}" if m > 0 else "0-0"


def _older(a: str, b: str) -> str:
    def key(x: str) -> tuple[int, int]:
        ms, _, seq = x.partition("-")
        return int(ms), int(seq or 0)

    return a if key(a) <= key(b) else b


async def _dump_key(redis: aioredis.Redis, key: str) -> dict[str, Any] | None:
    kind = await redis.type(key)
    value: Any
    extra: dict[str, Any] = {}
    if kind == "string":
        value = await redis.get(key)
    elif kind == "hash":
        value = await redis.hgetall(key)
    elif kind == "set":
        value = sorted(await redis.smembers(key))
    elif kind == "zset":
        scored: list[Any] = await redis.zrange(key, 0, -1, withscores=True)
        value = [[member, score] for member, score in scored]
    elif kind == "list":
        value = await redis.lrange(key, 0, -1)
    elif kind == "stream":
        entries: list[Any] = await redis.xrange(key) or []
        value = [[entry_id, fields] for entry_id, fields in entries]
        groups = []
        for group in await redis.xinfo_groups(key):
            start = str(group["last-delivered-id"])
            if int(group.get("pending") or 0):
                pending = await redis.xpending(key, group["name"])
                start = _older(start, _before(str(pending["min"])))
            groups.append({"name": group["name"], "start": start})
        extra["groups"] = groups
    else:  # gone since SCAN saw it
        return None
    ttl = int(await redis.pttl(key))
    return {"key": key, "type": kind, "ttl_ms": ttl if ttl > 0 else None, "value": value,
            **extra}


async def backup(redis: aioredis.Redis, out: TextIO) -> int:
    """Write every newsbot key to ``out``; the number of keys written."""
    names = sorted({k async for k in redis.scan_iter(match=f"{keys.PREFIX}:*", count=1000)})
    rows = []
    for name in names:
        row = await _dump_key(redis, name)
        if row is not None:
            rows.append(row)
    header = {"newsbot_backup": FORMAT, "schema": await stored_version(redis),
              "created": time.time(), "keys": len(rows)}
    out.write(json.dumps(header) + "\n")
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    out.flush()
    return len(rows)


def _rows(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    it = iter(lines)
    try:
        header = json.loads(next(it))
    except (StopIteration, ValueError):
        raise BackupError("That is not a newsbot backup (no header line).") from None
    if not isinstance(header, dict) or header.get("newsbot_backup") != FORMAT:
        raise BackupError("That is not a newsbot backup this version can read.")
    if int(header.get("schema") or 0) > SCHEMA_VERSION:
        raise BackupError(
            f"That backup was written by a newer newsbot (schema {header['schema']}; this "
            f"one reads up to {SCHEMA_VERSION}).")
    count = 0
    for number, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            _ = row["key"], row["type"], row["value"]
        except (ValueError, KeyError, TypeError):
            raise BackupError(f"Line {number} of the backup is damaged.") from None
        if not str(row["key"]).startswith(f"{keys.PREFIX}:"):
            raise BackupError(f"Line {number} of the backup holds a key that is not newsbot's.")
        count += 1
        yield row
    if count != int(header.get("keys") or 0):
        raise BackupError(
            f"The backup is cut short: {count} of {header.get('keys')} keys are in it.")


async def restore(redis: aioredis.Redis, lines: Iterable[str], *, replace: bool = False) -> int:
    """Load a backup into ``redis``; the number of keys restored.

    The backup is read whole and checked before anything is written. Without
    ``replace`` a store that already holds newsbot data is left alone (BackupError)."""
    rows = list(_rows(lines))
    existing = [k async for k in redis.scan_iter(match=f"{keys.PREFIX}:*", count=1000)]
    if existing and not replace:
        raise BackupError(
            f"The store already holds newsbot data ({len(existing)} keys): restore into an "
            "empty one, or pass --replace to delete that data first.")
    if existing:
        await redis.delete(*existing)
    for row in rows:
        await _load_key(redis, row)
    return len(rows)


async def _load_key(redis: aioredis.Redis, row: dict[str, Any]) -> None:
    key, kind, value = str(row["key"]), row["type"], row["value"]
    if kind == "string":
        await redis.set(key, value)
    elif kind == "hash":
        if value:
            await redis.hset(key, mapping=value)
    elif kind == "set":
        if value:
            await redis.sadd(key, *value)
    elif kind == "zset":
        if value:
            await redis.zadd(key, {m: float(s) for m, s in value})
    elif kind == "list":
        if value:
            await redis.rpush(key, *value)
    elif kind == "stream":
        for entry_id, fields in value:
            await redis.xadd(key, fields, id=entry_id)
        for group in row.get("groups") or []:
            await redis.xgroup_create(key, group["name"], id=group["start"], mkstream=True)
    else:
        raise BackupError(f"The backup holds a {kind!r} key this version cannot restore.")
    ttl = row.get("ttl_ms")
    if ttl:
        await redis.pexpire(key, int(ttl))
