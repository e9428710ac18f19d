"""Fan-out past the stream cap loses nothing, and a card is stored once per article.

Real Redis, local page server, fake platform over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.card import Card, KeyFigure
from bot.chat.contract import Destination, Post
from bot.pipeline import DigestQueue, post_from_json
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, HttpAdapter, PageServer, article_html, story
from tests.pipeline_helpers import drained, pipeline_settings, stream_entries

G = "discord:g1"


async def _subscribe_channels(redis: aioredis.Redis, tenant: str, n: int,
                              topic: str = "syria") -> None:
    store = SubscriptionStore(redis, max_per_user=n, max_per_channel=n)
    for i in range(n):
        await store.add(tenant, "admin", Destination(tenant, "channel", f"c{i}"), topic)


async def _watch_length(redis: aioredis.Redis, stream: str, seen: list[int]) -> None:
    while True:
        seen.append(int(await redis.xlen(stream)))
        await asyncio.sleep(0.01)


async def test_fan_out_past_the_cap_posts_every_one(
        redis: aioredis.Redis, pages: PageServer) -> None:
    await _subscribe_channels(redis, G, 600)
    platform = await FakePlatform().start()
    settings = pipeline_settings(stream_maxlen=200, discord_global_rate=1000,
                                 delivery_concurrency=64)
    lengths: list[int] = []
    try:
        async with Newsbot(settings, redis=redis, block_ms=100, http=False) as bot:
            watcher = asyncio.create_task(
                _watch_length(redis, keys.delivery_stream("discord"), lengths))
            pages.pages["/big"] = article_html("Syria fan-out", story(1, "Syria"))
            await bot.submit(pages.url("/big"))
            await bot.add_adapter(HttpAdapter("discord", platform.base_url))
            await platform.wait_for(600, timeout=60)
            await drained(redis, timeout=30)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        assert len(platform.messages) == 600
        assert int(await redis.xlen(keys.DEAD_LETTER_STREAM)) == 0
        assert max(lengths) <= 200  # the cap holds: the worker waited for room
    finally:
        await platform.stop()


async def test_what_cannot_be_queued_is_dead_lettered_and_counted(
        redis: aioredis.Redis, pages: PageServer) -> None:
    tenant = "slack:T1"
    await _subscribe_channels(redis, tenant, 20)
    # No Slack sender runs: the slack delivery stream only grows, to its cap of 5.
    settings = pipeline_settings(stream_maxlen=5, delivery_backlog_wait_s=0.3)
    async with Newsbot(settings, redis=redis, block_ms=100, http=False) as bot:
        pages.pages["/s"] = article_html("Syria news", story(2, "Syria"))
        await bot.submit(pages.url("/s"))
        await drained(redis, ())
        counted = bot.metrics.posts_dead_lettered.labels(platform="slack", reason="backlog_full")
        assert counted._value.get() == 15
        text = bot.metrics.render().decode()
    assert 'newsbot_posts_dead_lettered_total{platform="slack",reason="backlog_full"} 15.0' in text
    assert int(await redis.xlen(keys.delivery_stream("slack"))) == 5  # nothing trimmed
    letters = [f for _id, f in await stream_entries(redis, keys.DEAD_LETTER_STREAM)]
    assert len(letters) == 15
    for fields in letters:
        assert "backlog" in fields["reason"] and fields["platform"] == "slack"
        assert post_from_json(fields["post"]).destination.tenant == tenant
    queued = {post_from_json(f["post"]).destination.id
              for _id, f in await stream_entries(redis, keys.delivery_stream("slack"))}
    dead = {post_from_json(f["post"]).destination.id for f in letters}
    assert len(queued | dead) == 20 and not queued & dead


async def test_deliveries_reference_one_stored_card(
        redis: aioredis.Redis, pages: PageServer, platform: FakePlatform) -> None:
    await _subscribe_channels(redis, G, 50)
    paragraphs = story(3, "Syria", paragraphs=400)  # a long page: ~100 KB of body
    async with Newsbot(pipeline_settings(), redis=redis, block_ms=100, http=False) as bot:
        pages.pages["/long"] = article_html("Syria at length", paragraphs)
        await bot.submit(pages.url("/long"))
        await drained(redis, ())
        entries = await stream_entries(redis, keys.delivery_stream("discord"))
        assert len(entries) == 50
        for _id, fields in entries:
            assert len(json.dumps(fields)) < 2000
            assert paragraphs[200][:60] not in json.dumps(fields)
        cards = [k async for k in redis.scan_iter(match=keys.card_key("*"))]
        assert len(cards) == 1
        assert int(await redis.ttl(cards[0])) > 3600
        stored = await redis.get(cards[0])
        assert stored is not None and len(stored) < 10_000
        await bot.add_adapter(HttpAdapter("discord", platform.base_url))
        await platform.wait_for(50, timeout=30)
        await drained(redis)
    assert {m.headline for m in platform.messages.values()} == {"Syria at length"}


async def test_a_delivery_whose_card_expired_is_dead_lettered(
        redis: aioredis.Redis, pages: PageServer, platform: FakePlatform) -> None:
    await _subscribe_channels(redis, G, 3)
    async with Newsbot(pipeline_settings(), redis=redis, block_ms=100, http=False) as bot:
        pages.pages["/e"] = article_html("Syria expired", story(4, "Syria"))
        await bot.submit(pages.url("/e"))
        await drained(redis, ())
        async for key in redis.scan_iter(match=keys.card_key("*")):
            await redis.delete(key)
        await bot.add_adapter(HttpAdapter("discord", platform.base_url))
        await drained(redis)
        counted = bot.metrics.posts_dead_lettered.labels(platform="discord", reason="card_expired")
        assert counted._value.get() == 3
    assert platform.requests == 0
    letters = [f for _id, f in await stream_entries(redis, keys.DEAD_LETTER_STREAM)]
    assert len(letters) == 3 and all("card" in f["reason"] for f in letters)


# --- card caps ------------------------------------------------------------------------


def test_every_card_field_is_capped() -> None:
    from bot.card import CARD_LIMITS

    huge = "word " * 1_000_000
    card = Card(
        headline=huge, body=huge, url="https://example.org/" + "a" * 5000, site=huge,
        section=huge, authors=tuple(f"Author {i} " + huge[:1000] for i in range(40)),
        language="en" * 100, summary=huge, published="2026-" + "1" * 100,
        updated="2026-" + "1" * 100, canonical_url="https://example.org/b",
        image="https://example.org/" + "i" * 5000,
        key_figures=tuple(KeyFigure("1" * 500, huge[:5000], huge[:5000]) for _ in range(40)),
        topics=tuple(f"topic {i} " + "x" * 500 for i in range(40)),
    )
    limits = CARD_LIMITS
    assert len(card.headline) <= limits.headline and card.headline.endswith("…")
    assert len(card.summary) <= limits.summary
    assert card.site is not None and len(card.site) <= limits.name
    assert card.section is not None and len(card.section) <= limits.name
    assert len(card.authors) <= limits.authors
    assert all(len(a) <= limits.name for a in card.authors)
    assert len(card.topics) <= limits.topics and all(len(t) <= limits.name for t in card.topics)
    assert len(card.key_figures) <= limits.key_figures
    for figure in card.key_figures:
        assert len(figure.value) <= limits.figure_value
        assert len(figure.label) <= limits.name
        assert len(figure.sentence) <= limits.sentence
    assert card.url is None and card.image is None  # a cut URL would point elsewhere
    assert card.canonical_url == "https://example.org/b"
    assert card.link == "https://example.org/b"
    assert card.language is not None and len(card.language) <= limits.code
    assert card.published is not None and len(card.published) <= limits.code
    assert card.body == huge  # the matcher reads the body; it is never stored or shown


def test_short_fields_are_untouched() -> None:
    card = Card("Short headline", "Body.", site="Example", authors=("A B",), topics=("x",))
    assert Card.from_dict(card.to_dict()) == card
    assert card.headline == "Short headline"


def test_a_huge_og_title_gives_a_capped_headline() -> None:
    from bot.article import parse_article
    from bot.card import CARD_LIMITS

    title = "Breaking " + "news " * 40_000
    page = (f"<html><head><meta property='og:title' content='{title}'></head><body>"
            f"<article><h1>{title}</h1>" + "".join(f"<p>{p}</p>" for p in story(5, "Syria"))
            + "</article></body></html>")
    card = parse_article(page, "https://example.org/news/1")
    assert 0 < len(card.headline) <= CARD_LIMITS.headline


async def test_digest_lines_carry_capped_headlines(redis: aioredis.Redis) -> None:
    from bot.card import CARD_LIMITS
    from bot.subscriptions import SubscriptionMatch

    card = Card("Breaking " + "news " * 100_000, "Body.", url="https://example.org/a")
    sub = SubscriptionMatch("1", "slack:T1", "u1", "news", "daily", (), 1.0)
    queue = DigestQueue(redis, ttl_s=60)
    await queue.add(sub, "a1", card)
    [line] = await queue.items("slack:T1", "1")
    assert len(line["headline"]) <= CARD_LIMITS.headline


@pytest.mark.parametrize("field", ["headline", "summary"])
def test_stored_cards_keep_no_body(field: str) -> None:
    from bot.pipeline.outbox import card_from_json, card_to_json

    body = "\n\n".join(story(6, "Syria", paragraphs=50))
    card = Card("Headline", body, summary="Summary.")
    stored = card_from_json(card_to_json(card))
    assert len(card_to_json(card)) < 5000
    assert stored.lead == card.lead[:len(stored.lead)] and stored.lead
    assert getattr(stored, field) == getattr(card, field)
    assert Post(Destination(G, "channel", "c1"), "k", card=stored).card is stored


async def test_feeds_wait_while_the_link_backlog_is_full(redis: aioredis.Redis) -> None:
    """A feed poll never queues links past the cap (they were trimmed): it waits."""
    from bot.chat import Request
    from bot.feeds.poller import FeedPoller
    from tests.fakes import Feed, FeedServer

    server = await FeedServer().start()
    settings = pipeline_settings(stream_maxlen=1)
    try:
        feed = Feed("Feed", "rss")
        feed.entries.insert(0, server.entry("/rss/a1", 1, 1_715_000_000.0))
        server.feeds["/rss"] = feed
        # No workers: nothing reads the link backlog.
        async with Newsbot(settings, redis=redis, workers=0, http=False) as bot:
            reply = await bot.handle(Request(G, "u1", "c1", True,
                                             text=f"feed add {server.url('/rss')}"))
            assert reply.ok, reply.text
            await redis.xadd(keys.INGEST_STREAM, {"url": "https://example.org/waiting"})
            feed.entries.insert(0, server.entry("/rss/a2", 2, 1_715_000_600.0))
            now = [10 ** 10]
            poller = FeedPoller(bot.feed_store, bot.fetcher, bot.ingest, settings,
                                clock=lambda: now[0])
            hits = server.hits.get("/rss", 0)
            stats = await poller.poll_due()
            assert stats.polled == 0 and server.hits.get("/rss", 0) == hits
            assert int(await redis.xlen(keys.INGEST_STREAM)) == 1
            await redis.delete(keys.INGEST_STREAM)  # the backlog drained
            stats = await poller.poll_due()
            assert stats.polled == 1 and stats.new_items == 1
            [(_id, fields)] = await stream_entries(redis, keys.INGEST_STREAM)
            assert fields["url"].endswith("/rss/a2")
    finally:
        await server.stop()
