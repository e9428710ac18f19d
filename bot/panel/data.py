"""What the panel reads from Redis besides the stores: posts, dead letters, queue depths.

Small functions over the pipeline's streams, each filtered to one tenant, so that a change
in how the pipeline writes them (a card stored once per article, say) touches only here.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot import keys

#: how many of the newest dead letters (all tenants) the panel looks through
DEAD_LETTER_WINDOW = 2000
RETRIED_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class PostRow:
    """One delivered post."""

    id: str
    at: float
    destination: str
    kind: str
    headline: str
    link: str
    site: str
    matched: tuple[str, ...]
    topics: tuple[str, ...]
    score: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead letter of the tenant: a post that could not be delivered, or a link."""

    id: str
    at: float
    kind: str  # "delivery" or "link"
    reason: str
    what: str  # the headline or the link
    destination: str
    attempts: str
    retried: bool


def _loads(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


async def recent_posts(redis: aioredis.Redis, tenant: str, count: int = 100) -> list[PostRow]:
    """The tenant's newest posts, newest first."""
    rows: Any = await redis.xrevrange(keys.tenant_posts_stream(tenant), count=count)
    out: list[PostRow] = []
    for entry_id, f in rows:
        f = cast(dict[str, str], f)
        out.append(PostRow(
            id=str(entry_id), at=float(f.get("at") or 0.0), destination=f.get("dest", ""),
            kind=f.get("kind", ""), headline=f.get("headline", ""), link=f.get("link", ""),
            site=f.get("site", ""), matched=_strings(_loads(f.get("matched", ""))),
            topics=_strings(_loads(f.get("topics", ""))), score=f.get("score", ""),
        ))
    return out


async def posts_per_destination(
    redis: aioredis.Redis, tenant: str, hours: int = 24, now: float | None = None
) -> dict[str, int]:
    """How many posts each destination got in the last ``hours`` hours (this one included)."""
    hour = int((now if now is not None else time.time()) // 3600)
    pipe = redis.pipeline(transaction=False)
    for h in range(hour - hours + 1, hour + 1):
        pipe.hgetall(keys.tenant_post_counts_key(tenant, h))
    total: Counter[str] = Counter()
    for counts in await pipe.execute():
        total.update({str(k): int(v) for k, v in counts.items()})
    return dict(total)


def _tenant_of(fields: dict[str, str]) -> set[str]:
    """The tenants a dead letter belongs to (a feed link's: its channels' tenants)."""
    if fields.get("tenant") and not fields.get("channels"):
        return {fields["tenant"]}  # written with its tenant: nothing to parse
    found = {fields["tenant"]} if fields.get("tenant") else set()
    post = _loads(fields.get("post", ""))
    if isinstance(post, dict) and isinstance(post.get("destination"), dict):
        found.add(str(post["destination"].get("tenant", "")))
    channels = _loads(fields.get("channels", ""))
    if isinstance(channels, list):
        for member in channels:
            dest = _loads(member) if isinstance(member, str) else None
            if isinstance(dest, dict) and dest.get("tenant"):
                found.add(str(dest["tenant"]))
    found.discard("")
    return found


def _dead_letter(entry_id: str, f: dict[str, str], retried: bool) -> DeadLetter:
    post = _loads(f.get("post", ""))
    if isinstance(post, dict):
        dest = post.get("destination") or {}
        card = post.get("card") or {}
        # A card stored once per article is not in the entry: its headline is, beside it.
        what = str(card.get("headline") or f.get("headline") or card.get("link")
                   or post.get("note") or post.get("digest_title") or post.get("key") or "")
        where = f"{dest.get('kind', '')}:{dest.get('id', '')}" if dest else ""
        return DeadLetter(entry_id, float(f.get("at") or 0.0), "delivery",
                          f.get("reason", ""), what, where, f.get("attempts", ""), retried)
    return DeadLetter(entry_id, float(f.get("at") or 0.0), "link", f.get("reason", ""),
                      f.get("url", ""), "", f.get("attempts", ""), retried)


async def _tenant_dead_letters(
    redis: aioredis.Redis, tenant: str, window: int
) -> list[tuple[str, dict[str, str]]]:
    rows: Any = await redis.xrevrange(keys.DEAD_LETTER_STREAM, count=window)
    return [(str(i), f) for i, f in rows if tenant in _tenant_of(f)]


async def dead_letters(
    redis: aioredis.Redis, tenant: str, window: int = DEAD_LETTER_WINDOW
) -> list[DeadLetter]:
    """The tenant's dead letters among the newest ``window``, newest first."""
    rows = await _tenant_dead_letters(redis, tenant, window)
    pipe = redis.pipeline(transaction=False)
    for entry_id, _ in rows:
        pipe.exists(keys.dead_letter_retried_key(entry_id))
    retried = await pipe.execute() if rows else []
    return [_dead_letter(i, f, bool(r)) for (i, f), r in zip(rows, retried, strict=True)]


async def retry_dead_letter(redis: aioredis.Redis, tenant: str, entry_id: str) -> str:
    """Requeue one of the tenant's dead letters, once: ``requeued``, ``already`` or ``missing``.

    A post goes back on its delivery stream with its idempotency key (a post that did go
    out meanwhile is skipped as a duplicate); a link goes back on the ingest stream.
    """
    try:
        rows: Any = await redis.xrange(keys.DEAD_LETTER_STREAM, min=entry_id, max=entry_id)
    except ResponseError:
        return "missing"  # not a stream id at all
    if not rows or tenant not in _tenant_of(rows[0][1]):
        return "missing"  # another tenant's is as good as absent
    fields: dict[str, str] = rows[0][1]
    stream = fields.get("stream", "")
    if fields.get("post"):
        if not keys.is_delivery_stream(stream):
            return "missing"
        requeue = {"post": fields["post"]}
        for name in ("article", "card"):  # "card": the article's stored card it names
            if fields.get(name):
                requeue[name] = fields[name]
    elif fields.get("url"):
        stream = keys.INGEST_STREAM
        requeue = {"url": fields["url"], "tenant": fields.get("tenant", ""),
                   "origin": "retry", "t_in": repr(time.time())}
        if fields.get("channels"):
            requeue["channels"] = fields["channels"]
    else:
        return "missing"
    claimed = await redis.set(keys.dead_letter_retried_key(entry_id), repr(time.time()),
                              nx=True, ex=RETRIED_TTL_S)
    if not claimed:
        return "already"
    await redis.xadd(stream, requeue)  # type: ignore[arg-type]
    return "requeued"


async def queue_depths(redis: aioredis.Redis, platform: str,
                       shards: int = 1) -> dict[str, int]:
    """Links waiting, the platform's posts waiting and in flight, dead letters (all tenants)."""
    deliveries = keys.delivery_streams(platform, shards)
    pipe = redis.pipeline(transaction=False)
    pipe.xlen(keys.INGEST_STREAM)
    pipe.xlen(keys.DEAD_LETTER_STREAM)
    for delivery in deliveries:
        pipe.xlen(delivery)
    ingest_n, dead_n, *delivery_ns = await pipe.execute()
    delivery_n = sum(int(n) for n in delivery_ns)
    pending = 0
    for stream, group in ((keys.INGEST_STREAM, keys.INGEST_GROUP),
                          *((d, keys.DELIVERY_GROUP) for d in deliveries)):
        try:
            summary = await redis.xpending(stream, group)
            pending += int(summary.get("pending") or 0)
        except ResponseError:
            continue  # no group yet: nothing read, nothing pending
    return {"ingest": int(ingest_n), "delivery": int(delivery_n), "pending": pending,
            "dead_letters_all": int(dead_n)}
