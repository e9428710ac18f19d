"""Hourly and daily digests: matches collected per subscription, one post per period.

The pipeline worker appends a digest line (headline, link, site, matched terms) to the
subscription's list (one MULTI in the tenant's slot), then notes the subscription in the
mode's pending set (a global key; written after, so a flush that sees an empty list and
drops the member cannot miss the line: it looks again after dropping it). A worker dying
between the two is retried whole: its ingest entry is acknowledged only afterwards.

At each period boundary (the top of the hour; daily at ``digest_hour`` in the tenant's
time zone) ``DigestScheduler.flush`` groups the pending lists by destination and builds
one ``Post`` listing every headline that arrived before the boundary. The hand-off then
runs in steps that each touch one hash slot, so it works on Redis Cluster:

1. *take* (tenant's slot, one script): claim the (destination, period) taken-marker, trim
   exactly the lines the post lists and stage the post in the tenant's digest outbox;
2. *queue* (delivery stream's slot, one script): unless the queued-marker beside the
   stream exists, set it and XADD the post;
3. drop the post from the outbox; drop emptied lists from the pending set.

Two processes cannot both take a period's lines (the taken-marker) nor both queue its
post (the queued-marker). A crash after step 1 leaves the post staged and the
subscriptions pending: the next flush visits the tenant, finds the outbox and queues it
(step 2 again is harmless). An empty period posts nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis.asyncio as aioredis

from bot import keys
from bot.background import cancel_and_wait
from bot.card import Card
from bot.chat.contract import Destination, DigestItem, Post, Subscription, SubscriptionRef
from bot.errors import ConfigError
from bot.redis_server import REDIS_ERRORS
from bot.subscriptions import SubscriptionMatch, SubscriptionStore, TenantSettings

from .outbox import post_to_json, stream_for

log = logging.getLogger(__name__)

DIGEST_MODES = ("hourly", "daily")
MAX_DIGEST_ITEMS = 50
_SEP = "\x1f"

# Step 1, in the tenant's slot. KEYS: taken-marker, outbox hash, then the n lists.
# ARGV: staged JSON ('' = only drop the lines), outbox field, marker ttl ms, n, then the
#       lines taken per list.  1 if taken now, 0 if this period's lines were taken before.
_TAKE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
if ARGV[1] ~= '' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[1]) end
for i = 1, tonumber(ARGV[4]) do
  local count = tonumber(ARGV[4 + i])
  if count > 0 then redis.call('LTRIM', KEYS[2 + i], count, -1) end
end
return 1
"""

# Step 2, in the delivery stream's slot. KEYS: queued-marker, stream.
# ARGV: post JSON, marker ttl ms.  1 if queued now, 0 if queued before.
# The delivery stream is never trimmed (a digest is one entry per destination and period).
_QUEUE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('XADD', KEYS[2], '*', 'post', ARGV[1])
return 1
"""


def load_timezone(name: str) -> ZoneInfo:
    """A zoneinfo time zone, or a ConfigError naming the bad setting."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"bad setting NEWSBOT_DIGEST_TIMEZONE: unknown zone {name!r}") from exc


def hourly_boundary(now: float) -> float:
    """The latest top of the hour at or before ``now``."""
    return float(int(now // 3600) * 3600)


def daily_boundary(now: float, hour: int, tz: ZoneInfo) -> float:
    """The latest ``hour``:00 in ``tz`` at or before ``now``."""
    local = datetime.fromtimestamp(now, tz)
    day = local.date()
    for _ in range(3):
        candidate = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
        if candidate.timestamp() <= now:
            return candidate.timestamp()
        day -= timedelta(days=1)
    raise AssertionError("unreachable: a day boundary lies within three days")


def next_daily_boundary(now: float, hour: int, tz: ZoneInfo) -> float:
    """The first ``hour``:00 in ``tz`` after ``now``."""
    day = datetime.fromtimestamp(now, tz).date()
    for _ in range(3):
        candidate = datetime(day.year, day.month, day.day, hour, tzinfo=tz).timestamp()
        if candidate > now:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("unreachable: a day boundary lies within three days")


@dataclass(frozen=True, slots=True)
class Period:
    """A digest period: it ends at ``end`` (Unix s); ``label`` names it in keys."""

    mode: str
    end: float
    label: str


class DigestQueue:
    """Cards waiting for hourly/daily digests, one list per subscription."""

    def __init__(self, redis: aioredis.Redis, *, ttl_s: int, max_items: int = 500) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.max_items = max_items

    async def add(self, sub: SubscriptionMatch, article_id: str, card: Card) -> None:
        """Append the card's digest line to the subscription's list (capped, with a TTL)."""
        item = {
            "article": article_id,
            "headline": card.headline,
            "link": card.link,
            "site": card.site,
            "matched": [hit.term for hit in sub.terms],
            "at": time.time(),
        }
        key = keys.digest_key(sub.tenant, sub.subscription_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(key, json.dumps(item, ensure_ascii=False))
        pipe.ltrim(key, -self.max_items, -1)
        pipe.expire(key, self.ttl_s)
        await pipe.execute()
        # After the line (another slot): see ``release`` for why this order.
        await self.redis.sadd(keys.digest_pending_key(sub.mode),
                              f"{sub.tenant}{_SEP}{sub.subscription_id}")

    async def release(self, mode: str, tenant: str, sub_id: str) -> None:
        """Drop a subscription from the pending set if its list is empty.

        ``add`` pushes the line before it adds the member, so looking at the list again
        after SREM catches a line that arrived meanwhile (and puts the member back).
        """
        key = keys.digest_key(tenant, sub_id)
        if int(await self.redis.llen(key)):
            return
        member = f"{tenant}{_SEP}{sub_id}"
        await self.redis.srem(keys.digest_pending_key(mode), member)
        if int(await self.redis.llen(key)):
            await self.redis.sadd(keys.digest_pending_key(mode), member)

    async def items(self, tenant: str, sub_id: str) -> list[dict[str, Any]]:
        """What is waiting for a subscription's digest, oldest first."""
        raw = await self.redis.lrange(keys.digest_key(tenant, sub_id), 0, -1)
        return [json.loads(r) for r in raw]

    async def pending(self, mode: str) -> list[tuple[str, str]]:
        """The (tenant, subscription id) pairs with lines waiting in a mode."""
        members = await self.redis.smembers(keys.digest_pending_key(mode))
        out: list[tuple[str, str]] = []
        for member in sorted(str(m) for m in members):
            tenant, _, sub_id = member.partition(_SEP)
            out.append((tenant, sub_id))
        return out


@dataclass(slots=True)
class _Batch:
    """One destination's lines for one period."""

    destination: Destination
    period: Period
    tenant: str
    members: list[tuple[str, str, int]]  # (list key, subscription id, lines taken)
    lines: list[tuple[Subscription, dict[str, Any]]]


class DigestScheduler:
    """Sends each destination's digest at the end of each period."""

    def __init__(
        self,
        queue: DigestQueue,
        store: SubscriptionStore,
        *,
        digest_hour: int = 8,
        timezone: str = "UTC",
        timezone_for: Callable[[str], ZoneInfo] | None = None,
        tenants: TenantSettings | None = None,
        clock: Callable[[], float] = time.time,
        marker_ttl_s: int = 8 * 24 * 3600,
        shards: int = 1,
    ) -> None:
        self.queue = queue
        self.redis = queue.redis
        self.store = store
        self.digest_hour = digest_hour
        self.tz = load_timezone(timezone)
        self.timezone_for = timezone_for or (lambda _tenant: self.tz)
        self.tenants = tenants
        self.clock = clock
        self.marker_ttl_ms = marker_ttl_s * 1000
        self.shards = shards
        self._take = self.redis.register_script(_TAKE_LUA)
        self._queue = self.redis.register_script(_QUEUE_LUA)
        self._task: asyncio.Task[None] | None = None

    async def zone_of(self, tenant: str) -> ZoneInfo:
        """The tenant's time zone: its own (``timezone`` command), else the default."""
        if self.tenants is not None:
            name = await self.tenants.timezone(tenant)
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("tenant %s has an unknown time zone %r", tenant, name)
        return self.timezone_for(tenant)

    def period(self, mode: str, tenant: str, now: float, tz: ZoneInfo | None = None) -> Period:
        """The latest period of ``mode`` that ended at or before ``now`` for a tenant."""
        if mode == "hourly":
            end = hourly_boundary(now)
            start = datetime.fromtimestamp(end - 3600, ZoneInfo("UTC"))
            return Period(mode, end, start.strftime("%Y-%m-%dT%H"))
        tz = tz or self.timezone_for(tenant)
        end = daily_boundary(now, self.digest_hour, tz)
        label = (datetime.fromtimestamp(end, tz) - timedelta(days=1)).strftime("%Y-%m-%d")
        return Period(mode, end, label)

    async def flush(self, mode: str, now: float | None = None) -> int:
        """Send every destination's digest of the period just ended; the number sent."""
        when = self.clock() if now is None else now
        batches: dict[tuple[Destination, str], _Batch] = {}
        zones: dict[str, ZoneInfo] = {}
        sent = 0
        pending = await self.queue.pending(mode)
        for tenant in dict.fromkeys(t for t, _s in pending):
            sent += await self._drain_outbox(tenant)  # posts a crashed flush had staged
        for tenant, sub_id in pending:
            key = keys.digest_key(tenant, sub_id)
            sub = await self.store.get(tenant, sub_id)
            if sub is None:
                # Unsubscribed: its waiting lines go with it.
                await self.redis.delete(key)
                await self.queue.release(mode, tenant, sub_id)
                continue
            if tenant not in zones:
                zones[tenant] = await self.zone_of(tenant)
            period = self.period(mode, tenant, when, zones[tenant])
            lines = await self.queue.items(tenant, sub_id)
            taken = 0
            for line in lines:
                if float(line.get("at") or 0.0) >= period.end:
                    break  # lines are in arrival order: the rest is the next period's
                taken += 1
            if not taken:
                if not lines:  # emptied by a flush that died before releasing it
                    await self.queue.release(mode, tenant, sub_id)
                continue
            batch = batches.setdefault(
                (sub.destination, period.label),
                _Batch(sub.destination, period, tenant, [], []))
            batch.members.append((key, sub_id, taken))
            live = not sub.disabled and not sub.is_muted(when)
            if live:
                batch.lines.extend((sub, line) for line in lines[:taken])
        for batch in batches.values():
            if await self._send(batch):
                sent += 1
        if sent:
            log.info("%d %s digests queued", sent, mode)
        return sent

    async def _send(self, batch: _Batch) -> bool:
        post = self.build_post(batch.destination, batch.period, batch.lines)
        destination, period = batch.destination, batch.period
        stream = stream_for(destination, self.shards)
        queued = keys.digest_queued_key(stream, str(destination), period.mode, period.label)
        staged = ""
        if post is not None:
            staged = json.dumps({"stream": stream, "marker": queued,
                                 "post": post_to_json(post)}, separators=(",", ":"))
        taken = await self._take(
            keys=[keys.digest_taken_key(batch.tenant, str(destination), period.mode,
                                        period.label),
                  keys.digest_outbox_key(batch.tenant),
                  *(key for key, _sub, _n in batch.members)],
            args=[staged, queued, self.marker_ttl_ms, len(batch.members),
                  *(n for _key, _sub, n in batch.members)],
        )
        done = False
        if taken and post is not None:
            done = await self._queue_staged(batch.tenant, queued, staged)
        for _key, sub_id, _n in batch.members:
            await self.queue.release(period.mode, batch.tenant, sub_id)
        return done

    async def _queue_staged(self, tenant: str, field: str, staged: str) -> bool:
        """Step 2 and 3 of the hand-off for one staged post; True if queued now."""
        data = json.loads(staged)
        done = await self._queue(keys=[data["marker"], data["stream"]],
                                 args=[data["post"], self.marker_ttl_ms])
        await self.redis.hdel(keys.digest_outbox_key(tenant), field)
        return bool(done)

    async def _drain_outbox(self, tenant: str) -> int:
        """Queue the posts a flush staged for ``tenant`` but did not queue (it crashed)."""
        staged: dict[str, str] = await self.redis.hgetall(  # type: ignore[assignment]
            keys.digest_outbox_key(tenant))
        sent = 0
        for field, value in staged.items():
            if await self._queue_staged(tenant, field, value):
                log.info("digest staged by an interrupted flush queued for %s", tenant)
                sent += 1
        return sent

    @staticmethod
    def build_post(
        destination: Destination, period: Period, lines: list[tuple[Subscription, dict[str, Any]]]
    ) -> Post | None:
        """One post listing a period's headlines (an article once, with all its topics)."""
        by_article: dict[str, tuple[dict[str, Any], dict[str, None]]] = {}
        refs: dict[str, SubscriptionRef] = {}
        for sub, line in sorted(lines, key=lambda sl: float(sl[1].get("at") or 0.0)):
            ident = str(line.get("article") or line.get("link") or line.get("headline"))
            _first, terms = by_article.setdefault(ident, (line, {}))
            for term in line.get("matched") or ():
                terms.setdefault(str(term), None)
            refs.setdefault(sub.id, SubscriptionRef(sub.id, sub.expression, sub.owner))
        if not by_article:
            return None
        items = tuple(
            DigestItem(str(line.get("headline") or line.get("link") or "Untitled"),
                       line.get("link"), line.get("site"), tuple(terms))
            for line, terms in list(by_article.values())[:MAX_DIGEST_ITEMS]
        )
        n = len(by_article)
        title = f"Your {period.mode} digest: {n} {'story' if n == 1 else 'stories'}"
        return Post(
            destination=destination,
            key=f"digest:{period.mode}:{period.label}:{destination}",
            digest=items,
            digest_title=title,
            matched=tuple(dict.fromkeys(t for item in items for t in item.matched)),
            subscriptions=tuple(refs.values()),
        )

    # --- background loop --------------------------------------------------------------

    def next_wake(self, now: float) -> float:
        """The next quarter hour: tenants' zones put daily boundaries on :00, :30 or :45."""
        return min(hourly_boundary(now) + 3600, (now // 900 + 1) * 900,
                   next_daily_boundary(now, self.digest_hour, self.tz))

    async def flush_all(self, now: float | None = None) -> int:
        """Flush both modes."""
        when = self.clock() if now is None else now
        return sum([await self.flush(mode, when) for mode in DIGEST_MODES])

    async def run(self, max_sleep_s: float = 60.0) -> None:
        """Catch up on periods that ended while no process ran, then flush at each boundary."""
        wake = self.clock()
        while True:
            left = wake - self.clock()
            if left > 0:
                # Short sleeps: a suspended host or a stepped clock is noticed soon.
                await asyncio.sleep(min(max_sleep_s, left + 0.05))
                continue
            try:
                await self.flush_all()
            except REDIS_ERRORS as exc:
                log.warning("digests: Redis error, retrying in 5 s: %s", exc)
                wake = self.clock() + 5.0
                continue
            wake = self.next_wake(self.clock())

    async def start(self) -> None:
        """Run in the background until ``stop``."""
        self._task = asyncio.create_task(self.run(), name="digests")

    async def stop(self) -> None:
        """Stop the background task."""
        await cancel_and_wait(self._task)
        self._task = None
