"""The outbox: how a post travels to its platform's sender through Redis.

A ``Post`` becomes one JSON field on the delivery stream of its destination's platform
(``newsbot:deliveries:discord``); every producer (ingest, feeds, digests, delivery's own
notices) goes through ``enqueue`` and ``post_to_json`` here, and the sender reads it back
with ``post_from_json``.

A delivery stream is never trimmed: an entry leaves it when its post is done (acknowledged
and deleted). What bounds it is ``Outbox.put``, which a fan-out goes through: it queues at
most up to the cap, waits for the senders to make room (backpressure: the worker holds its
link meanwhile), and dead-letters, with the reason and a count in the metrics, what found
no room for ``wait_s``. A card goes to Redis once per article (``card_key``, without its
body) and each delivery names it, so a page's size is not multiplied by its destinations.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from bot import keys
from bot.card import CARD_LIMITS, Card, clip
from bot.chat.contract import (
    Destination,
    DigestItem,
    Persona,
    Post,
    SubscriptionRef,
    format_of,
)
from bot.metrics import Metrics
from bot.redis_cluster import ReplicaWait

log = logging.getLogger(__name__)

#: posts queued per round trip at most
_BATCH = 500


def platform_of(tenant: str) -> str:
    """The platform a tenant lives on: the part before the colon (``discord:123``)."""
    return tenant.partition(":")[0]


def stream_for(destination: Destination, shards: int = 1) -> str:
    """The delivery stream (shard) that carries posts to ``destination``.

    One destination always maps to the same shard (CRC-32 of its name), so its posts
    keep their order; destinations spread evenly over the shards.
    """
    shard = zlib.crc32(str(destination).encode()) % shards if shards > 1 else 0
    return keys.delivery_stream(platform_of(destination.tenant), shard, shards)


def delivery_fields(post: Post, article_id: str | None = None) -> dict[str, str]:
    """A post as delivery stream fields; with ``article_id`` its card is the stored one."""
    fields: dict[str, str] = {}
    if article_id is not None:
        fields["article"] = article_id
        if post.card is not None:
            fields["card"] = article_id  # read back from card_key(article_id) by the sender
            post = replace(post, card=None)
    fields["post"] = post_to_json(post)
    return fields


def enqueue(pipe: Pipeline, post: Post, *, article_id: str | None = None,
            shards: int = 1) -> None:
    """Queue ``post`` on its platform's delivery stream (in ``pipe``, not yet sent).

    Never trimmed. Producers of a few posts (notices) use this directly; a fan-out goes
    through ``Outbox.put``, which keeps the streams within their cap. With ``article_id``
    the card must have been stored with ``store_card``.
    """
    fields: dict[Any, Any] = delivery_fields(post, article_id)
    pipe.xadd(stream_for(post.destination, shards), fields)


def card_to_json(card: Card) -> str:
    """A card as stored for delivery: every shown field, and the lead instead of the body."""
    data = card.to_dict()
    data["body"] = clip(card.lead, CARD_LIMITS.lead)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def card_from_json(text: str) -> Card:
    """Inverse of ``card_to_json`` (the body is only the lead)."""
    return Card.from_dict(json.loads(text))


def store_card(pipe: Pipeline, article_id: str, card: Card, ttl_s: int) -> None:
    """Keep ``card`` for ``ttl_s`` under its article id, for deliveries to refer to."""
    pipe.set(keys.card_key(article_id), card_to_json(card), ex=ttl_s)


class Outbox:
    """Queues a fan-out's posts within each delivery stream's cap, never trimming one."""

    def __init__(
        self,
        redis: aioredis.Redis,
        metrics: Metrics,
        *,
        cap: int,
        wait_s: float,
        card_ttl_s: int,
        dead_letter_maxlen: int = 100_000,
        poll_s: float = 0.1,
        shards: int = 1,
        replicas: ReplicaWait | None = None,
    ) -> None:
        self.redis = redis
        self.replicas = replicas
        self.metrics = metrics
        self.cap = cap
        self.wait_s = wait_s
        self.card_ttl_s = card_ttl_s
        self.dead_letter_maxlen = dead_letter_maxlen
        self.poll_s = poll_s
        self.shards = shards
        # Streams found full for a whole wait: later fan-outs do not wait again while they
        # stay full (a platform nobody sends for would hold every worker otherwise).
        self._stalled: set[str] = set()

    async def put(self, posts: Sequence[Post], *, article_id: str | None = None,
                  card: Card | None = None) -> int:
        """Queue ``posts`` (``card`` stored once for all); the number queued, the rest
        dead-lettered."""
        if not posts:
            return 0
        if card is not None and article_id is not None:
            pipe = self.redis.pipeline(transaction=False)
            store_card(pipe, article_id, card, self.card_ttl_s)
            await pipe.execute()
        by_stream: dict[str, list[Post]] = {}
        for post in posts:
            by_stream.setdefault(stream_for(post.destination, self.shards), []).append(post)
        queued = 0
        for stream, waiting in by_stream.items():
            queued += await self._put_stream(stream, waiting, article_id)
            if self.replicas is not None:
                # The link's entry is acked next: its deliveries must outlive a fail-over.
                await self.replicas.barrier(stream)
        return queued

    async def _put_stream(self, stream: str, posts: list[Post], article_id: str | None) -> int:
        queued = 0
        waited_since: float | None = None
        while queued < len(posts):
            room = self.cap - int(await self.redis.xlen(stream))
            if room > 0:
                self._stalled.discard(stream)
                waited_since = None
                batch = posts[queued: queued + min(room, _BATCH)]
                pipe = self.redis.pipeline(transaction=False)
                for post in batch:
                    enqueue(pipe, post, article_id=article_id, shards=self.shards)
                await pipe.execute()
                queued += len(batch)
                continue
            now = time.monotonic()
            if waited_since is None:
                waited_since = now
                if stream not in self._stalled:
                    log.info("%s is full (%d entries): waiting for room for %d posts",
                             stream, self.cap, len(posts) - queued)
            if stream in self._stalled or now - waited_since >= self.wait_s:
                self._stalled.add(stream)
                await self._dead_letter(stream, posts[queued:], article_id)
                return queued
            await asyncio.sleep(self.poll_s)
        return queued

    async def _dead_letter(self, stream: str, posts: Sequence[Post],
                           article_id: str | None) -> None:
        platform = platform_of(posts[0].destination.tenant)
        reason = (f"the {platform} delivery backlog stayed full ({self.cap} entries, "
                  f"NEWSBOT_STREAM_MAXLEN) for {self.wait_s:g} s")
        at = repr(time.time())
        for start in range(0, len(posts), _BATCH):
            pipe = self.redis.pipeline(transaction=False)
            for post in posts[start: start + _BATCH]:
                fields: dict[Any, Any] = {
                    "stream": stream, "entry": "", "platform": platform, "reason": reason,
                    "attempts": 0, "key": post.key, "tenant": post.destination.tenant,
                    "at": at, **delivery_fields(post, article_id),
                }
                if post.card is not None:
                    fields["headline"] = post.card.headline
                pipe.xadd(keys.DEAD_LETTER_STREAM, fields,
                          maxlen=self.dead_letter_maxlen, approximate=True)
            await pipe.execute()
        self.metrics.posts_dead_lettered.labels(platform=platform, reason="backlog_full").inc(
            len(posts))
        log.warning("%d posts to %s dead-lettered: %s", len(posts), platform, reason)


def post_to_dict(post: Post) -> dict[str, Any]:
    """JSON-ready form of a Post."""
    return {
        "destination": post.destination.to_dict(),
        "key": post.key,
        "card": post.card.to_dict() if post.card is not None else None,
        "matched": list(post.matched),
        "subscriptions": [
            {"id": s.id, "expression": s.expression, "owner": s.owner}
            for s in post.subscriptions
        ],
        "digest": [
            {"headline": d.headline, "link": d.link, "site": d.site, "matched": list(d.matched)}
            for d in post.digest
        ],
        "digest_title": post.digest_title,
        "note": post.note,
        "also_reported_by": list(post.also_reported_by),
        "ready_at": post.ready_at,
        "score": post.score,
        # Only what differs from a plain post, so old entries and new ones read alike.
        **({"pings": list(post.pings)} if post.pings else {}),
        **({"format": post.format} if post.format != "full" else {}),
        **({"persona": {"name": post.persona.name, "avatar": post.persona.avatar}}
           if post.persona is not None else {}),
        **({"edit_of": post.edit_of, "revision": post.revision}
           if post.edit_of is not None or post.revision else {}),
    }


def post_from_dict(data: dict[str, Any]) -> Post:
    """Inverse of ``post_to_dict``."""
    card = data.get("card")
    return Post(
        destination=Destination.from_dict(data["destination"]),
        key=data["key"],
        card=Card.from_dict(card) if card else None,
        matched=tuple(data.get("matched") or ()),
        subscriptions=tuple(
            SubscriptionRef(s["id"], s["expression"], s["owner"])
            for s in data.get("subscriptions") or ()
        ),
        digest=tuple(
            DigestItem(d["headline"], d.get("link"), d.get("site"), tuple(d.get("matched") or ()))
            for d in data.get("digest") or ()
        ),
        digest_title=data.get("digest_title"),
        note=data.get("note"),
        also_reported_by=tuple(data.get("also_reported_by") or ()),
        ready_at=data.get("ready_at"),
        score=float(data.get("score") or 0.0),
        pings=tuple(str(p) for p in data.get("pings") or ()),
        format=format_of(data.get("format")),
        persona=_persona(data.get("persona")),
        edit_of=data.get("edit_of"),
        revision=int(data.get("revision") or 0),
    )


def _persona(data: Any) -> Persona | None:
    if not isinstance(data, dict) or not data.get("name"):
        return None
    avatar = data.get("avatar")
    return Persona(str(data["name"]), str(avatar) if avatar else None)


def post_to_json(post: Post) -> str:
    """A Post as one JSON string (a stream field)."""
    return json.dumps(post_to_dict(post), ensure_ascii=False, separators=(",", ":"))


def post_from_json(text: str) -> Post:
    """Inverse of ``post_to_json``."""
    return post_from_dict(json.loads(text))




def post_ref(post: Post, message_id: str) -> str:
    """What is kept of a card post made, to edit it later: its message id and what the
    card alone does not say (why it was sent, its subscriptions' buttons), compactly,
    since one is kept per destination for the dedupe window."""
    data: dict[str, Any] = {"id": message_id}
    if post.matched:
        data["m"] = list(post.matched)
    if post.subscriptions:
        data["s"] = [[s.id, s.expression, s.owner] for s in post.subscriptions]
    if post.score:
        data["sc"] = post.score
    if post.format != "full":
        data["f"] = post.format  # an edit keeps the post's look
    if post.persona is not None:
        # Posted through a channel's webhook under a feed's name: only the webhook can
        # edit it, so the edit must know.
        data["n"] = {"name": post.persona.name, "avatar": post.persona.avatar}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def edit_from_ref(raw: str, destination: Destination, article_id: str, card: Card,
                  revision: int) -> Post:
    """The edit of a post kept by ``post_ref``: the post as made, with ``card`` now."""
    data = json.loads(raw)
    return Post(
        destination=destination,
        key=f"{article_id}:{destination}:r{revision}",
        card=card,
        matched=tuple(str(m) for m in data.get("m") or ()),
        subscriptions=tuple(SubscriptionRef(str(i), str(e), str(o))
                            for i, e, o in data.get("s") or ()),
        score=float(data.get("sc") or 0.0),
        format=format_of(data.get("f")),
        persona=_persona(data.get("n")),
        edit_of=str(data["id"]),
        revision=revision,
    )
