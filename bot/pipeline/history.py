"""What was posted where, per tenant: the panel's "recent posts" and posts-per-day figures.

The sender appends one short entry per delivered post to the tenant's posts stream
(capped: the newest few thousand); nothing in the pipeline reads it back.
"""

from __future__ import annotations

import json
import time

import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Post

POSTS_MAXLEN = 5000
COUNTS_TTL_S = 26 * 3600


def post_record(post: Post, message_id: str, at: float) -> dict[str, str]:
    """The stream fields for one delivered post."""
    card = post.card
    if card is not None:
        kind, headline = "card", card.headline or card.link or ""
    elif post.digest:
        kind, headline = "digest", post.digest_title or "Digest"
    else:
        kind, headline = "note", (post.note or "")[:200]
    return {
        "dest": post.destination.key,
        "kind": kind,
        "headline": headline[:300],
        "link": (card.link or "") if card is not None else "",
        "site": (card.site or "") if card is not None else "",
        "matched": json.dumps(list(post.matched), ensure_ascii=False),
        "topics": json.dumps([s.expression for s in post.subscriptions], ensure_ascii=False),
        "score": f"{post.score:.1f}",
        "message": message_id[:200],
        "at": repr(at),
    }


async def record_post(redis: aioredis.Redis, post: Post, message_id: str) -> None:
    """Note a delivered post in its tenant's posts stream and hourly per-destination count."""
    now = time.time()
    tenant = post.destination.tenant
    counts = keys.tenant_post_counts_key(tenant, int(now // 3600))
    pipe = redis.pipeline(transaction=False)
    pipe.xadd(keys.tenant_posts_stream(tenant),
              post_record(post, message_id, now),  # type: ignore[arg-type]
              maxlen=POSTS_MAXLEN, approximate=True)
    pipe.hincrby(counts, post.destination.key, 1)
    pipe.expire(counts, COUNTS_TTL_S)
    await pipe.execute()
