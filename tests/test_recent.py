"""Subscribe-time note: a topic that none of the last day's articles matches says so."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from bot import keys
from bot.card import Card
from bot.chat.commands import CommandContext, handle
from bot.chat.contract import Request
from bot.subscriptions import SubscriptionStore, recent_matches, record_recent

NOW = 1_800_000_000.0
SYRIA = Card(
    headline="Putin visits Syria's Assad in Damascus",
    body="The Russian president met his Syrian counterpart.\n\nMore text.\n\nAnd more.",
    language="en",
)


async def subscribe(redis: aioredis.Redis, topic: str) -> str:
    ctx = CommandContext(SubscriptionStore(redis), clock=lambda: NOW)
    reply = await handle(ctx, Request("slack:T9", "U1", None, False, text=f"subscribe {topic}"))
    assert reply.ok
    return reply.text


async def test_a_topic_no_recent_article_matches_says_so(redis: aioredis.Redis) -> None:
    await record_recent(redis, SYRIA, now=NOW - 3600)
    assert "None of the last day's 1 articles matched it" in await subscribe(redis, "climate")
    assert "None of the last day" not in await subscribe(redis, "assad")


async def test_only_the_last_day_counts_and_no_articles_say_nothing(
    redis: aioredis.Redis,
) -> None:
    assert "None of the last day" not in await subscribe(redis, "climate")  # none recorded
    await record_recent(redis, SYRIA, now=NOW - 2 * 86400)
    assert await recent_matches(redis, "syria", NOW) == (0, 0)
    assert "None of the last day" not in await subscribe(redis, "football")


async def test_the_recent_cards_are_kept_short_and_capped(redis: aioredis.Redis) -> None:
    long = Card(headline="Syria", body="\n\n".join(["word " * 400] * 5), language="en")
    for _ in range(3):
        await record_recent(redis, long, now=NOW)
    rows: Any = await redis.xrange(keys.RECENT_CARDS, count=1)
    (_, fields), *_ = rows
    assert len(fields["card"]) < 2500 and await redis.xlen(keys.RECENT_CARDS) == 3
    assert await recent_matches(redis, "syria", NOW) == (1, 1)  # stops at the first match
