"""A link summarised in chat also reaches the workspace's subscribers (not the channel that
already has its card)."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.chat.contract import Destination, Request
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, HttpAdapter, PageServer, article_html, story
from tests.pipeline_helpers import drained, pipeline_settings

G = "discord:g1"
OTHER = "discord:g2"




async def test_a_summarised_link_is_posted_to_matching_subscribers_once(
        redis: aioredis.Redis, pages: PageServer, platform: FakePlatform) -> None:
    pages.pages["/syria-1"] = article_html("News about Syria 1", story(1, "Syria"))
    store = SubscriptionStore(redis)
    here = Destination(G, "channel", "c1")
    there = Destination(G, "channel", "c2")
    elsewhere = Destination(OTHER, "channel", "c9")
    await store.add(G, "u1", here, "syria")
    await store.add(G, "u2", there, "syria")
    await store.add(OTHER, "u3", elsewhere, "syria")
    bot = Newsbot(pipeline_settings(), redis=redis, http=False, block_ms=100)
    bot.register_adapter(HttpAdapter("discord", platform.base_url))
    async with bot:
        reply = await bot.handle(Request(G, "u9", "c1", False,
                                         text=f"summarize {pages.url('/syria-1')}"))
        assert reply.ok and reply.card is not None
        await platform.wait_for(1, timeout=15)
        await drained(redis)
    # c1 already shows the card (the reply); c2 subscribes in the same workspace; the other
    # workspace never sees a link pasted here.
    assert [m.channel for m in platform.order] == [str(there)]
