"""The outbox: how a post travels to its platform's sender through Redis.

A ``Post`` becomes one JSON field on the delivery stream of its destination's platform
(``newsbot:deliveries:discord``); every producer (ingest, feeds, digests, delivery's own
notices) goes through ``enqueue`` and ``post_to_json`` here, and the sender reads it back
with ``post_from_json``.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio.client import Pipeline

from bot import keys
from bot.card import Card
from bot.chat.contract import Destination, DigestItem, Post, SubscriptionRef


def platform_of(tenant: str) -> str:
    """The platform a tenant lives on: the part before the colon (``discord:123``)."""
    return tenant.partition(":")[0]


def stream_for(destination: Destination) -> str:
    """The delivery stream that carries posts to ``destination``."""
    return keys.delivery_stream(platform_of(destination.tenant))


def enqueue(pipe: Pipeline, post: Post, *, maxlen: int, article_id: str | None = None) -> None:
    """Queue ``post`` on its platform's delivery stream (in ``pipe``, not yet sent)."""
    fields = {"post": post_to_json(post)}
    if article_id is not None:
        fields["article"] = article_id
    pipe.xadd(stream_for(post.destination), fields,  # type: ignore[arg-type]
              maxlen=maxlen, approximate=True)


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
    )


def post_to_json(post: Post) -> str:
    """A Post as one JSON string (a stream field)."""
    return json.dumps(post_to_dict(post), ensure_ascii=False, separators=(",", ":"))


def post_from_json(text: str) -> Post:
    """Inverse of ``post_to_json``."""
    return post_from_dict(json.loads(text))


