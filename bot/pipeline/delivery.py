"""The second half of the pipeline: a platform's delivery stream → that adapter's posts.

For each entry a ``Sender`` checks the subscriptions behind it at delivery time (muted,
paused or removed ones drop out), claims the (article, destination) idempotency key with
``SET NX`` and a lease, waits for the rate budgets, posts, and marks the key done with a
long TTL. 429s wait ``Retry-After`` and go through the budgets again; 5xx and timeouts
back off exponentially with full jitter; after the last attempt the post goes to the
dead-letter stream with its reason (the last real failure, not only "timeout").
A destination that is gone is disabled and its owners are told in their DMs.

Each card post made is recorded under its article (``article_posts_key``: destination ->
message id and the post, kept for the dedupe window) so that when the article changes
its posts can be edited. An edit (``Post.edit_of``) goes through the same budgets and
retries; its key (article, destination, version) is marked done once applied, so a
version is edited once per destination, and an edit applied twice is harmless anyway.

For platforms without an idempotency key (Slack, a ``PostFinder``) the first attempt is
recorded before posting; a retry after a crash or a lost answer asks the platform whether
the post is already there before making it again. A post made while Redis went away is
remembered in the process and recorded as done once Redis answers, not made twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import replace

import redis.asyncio as aioredis

from bot import keys
from bot.card import Card
from bot.chat.contract import (
    Adapter,
    Destination,
    DestinationGoneError,
    MessageGoneError,
    Post,
    PostError,
    PostFinder,
    RateLimitedError,
    Subscription,
    SubscriptionRef,
    TransientPostError,
    post_failures,
)
from bot.metrics import Metrics
from bot.pipeline import streams
from bot.redis_cluster import ReplicaWait
from bot.redis_server import REDIS_ERRORS, is_redis_failure
from bot.subscriptions import SubscriptionStore

from .consumer import StreamConsumer
from .dedupe import Deduper
from .history import record_post
from .outbox import card_from_json, enqueue, post_from_json, post_ref
from .ratelimit import Permit, RateLimiter
from .streams import Entry

log = logging.getLogger(__name__)

# KEYS: the posted key.  ARGV: lease token, lease ms.  'claimed', 'done' or 'held'.
_CLAIM_LUA = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'lease:' .. ARGV[1], 'PX', ARGV[2])
  return 'claimed'
end
if string.sub(v, 1, 5) == 'done:' then return 'done' end
if v == 'lease:' .. ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 'claimed'
end
return 'held'
"""

# KEYS: an article's post records.  ARGV: destination, record, ttl ms.  One script, so
# the record never outlives nor misses its TTL (and no MULTI, which a cluster fail-over
# handles badly in redis-py).
_RECORD_LUA = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: the posted key.  ARGV: lease token.  Deletes the lease only if it is ours.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == 'lease:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base·2^(attempt-1))]."""
    return random.uniform(0.0, min(max_s, base_s * (2 ** max(0, attempt - 1))))


class Sender(StreamConsumer):
    """Consumes one platform's delivery stream and posts through that platform's adapter."""

    def __init__(
        self,
        redis: aioredis.Redis,
        metrics: Metrics,
        *,
        adapter: Adapter,
        store: SubscriptionStore,
        limiter: RateLimiter,
        deduper: Deduper,
        consumer: str,
        dead_letter_maxlen: int,
        done_ttl_s: int,
        max_attempts: int = 8,
        max_rate_limited: int = 50,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 60.0,
        post_timeout_s: float = 20.0,
        concurrency: int = 64,
        lease_s: float = 30.0,
        block_ms: int = 1000,
        forget_after_s: float = 3600.0,
        stream: str | None = None,
        shards: int = 1,
        replicas: ReplicaWait | None = None,
    ) -> None:
        self.platform = adapter.platform
        self.replicas = replicas
        self.shards = shards
        super().__init__(
            redis, metrics, stream=stream or keys.delivery_stream(self.platform),
            group=keys.DELIVERY_GROUP, consumer=consumer, concurrency=concurrency,
            lease_s=lease_s, block_ms=block_ms, forget_after_s=forget_after_s,
        )
        self.adapter = adapter
        self.store = store
        self.limiter = limiter
        self.deduper = deduper
        self.dead_letter_maxlen = dead_letter_maxlen
        self.done_ttl_ms = done_ttl_s * 1000
        self.max_attempts = max_attempts
        self.max_rate_limited = max_rate_limited
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.post_timeout_s = post_timeout_s
        self._claim = redis.register_script(_CLAIM_LUA)
        self._release = redis.register_script(_RELEASE_LUA)
        self._record = redis.register_script(_RECORD_LUA)
        # Stored cards by article id: a fan-out's thousand deliveries read theirs once.
        self._cards: dict[str, Card] = {}
        # Per entry left pending by a Redis error: its lease token (so the retry holds the
        # same lease) and the message id of a post made but not yet recorded as done.
        self._tokens: dict[str, str] = {}
        self._posted: dict[str, str] = {}
        self.finder = adapter if isinstance(adapter, PostFinder) else None

    def _skip(self, reason: str) -> bool:
        self.metrics.posts_skipped.labels(platform=self.platform, reason=reason).inc()
        return True

    async def handle(self, entry: Entry) -> bool:
        """Deliver one post; True once it is posted, skipped, dead-lettered or redirected."""
        if len(self._tokens) > 10_000:  # entries taken over by others meanwhile
            self._tokens.clear()
            self._posted.clear()
        try:
            done = await self._handle(entry)
        except BaseException as exc:
            if not (isinstance(exc, Exception) and is_redis_failure(exc)):
                self._forget(entry.id)
            # else: left pending, its lease token and outcome kept for the retry
            raise
        self._forget(entry.id)
        return done

    def _forget(self, entry_id: str) -> None:
        self._tokens.pop(entry_id, None)
        self._posted.pop(entry_id, None)

    async def _handle(self, entry: Entry) -> bool:
        try:
            post = post_from_json(entry.fields["post"])
        except (KeyError, ValueError, TypeError) as exc:
            await self._dead_letter(entry, None, f"unreadable entry: {exc}", 0, "unreadable")
            return True
        stored = entry.fields.get("card")
        if stored:
            card = await self._card(stored, fresh=post.edit_of is not None)
            if card is None:
                await self._dead_letter(
                    entry, post, "the article's card expired before delivery "
                    "(NEWSBOT_CARD_TTL_S)", 0, "card_expired")
                return True
            post = replace(post, card=card)
        try:
            return await self._deliver(entry, post)
        except REDIS_ERRORS:
            raise  # leave pending: taken up again once Redis answers
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_redis_failure(exc):
                raise  # redis-py failing in a fail-over: leave pending, as above
            log.exception("%s: delivery %s failed unexpectedly", self.consumer, entry.id)
            await self._dead_letter(
                entry, post, f"error: {type(exc).__name__}: {exc}", 0, "error")
            return True

    async def _card(self, article_id: str, *, fresh: bool = False) -> Card | None:
        """The card stored for an article (cached; ``fresh``: read again, as an edit
        needs the article's newest card), or None once it expired."""
        card = None if fresh else self._cards.get(article_id)
        if card is None:
            raw = await self.redis.get(keys.card_key(article_id))
            if raw is None:
                return None
            card = card_from_json(str(raw))
            if len(self._cards) >= 256 and article_id not in self._cards:
                self._cards.pop(next(iter(self._cards)))
            self._cards[article_id] = card
        return card

    async def _live_refs(self, post: Post) -> tuple[SubscriptionRef, ...] | str:
        """The subscriptions still wanting this post now, or why none does."""
        tenant = post.destination.tenant
        subs: list[Subscription | None] = [
            await self.store.get(tenant, ref.id) for ref in post.subscriptions
        ]
        now = time.time()
        live = tuple(
            ref for ref, sub in zip(post.subscriptions, subs, strict=True)
            if sub is not None and not sub.disabled and not sub.is_muted(now)
        )
        if live:
            return live
        if any(s is not None and s.is_muted(now) for s in subs):
            return "muted"
        if any(s is not None and s.disabled for s in subs):
            return "disabled"
        return "unsubscribed"

    async def _deliver(self, entry: Entry, post: Post) -> bool:
        if post.edit_of is not None:
            return await self._edit(entry, post, post.edit_of)
        if post.subscriptions:
            live = await self._live_refs(post)
            if isinstance(live, str):
                return self._skip(live)
            post = replace(post, subscriptions=live)
        key = keys.posted_key(post.key)
        posted = self._posted.get(entry.id)
        if posted is not None:
            # Posted before Redis went away: only the record was missing.
            return await self._done(entry, post, key, posted, time.monotonic())
        state = await self.redis.get(key)
        if state is not None and str(state).startswith("done:"):
            return self._skip("duplicate")
        token = self._tokens.setdefault(entry.id, uuid.uuid4().hex)
        lease_ms = int(self.lease_s * 1000)
        attempts = 0
        limited = 0
        last_cause = ""
        # When an earlier attempt may have reached the platform (None: none may have).
        maybe_sent_since: float | None = None
        checked_attempts = False
        while True:
            claim = str(await self._claim(keys=[key], args=[token, lease_ms]))
            if claim == "done":
                return self._skip("duplicate")
            if claim == "held":
                return await self._wait_for_other(key)
            if self.finder is not None:
                if not checked_attempts:
                    checked_attempts = True
                    maybe_sent_since = await self._first_attempt(post.key)
                if maybe_sent_since is not None:
                    found = await self._find(post, maybe_sent_since)
                    if found is not None:
                        log.info("%s: %s was already posted (%s): not posting it again",
                                 self.consumer, post.key, found)
                        return await self._done(entry, post, key, found, time.monotonic())
            post = await self._with_sources(entry, post)
            permit, waited = await self.limiter.acquire(self.platform, post.destination)
            if waited > 0:
                self.metrics.rate_limit_waits.labels(platform=self.platform).inc()
            started = time.monotonic()
            tried_at = time.time()
            if self.finder is not None and maybe_sent_since is None:
                await self.redis.set(keys.post_attempt_key(post.key), repr(tried_at),
                                     px=self.done_ttl_ms, nx=True)
            with post_failures() as noted:
                try:
                    async with asyncio.timeout(self.post_timeout_s):
                        try:
                            message_id = await self.adapter.post(post)
                        finally:
                            await self._settle(permit)
                except RateLimitedError as exc:
                    await self._release(keys=[key], args=[token])
                    limited += 1
                    self.metrics.posts_retried.labels(
                        platform=self.platform, reason="rate_limited").inc()
                    if limited > self.max_rate_limited:
                        await self._dead_letter(entry, post, f"rate limited {limited} times",
                                                attempts, "rate_limited")
                        return True
                    log.info("%s: rate limited, retrying in %.2f s (through the budget)",
                             self.consumer, exc.retry_after)
                    await asyncio.sleep(max(0.0, exc.retry_after))
                    continue
                except DestinationGoneError as exc:
                    await self._gone(post, exc)
                    await self.redis.set(key, "done:gone", px=self.done_ttl_ms)
                    return True
                except (TransientPostError, TimeoutError) as exc:
                    await self._release(keys=[key], args=[token])
                    attempts += 1
                    if maybe_sent_since is None:
                        maybe_sent_since = tried_at  # the request may have got through
                    if isinstance(exc, TimeoutError):
                        reason = "timeout"
                        # The library may have retried a real failure until the deadline.
                        last_cause = noted[-1] if noted else last_cause
                        detail = f"no answer within {self.post_timeout_s:g} s"
                        if last_cause:
                            detail += f"; last error: {last_cause}"
                    else:
                        reason = "transient"
                        last_cause = detail = str(exc)
                    self.metrics.posts_failed.labels(platform=self.platform, reason=reason).inc()
                    if attempts >= self.max_attempts:
                        await self._dead_letter(
                            entry, post, f"{reason} after {attempts} attempts: {detail}",
                            attempts, "failed")
                        return True
                    self.metrics.posts_retried.labels(platform=self.platform, reason=reason).inc()
                    await asyncio.sleep(
                        backoff_s(attempts, self.backoff_base_s, self.backoff_max_s))
                    continue
                except PostError as exc:
                    await self._release(keys=[key], args=[token])
                    self.metrics.posts_failed.labels(platform=self.platform,
                                                     reason="rejected").inc()
                    await self._dead_letter(
                        entry, post, f"rejected: {exc}", attempts + 1, "rejected")
                    return True
            self._posted[entry.id] = message_id
            return await self._done(entry, post, key, message_id, started)

    async def _with_sources(self, entry: Entry, post: Post) -> Post:
        """The post with the article's other sources ("also reported by")."""
        if post.card is not None and not post.also_reported_by:
            article = entry.fields.get("article")
            if article:
                others = await self.deduper.sources(article)
                shown = tuple(s for s in others if s != post.card.site)
                if shown:
                    return replace(post, also_reported_by=shown)
        return post

    async def _edit(self, entry: Entry, post: Post, message_id: str) -> bool:
        """Edit a post in place, within the budgets; once per (article, destination,
        version): its key is claimed like a post's and marked done when applied."""
        key = keys.posted_key(post.key)
        state = await self.redis.get(key)
        if state is not None and str(state).startswith("done:"):
            return self._skip("duplicate")
        token = self._tokens.setdefault(entry.id, uuid.uuid4().hex)
        lease_ms = int(self.lease_s * 1000)
        attempts = 0
        limited = 0
        post = await self._with_sources(entry, post)
        while True:
            claim = str(await self._claim(keys=[key], args=[token, lease_ms]))
            if claim == "done":
                return self._skip("duplicate")
            if claim == "held":
                return await self._wait_for_other(key)
            permit, waited = await self.limiter.acquire(self.platform, post.destination)
            if waited > 0:
                self.metrics.rate_limit_waits.labels(platform=self.platform).inc()
            try:
                async with asyncio.timeout(self.post_timeout_s):
                    try:
                        await self.adapter.edit(post, message_id)
                    finally:
                        await self._settle(permit)
            except RateLimitedError as exc:
                await self._release(keys=[key], args=[token])
                limited += 1
                if limited > self.max_rate_limited:
                    await self._dead_letter(entry, post, f"rate limited {limited} times",
                                            attempts, "rate_limited")
                    return True
                await asyncio.sleep(max(0.0, exc.retry_after))
                continue
            except (MessageGoneError, DestinationGoneError) as exc:
                # Nothing left to edit there; the destination itself is judged by posts.
                log.info("%s: edit of %s skipped: %s", self.consumer, post.key, exc)
                await self.redis.set(key, "done:gone", px=self.done_ttl_ms)
                return self._skip("message_gone")
            except (TransientPostError, TimeoutError) as exc:
                await self._release(keys=[key], args=[token])
                attempts += 1
                reason = "timeout" if isinstance(exc, TimeoutError) else "transient"
                self.metrics.posts_failed.labels(platform=self.platform, reason=reason).inc()
                if attempts >= self.max_attempts:
                    await self._dead_letter(
                        entry, post, f"edit: {reason} after {attempts} attempts: {exc}",
                        attempts, "failed")
                    return True
                await asyncio.sleep(backoff_s(attempts, self.backoff_base_s,
                                              self.backoff_max_s))
                continue
            except PostError as exc:
                await self._release(keys=[key], args=[token])
                self.metrics.posts_failed.labels(platform=self.platform,
                                                 reason="rejected").inc()
                await self._dead_letter(entry, post, f"edit rejected: {exc}", attempts + 1,
                                        "rejected")
                return True
            await self.redis.set(key, f"done:{message_id}", px=self.done_ttl_ms)
            self.metrics.posts_edited.labels(platform=self.platform).inc()
            log.info("edited %s in %s (version %d)", post.key.partition(":")[0],
                     post.destination, post.revision)
            return True

    async def _remember(self, entry: Entry, post: Post, message_id: str) -> None:
        """Record a card post's message under its article, for editing it later."""
        article = entry.fields.get("article")
        if post.card is None or not article or not message_id:
            return
        value = post_ref(post, message_id)
        await self._record(keys=[keys.article_posts_key(article)],
                           args=[str(post.destination), value, self.done_ttl_ms])

    async def _settle(self, permit: Permit) -> None:
        """Best effort: the spacing record must not turn a made post into a failure."""
        try:
            await self.limiter.settle(permit)
        except REDIS_ERRORS as exc:
            log.warning("%s: could not settle a rate permit: %s", self.consumer, exc)

    async def _first_attempt(self, idempotency_key: str) -> float | None:
        """When a post was first tried (by any process), if it was."""
        raw = await self.redis.get(keys.post_attempt_key(idempotency_key))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return 0.0

    async def _find(self, post: Post, since: float) -> str | None:
        """Ask the platform whether an earlier attempt made the post (None: it did not,
        or it cannot tell, and the post is made again: at least once)."""
        assert self.finder is not None
        for _try in range(3):
            try:
                async with asyncio.timeout(self.post_timeout_s):
                    return await self.finder.find_post(post, since)
            except RateLimitedError as exc:
                await asyncio.sleep(max(0.0, exc.retry_after))
            except (PostError, TimeoutError) as exc:
                log.warning("%s: cannot tell whether %s was already posted (%s); posting",
                            self.consumer, post.key, exc or "timeout")
                return None
        log.warning("%s: cannot tell whether %s was already posted (rate limited); posting",
                    self.consumer, post.key)
        return None

    async def _done(self, entry: Entry, post: Post, key: str, message_id: str,
                    started: float) -> bool:
        """Record the post as made (kept for the dedupe TTL) and count it."""
        # Two slots on a cluster, so two commands, in this order: with the done-marker
        # set, a left-over attempt key is harmless (a retry skips the post as done).
        await self._remember(entry, post, message_id)
        if self.replicas is not None:
            # Acked next: a fail-over must not lose the marker (the post would be made
            # again where the platform has no nonce).
            await self.replicas.set(key, f"done:{message_id}", px=self.done_ttl_ms)
        else:
            await self.redis.set(key, f"done:{message_id}", px=self.done_ttl_ms)
        if self.finder is not None:
            await self.redis.delete(keys.post_attempt_key(post.key))
        await record_post(self.redis, post, message_id)
        self._posted.pop(entry.id, None)
        elapsed = time.monotonic() - started
        article = entry.fields.get("article") or post.key.partition(":")[0]
        log.info("posted %s to %s in %s", article, post.destination.key,
                 post.destination.tenant,
                 extra={"tenant": post.destination.tenant,
                        "destination": post.destination.key, "article": article})
        self.metrics.posts_sent.labels(platform=self.platform).inc()
        self.metrics.post_seconds.labels(platform=self.platform).observe(elapsed)
        if post.ready_at is not None:
            self.metrics.delivery_latency_seconds.labels(platform=self.platform).observe(
                max(0.0, time.time() - post.ready_at))
        return True

    async def _wait_for_other(self, key: str) -> bool:
        """Another consumer holds the lease: wait for it to finish (ack) or lapse (retry)."""
        deadline = time.monotonic() + self.lease_s
        while time.monotonic() < deadline:
            await asyncio.sleep(min(0.25, self.lease_s / 4))
            state = await self.redis.get(key)
            if state is None:
                return False  # lapsed: the holder died; retry after the lease
            if str(state).startswith("done:"):
                return self._skip("duplicate")
        return False

    async def _dead_letter(
        self, entry: Entry, post: Post | None, reason: str, attempts: int, kind: str
    ) -> None:
        fields: dict[str, str | int] = {
            "stream": self.stream,
            "entry": entry.id,
            "platform": self.platform,
            "reason": reason[:500],
            "attempts": attempts,
            "post": entry.fields.get("post", ""),
            "key": post.key if post is not None else "",
            "tenant": post.destination.tenant if post is not None else "",
            "at": repr(time.time()),
        }
        for name in ("article", "card"):
            if entry.fields.get(name):
                fields[name] = entry.fields[name]
        if post is not None and post.card is not None:
            fields["headline"] = post.card.headline  # the entry names the card; say what it was
        await streams.add(self.redis, keys.DEAD_LETTER_STREAM, fields, self.dead_letter_maxlen)
        self.metrics.posts_dead_lettered.labels(platform=self.platform, reason=kind).inc()
        log.warning("%s: delivery %s dead-lettered: %s", self.consumer, entry.id, reason[:200])

    async def _gone(self, post: Post, exc: DestinationGoneError) -> None:
        """Disable the destination and tell each owner of a subscription there, in DMs."""
        destination = exc.destination
        subs = await self.store.list_for_destination(destination)
        count = await self.store.disable_destination(destination)
        self.metrics.destinations_disabled.labels(platform=self.platform).inc()
        log.warning("destination %s disabled (%d subscriptions): %s",
                    destination, count, exc.reason)
        by_owner: dict[str, list[str]] = {}
        for sub in subs:
            by_owner.setdefault(sub.owner, []).append(sub.expression)
        where = "your DMs" if destination.kind == "dm" else f"channel {destination.id}"
        for owner, expressions in by_owner.items():
            dm = Destination(destination.tenant, "dm", owner)
            if dm == destination:
                continue  # their DMs are what is gone
            topics = ", ".join(f"“{e}”" for e in expressions)
            note = (
                f"I can no longer post to {where} ({exc.reason}), so I paused your "
                f"subscriptions there: {topics}. Subscribe again somewhere I can post."
            )
            notice = Post(destination=dm, key=f"gone:{destination}:{owner}", note=note)
            pipe = self.redis.pipeline(transaction=False)
            enqueue(pipe, notice, shards=self.shards)
            await pipe.execute()
