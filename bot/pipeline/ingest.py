"""The way in and the first half of the pipeline: links → cards → deliveries.

``Ingest.submit`` appends a link to the ingest stream. A ``Worker`` consumes it: fetch,
parse, dedupe, match, then one entry per matched destination on that platform's delivery
stream (instant subscriptions), or onto the subscription's digest list (hourly/daily).
The ingest entry is acknowledged only after all of that is written.

A feed's link carries its channels and their options: a channel with an ``only`` filter
gets the card only if it matches (the subscriptions' matcher decides, with its "why"). A
backfill's link posts only to its channel while its count lasts. An article seen again
whose card changed materially (``Deduper.revise``) gets an edit queued for each post
made of it; a feed item's edit (``revise``) only edits, never posts.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from bot import keys
from bot.article import ParsePool
from bot.card import Card
from bot.chat.contract import Destination, Post, SubscriptionRef
from bot.errors import BacklogFullError, InvalidTenantError, InvalidURLError, NewsbotError
from bot.fetch import Fetcher
from bot.metrics import Metrics
from bot.pipeline import streams
from bot.redis_server import REDIS_ERRORS, is_redis_failure
from bot.subscriptions import DestinationMatch, Matcher, record_recent
from bot.urls import check_web_url

from .consumer import StreamConsumer
from .dedupe import Deduper
from .digests import DigestQueue
from .outbox import Outbox, edit_from_ref
from .streams import Entry
from .styles import PostStyles

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 4096
#: ``platform:id``: it becomes part of Redis keys (a hash tag) and names a delivery stream
TENANT_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}:[A-Za-z0-9_.-]{1,64}")


def _destination(raw: str) -> Destination | None:
    """The ``seen_in`` field back into a destination (None when absent or unreadable)."""
    if not raw:
        return None
    try:
        return Destination.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError, NewsbotError):
        return None


def destinations_from(raw: str) -> tuple[Destination, ...]:
    """The destinations of a ``channels`` ingest field (JSON list of member strings)."""
    try:
        data = json.loads(raw) if raw else []
    except ValueError:
        return ()
    if not isinstance(data, list):
        return ()  # an empty Lua table encodes as {}
    out: list[Destination] = []
    for item in data:
        try:
            out.append(Destination.from_dict(json.loads(item)))
        except (ValueError, KeyError, TypeError):
            log.warning("bad feed channel %r ignored", item)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class FeedLink:
    """What a feed's ingest entry says beyond its link: its channels' filters (by
    destination), the backfill count it posts against, whether it is an item's edit."""

    only: Mapping[Destination, str] = field(default_factory=dict)
    backfill: str = ""
    revise: bool = False


def feed_link_from(fields: Mapping[str, str]) -> FeedLink:
    """The ``options``, ``backfill`` and ``revise`` fields of an ingest entry."""
    only: dict[Destination, str] = {}
    try:
        options = json.loads(fields.get("options") or "{}")
    except ValueError:
        options = {}
    if isinstance(options, dict):
        for member, raw in options.items():
            try:
                destination = Destination.from_dict(json.loads(member))
                expression = json.loads(raw).get("only") if raw else None
            except (ValueError, KeyError, TypeError, AttributeError, NewsbotError):
                log.warning("bad feed options %r ignored", member)
                continue
            if isinstance(expression, str) and expression:
                only[destination] = expression
    return FeedLink(only, fields.get("backfill", ""), fields.get("revise") == "1")


class Ingest:
    """Puts links on the ingest stream; any process may submit."""

    def __init__(self, redis: aioredis.Redis, metrics: Metrics, *, maxlen: int) -> None:
        self.redis = redis
        self.metrics = metrics
        self.maxlen = maxlen

    async def full(self) -> bool:
        """Whether the backlog of unread links is at its cap (new ones are refused)."""
        return int(await self.redis.xlen(keys.INGEST_STREAM)) >= self.maxlen

    async def submit(self, url: str, tenant: str | None = None, origin: str = "api",
                     seen_in: Destination | None = None,
                     extra: Mapping[str, str] | None = None) -> str:
        """Queue ``url`` (for one tenant's subscriptions, or every tenant's); the job id.

        ``seen_in`` is where the link was already shown (a chat summary): no post there.
        ``extra`` are more entry fields (a feed's ``channels``, ``options``, ``backfill``).
        """
        url = (url or "").strip()
        if len(url) > MAX_URL_LENGTH:
            raise InvalidURLError(
                f"That link is too long (over {MAX_URL_LENGTH} characters).", url[:200])
        url = check_web_url(url)  # one http(s) link, a host a resolver takes, a real port
        if tenant is not None and not TENANT_PATTERN.fullmatch(tenant):
            raise InvalidTenantError(tenant[:100])
        fields = {"url": url, "tenant": tenant or "", "origin": origin, "t_in": repr(time.time())}
        if seen_in is not None:
            fields["seen_in"] = json.dumps(seen_in.to_dict())
        fields.update(extra or {})
        # Refuse at the cap: the stream is never trimmed (that would drop unread links).
        if await self.full():
            self.metrics.links_failed.labels(reason="BacklogFullError").inc()
            raise BacklogFullError(self.maxlen)
        job_id = await streams.add(self.redis, keys.INGEST_STREAM, fields)
        self.metrics.links_in.labels(origin=origin).inc()
        log.debug("link queued as %s from %s", job_id, origin)
        return job_id


class Worker(StreamConsumer):
    """Consumes the ingest stream: fetch, parse, dedupe, match, fan out to deliveries."""

    def __init__(
        self,
        redis: aioredis.Redis,
        metrics: Metrics,
        *,
        fetcher: Fetcher,
        deduper: Deduper,
        matcher: Matcher,
        digests: DigestQueue,
        outbox: Outbox,
        parser: ParsePool,
        consumer: str,
        dead_letter_maxlen: int,
        concurrency: int = 8,
        lease_s: float = 30.0,
        block_ms: int = 1000,
        forget_after_s: float = 3600.0,
    ) -> None:
        super().__init__(
            redis, metrics, stream=keys.INGEST_STREAM, group=keys.INGEST_GROUP,
            consumer=consumer, concurrency=concurrency, lease_s=lease_s, block_ms=block_ms,
            forget_after_s=forget_after_s,
        )
        self.fetcher = fetcher
        self.deduper = deduper
        self.matcher = matcher
        self.digests = digests
        self.outbox = outbox
        self.parser = parser
        self.dead_letter_maxlen = dead_letter_maxlen
        self.styles = PostStyles(redis)

    async def handle(self, entry: Entry) -> bool:
        """Turn one link into deliveries; a link that cannot be read is reported and dropped."""
        url = entry.fields.get("url", "")
        try:
            await self.process(
                url,
                entry.fields.get("tenant") or None,
                float(entry.fields.get("t_in") or time.time()),
                destinations_from(entry.fields.get("channels", "")),
                _destination(entry.fields.get("seen_in", "")),
                feed=entry.fields.get("feed") or None,
                link=feed_link_from(entry.fields),
            )
        except REDIS_ERRORS:
            raise  # leave pending: another try after the lease
        except NewsbotError as exc:
            # Unreadable links are not lost: they wait in the dead-letter stream with the
            # reason a person would be told ("That page took longer than 10 s to answer").
            self.metrics.links_failed.labels(reason=type(exc).__name__).inc()
            log.info("link %s not read: %s", entry.id, type(exc).__name__)
            await self._dead_letter(entry, url, exc.user_message)
        except Exception as exc:
            if is_redis_failure(exc):
                raise  # redis-py failing in a fail-over: leave pending, as above
            self.metrics.links_failed.labels(reason="error").inc()
            log.exception("link %s: unexpected error; dead-lettered", entry.id)
            await self._dead_letter(entry, url, f"error: {type(exc).__name__}: {exc}")
        return True

    async def _dead_letter(self, entry: Entry, url: str, reason: str) -> None:
        await streams.add(
            self.redis, keys.DEAD_LETTER_STREAM,
            {"stream": self.stream, "entry": entry.id, "url": url, "reason": reason[:500],
             "origin": entry.fields.get("origin", ""), "at": repr(time.time()),
             # whose link it was, for the panel (a feed's: its channels)
             "tenant": entry.fields.get("tenant", ""),
             "channels": entry.fields.get("channels", "")},
            self.dead_letter_maxlen,
        )

    async def process(
        self,
        url: str,
        tenant: str | None,
        t_in: float,
        channels: Sequence[Destination] = (),
        seen_in: Destination | None = None,
        *,
        feed: str | None = None,
        link: FeedLink | None = None,
    ) -> int:
        """Fetch, parse, dedupe, match and enqueue; returns the number of deliveries.

        ``channels`` (a feed's) get the card if it passes their filter; subscriptions
        then match only in those channels' tenants. ``seen_in`` already has the card.
        ``feed`` (the feed's id) brings each channel's options for that feed; ``link``
        its channels' ``only`` filters, a backfill's count, whether it is an item's edit.
        A changed article's posts are edited (counted too).
        """
        link = link or FeedLink()
        started = time.monotonic()
        page = await self.fetcher.fetch(url)
        fetch_s = time.monotonic() - started
        self.metrics.fetch_seconds.observe(fetch_s)
        # In a worker process, within the parse deadline and memory cap: a page that
        # exceeds them is a ParseError, dead-lettered with its reason like any other.
        card = await self.parser.parse(page.text, page.url)
        self.metrics.cards.inc()
        identity = await self.deduper.identify(card, [url, page.url])
        if identity.duplicate:
            self.metrics.duplicates.labels(kind=identity.kind).inc()
            await self.deduper.add_source(identity.article_id, card)
        else:
            await record_recent(self.redis, card)  # for subscribe's "nothing lately" note
        revision = await self.deduper.revise(identity, card)
        edits = 0
        if revision.changed:
            edits = await self._edit_posts(identity.article_id, card, revision.number)
            await self.deduper.settle(identity.article_id, revision.number)
        if link.revise:
            return edits  # a feed item's edit: the posts made of it, nothing new
        if link.backfill:
            # The feed's own channel catching up: no subscriptions, filter and count apply.
            return edits + await self._fan_out(
                identity.article_id, card, [], t_in + fetch_s, channels, feed, link)
        # Walk the result synchronously: the index only changes between awaits. Narrow it
        # by tenant before its per-destination objects are built (cost ~ what is posted).
        result = self.matcher.match(card, time.time())
        if tenant is not None:
            result = result.for_tenants({tenant})
        if channels:
            result = result.for_tenants({c.tenant for c in channels})
        found: Sequence[DestinationMatch] = list(result)
        if seen_in is not None:
            found = [m for m in found if m.destination != seen_in]
        return edits + await self._fan_out(
            identity.article_id, card, found, t_in + fetch_s, channels, feed, link)

    async def _edit_posts(self, article_id: str, card: Card, revision: int) -> int:
        """Queue an edit of each post made of the article (the card is the new one)."""
        refs = await self.redis.hgetall(keys.article_posts_key(article_id))
        edits: list[Post] = []
        for where, raw in refs.items():
            try:
                tenant, _, dest_key = str(where).partition("/")
                destination = Destination.parse(tenant, dest_key)
                edits.append(edit_from_ref(str(raw), destination, article_id, card, revision))
            except (ValueError, KeyError, TypeError, NewsbotError):
                log.warning("article %s: unreadable post record for %s", article_id, where)
        if not edits:
            return 0
        log.info("article %s changed (version %d): editing %d posts", article_id, revision,
                 len(edits))
        return await self.outbox.put(edits, article_id=article_id, card=card)

    async def _passes(self, channel: Destination, card: Card,
                      feed: FeedLink) -> tuple[bool, tuple[str, ...], float]:
        """Whether a feed's channel takes the card: its filter, and a backfill's count."""
        matched: tuple[str, ...] = ()
        score = 0.0
        expression = feed.only.get(channel)
        if expression:
            try:
                why = self.matcher.index.explain(card, expression)
            except NewsbotError:
                log.warning("feed filter %r of %s unreadable: nothing posted", expression,
                            channel)
                return False, (), 0.0
            if not why.matched:
                return False, (), 0.0
            matched = tuple(hit.term for hit in why.terms)
            score = why.score
        if feed.backfill:
            left = int(await self.redis.decr(keys.feed_backfill_key(feed.backfill)))
            if left < 0:
                return False, (), 0.0
        return True, matched, score

    async def _fan_out(
        self,
        article_id: str,
        card: Card,
        found: Sequence[DestinationMatch],
        ready_at: float,
        channels: Sequence[Destination] = (),
        feed: str | None = None,
        link: FeedLink | None = None,
    ) -> int:
        posts: list[Post] = []
        link = link or FeedLink()
        # A feed's channel gets the card even if no subscription there matched; where one
        # did, the post below carries it (same idempotency key: one post either way).
        direct = dict.fromkeys(channels)
        for match in found:
            if any(s.mode == "instant" for s in match.subscriptions):
                direct.pop(match.destination, None)
        for channel in direct:
            ok, matched, score = await self._passes(channel, card, link)
            if ok:
                posts.append(Post(destination=channel, key=f"{article_id}:{channel}",
                                  card=card, matched=matched, ready_at=ready_at, score=score))
        for match in found:
            instant = [s for s in match.subscriptions if s.mode == "instant"]
            for sub in match.subscriptions:
                if sub.mode != "instant":
                    self.metrics.matches.labels(mode=sub.mode).inc()
                    await self.digests.add(sub, article_id, card)
            if not instant:
                continue
            self.metrics.matches.labels(mode="instant").inc()
            terms: dict[str, None] = {}
            for sub in instant:
                for hit in sub.terms:
                    terms.setdefault(hit.term, None)
            posts.append(Post(
                destination=match.destination,
                key=f"{article_id}:{match.destination}",
                card=card,
                matched=tuple(terms),
                subscriptions=tuple(
                    SubscriptionRef(s.subscription_id, s.expression, s.owner) for s in instant
                ),
                ready_at=ready_at,
                score=max(s.score for s in instant),
            ))
        # Each channel's format, pings and (a feed's) persona, in one round trip.
        posts = await self.styles.apply(posts, feed)
        return await self.outbox.put(posts, article_id=article_id, card=card)
