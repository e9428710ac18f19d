"""The pipeline end to end: real Redis, local page server, fake platform over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination, Request
from bot.pipeline import DigestQueue
from bot.pipeline.outbox import post_from_json, post_to_json
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, HttpAdapter, PageServer, article_html, story
from tests.pipeline_helpers import (
    TOKEN,
    delivery_entries,
    drained,
    pipeline_settings,
    stream_entries,
)

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

G = "discord:g1"
C1 = Destination(G, "channel", "c1")
C2 = Destination(G, "channel", "c2")


@dataclass
class Rig:
    bot: Newsbot
    pages: PageServer
    platform: FakePlatform
    store: SubscriptionStore
    redis: aioredis.Redis

    def add_story(self, path: str, seed: int, topic: str = "Syria", **kw: Any) -> str:
        self.pages.pages[path] = article_html(f"News about {topic} {seed}", story(seed, topic),
                                              **kw)
        return self.pages.url(path)




async def _subscribe(store: SubscriptionStore) -> None:
    await store.add(G, "u1", C1, "syria")
    await store.add(G, "u2", C2, "syria")
    await store.add(G, "u3", C2, "climate")


@pytest.fixture
async def rig(redis: aioredis.Redis, pages: PageServer,
              platform: FakePlatform) -> AsyncIterator[Rig]:
    store = SubscriptionStore(redis)
    await _subscribe(store)
    bot = Newsbot(pipeline_settings(), redis=redis, block_ms=200)
    bot.register_adapter(HttpAdapter("discord", platform.base_url))
    async with bot:
        yield Rig(bot, pages, platform, store, redis)


async def test_post_codec_round_trip() -> None:
    from bot.card import Card
    from bot.chat.contract import DigestItem, Post, SubscriptionRef

    post = Post(C1, "a:b", Card("H", "body", url="http://x"), ("syria",),
                (SubscriptionRef("1", "syria", "u1"),), (DigestItem("h", None, "s", ("t",)),),
                "title", "note", ("Beta",), 12.5)
    assert post_from_json(post_to_json(post)) == post


async def test_http_ingest_to_post(rig: Rig) -> None:
    url = rig.add_story("/world/syria-1", 1)
    assert rig.bot.http is not None
    endpoint = rig.bot.http.url + "/v1/links"
    good = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(endpoint, json={"url": url}) as resp:
            assert resp.status == 401
        async with http.post(endpoint, json={"url": url},
                             headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401
        async with http.post(endpoint, data=b"{not json", headers=good) as resp:
            assert resp.status == 400
        async with http.post(endpoint, json={"url": "ftp://x/y"}, headers=good) as resp:
            assert resp.status == 400
        async with http.post(endpoint, json={"url": url, "tenant": G}, headers=good) as resp:
            assert resp.status == 202
            job = (await resp.json())["job"]
            assert job
        await rig.platform.wait_for(2, timeout=15)
        await drained(rig.redis)
        async with http.get(rig.bot.http.url + "/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["redis"] is True
        async with http.get(rig.bot.http.url + "/metrics") as resp:
            text = await resp.text()
    channels = sorted(m.channel for m in rig.platform.order)
    assert channels == [str(C1), str(C2)]
    assert rig.platform.order[0].headline == "News about Syria 1"
    assert 'newsbot_posts_sent_total{platform="discord"} 2.0' in text
    assert 'newsbot_links_in_total{origin="http"} 1.0' in text
    assert "newsbot_queue_depth" in text and "newsbot_fetch_seconds_bucket" in text
    # the new article is kept in short for subscribe's "nothing lately" note
    rows: Any = await rig.redis.xrange(keys.RECENT_CARDS)
    (_, recent), = rows
    assert "News about Syria 1" in recent["card"]


async def test_ingest_endpoint_off_without_token(redis: aioredis.Redis) -> None:
    async with Newsbot(pipeline_settings(ingest_token=None), redis=redis, block_ms=200) as bot:
        assert bot.http is not None
        async with aiohttp.ClientSession() as http, http.post(
            bot.http.url + "/v1/links", json={"url": "http://a/b"},
            headers={"Authorization": "Bearer x"},
        ) as resp:
            assert resp.status == 404


async def test_healthz_503_when_adapter_down(redis: aioredis.Redis) -> None:
    adapter = HttpAdapter("discord", "http://127.0.0.1:9")
    async with Newsbot(pipeline_settings(), redis=redis, block_ms=200) as bot:
        await bot.add_adapter(adapter)
        await adapter.close()
        assert bot.http is not None
        async with aiohttp.ClientSession() as http, http.get(bot.http.url + "/healthz") as resp:
            assert resp.status == 503


async def test_same_article_under_two_urls_posts_once(rig: Rig) -> None:
    paragraphs = story(2, "Syria")
    canonical = rig.pages.url("/world/story-2")
    html = article_html("Syria story", paragraphs, canonical=canonical)
    rig.pages.pages["/world/story-2"] = html
    rig.pages.pages["/world/story-2/amp"] = html
    await rig.bot.submit(canonical + "?utm_source=twitter&utm_medium=social")
    await drained(rig.redis)
    await rig.bot.submit(rig.pages.url("/world/story-2/amp"))
    await rig.bot.submit(canonical + "?fbclid=abc")
    await drained(rig.redis)
    assert sorted(m.channel for m in rig.platform.order) == [str(C1), str(C2)]
    assert rig.platform.requests == 2


async def test_near_duplicate_posts_once(rig: Rig) -> None:
    paragraphs = story(3, "Syria")
    rig.pages.pages["/alpha/a"] = article_html("Syria talks", paragraphs, site="Alpha News")
    rig.pages.pages["/beta/b"] = article_html(
        "Syria talks resume", [*paragraphs, "Additional reporting by Beta."],
        site="Beta Times", chrome=5)
    await rig.bot.submit(rig.pages.url("/alpha/a"))
    await rig.bot.submit(rig.pages.url("/beta/b"))
    await drained(rig.redis)
    assert sorted(m.channel for m in rig.platform.order) == [str(C1), str(C2)]
    # A different story on the same subject is posted.
    await rig.bot.submit(rig.add_story("/alpha/other", 4))
    await drained(rig.redis)
    assert len(rig.platform.order) == 4


async def test_tenant_filter(rig: Rig) -> None:
    other = Destination("slack:T1", "channel", "C9")
    await rig.store.add("slack:T1", "u9", other, "syria")
    await rig.bot.matcher.sync()
    url = rig.add_story("/t/1", 5)
    await rig.bot.submit(url, tenant="slack:T1")
    await drained(rig.redis)
    assert rig.platform.order == []
    assert len(await delivery_entries(rig.redis, "slack")) == 1


async def test_mute_respected_at_delivery_time(
    redis: aioredis.Redis, pages: PageServer, platform: FakePlatform
) -> None:
    store = SubscriptionStore(redis)
    await _subscribe(store)
    async with Newsbot(pipeline_settings(), redis=redis, block_ms=200) as bot:
        pages.pages["/m/1"] = article_html("Syria", story(6, "Syria"))
        await bot.submit(pages.url("/m/1"))
        await drained(redis, ())
        assert len(await delivery_entries(redis, "discord")) == 2
        await store.mute(G, "u1", "syria", until=2e9)  # muted after matching, before posting
        await bot.add_adapter(HttpAdapter("discord", platform.base_url))
        await drained(redis)
        assert [m.channel for m in platform.order] == [str(C2)]
        skipped = bot.metrics.posts_skipped.labels(platform="discord", reason="muted")
        assert skipped._value.get() == 1


async def test_digest_subscriptions_queue_instead_of_posting(rig: Rig) -> None:
    sub = await rig.store.add(G, "u4", Destination(G, "dm", "u4"), "ukraine", "daily")
    await rig.bot.matcher.sync()
    await rig.bot.submit(rig.add_story("/d/1", 7, topic="Ukraine"))
    await drained(rig.redis)
    assert rig.platform.order == []
    items = await DigestQueue(rig.redis, ttl_s=60).items(G, sub.id)
    assert [i["headline"] for i in items] == ["News about Ukraine 7"]


async def test_gone_destination_disabled_and_owner_told(rig: Rig) -> None:
    gone = Destination(G, "channel", "c9")
    sub = await rig.store.add(G, "u5", gone, "brexit")
    await rig.bot.matcher.sync()
    rig.platform.gone.add(str(gone))
    await rig.bot.submit(rig.add_story("/g/1", 8, topic="Brexit"))
    await rig.platform.wait_for(1, timeout=10)
    await drained(rig.redis)
    stored = await rig.store.get(G, sub.id)
    assert stored is not None and stored.disabled
    [note] = rig.platform.order
    assert note.channel == str(Destination(G, "dm", "u5"))
    assert note.note is not None and "brexit" in note.note and "c9" in note.note
    # Later matches for the paused subscription are not retried against the gone channel.
    requests = rig.platform.requests
    await rig.bot.submit(rig.add_story("/g/2", 9, topic="Brexit"))
    await drained(rig.redis)
    assert rig.platform.requests == requests


async def test_summarize_command(rig: Rig) -> None:
    url = rig.add_story("/s/1", 10)
    reply = await rig.bot.handle(Request(G, "u1", "c1", True, text=url))
    assert reply.ok and reply.card is not None
    assert reply.card.headline == "News about Syria 10"
    reply = await rig.bot.handle(Request(G, "u1", "c1", True, text=f"summarize {url}"))
    assert reply.card is not None
    bad = await rig.bot.handle(Request(G, "u1", "c1", True, text="summarize http://10.0.0.1/x"))
    assert not bad.ok and bad.card is None


def _max_in_window(times: list[float], period: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


async def _retry_rig(redis: aioredis.Redis, pages: PageServer, platform: FakePlatform,
                     **settings: Any) -> Newsbot:
    store = SubscriptionStore(redis)
    await _subscribe(store)
    await store.add(G, "u6", Destination(G, "channel", "c3"), "syria")
    bot = Newsbot(pipeline_settings(**settings), redis=redis, block_ms=200)
    bot.register_adapter(HttpAdapter("discord", platform.base_url))
    for i in range(10):
        pages.pages[f"/r/{i}"] = article_html(f"Syria {i}", story(100 + i, "Syria"))
    return bot


async def test_429_and_500_retried_until_delivered_once_and_dead_letters(
    redis: aioredis.Redis, pages: PageServer
) -> None:
    # The platform is stricter than our configured budget, so it answers 429s.
    platform = await FakePlatform(channel_budget=(3, 0.5), global_budget=(8, 0.5),
                                  fail_rate=0.2, always_fail={str(Destination(G, "channel", "c3"))},
                                  seed=7).start()
    try:
        bot = await _retry_rig(redis, pages, platform, discord_channel_rate=6,
                               discord_channel_period_s=0.5, discord_global_rate=0,
                               delivery_max_attempts=6)
        async with bot:
            for i in range(10):
                await bot.submit(pages.url(f"/r/{i}"))
            await platform.wait_for(20, timeout=30)
            await drained(redis, timeout=30)
            retried = bot.metrics.posts_retried.labels(platform="discord", reason="rate_limited")
            assert retried._value.get() == platform.http_429 > 0
            assert platform.http_500 > 10
        assert len(platform.messages) == 20  # every post once (nonces are unique)
        assert sorted({m.channel for m in platform.order}) == [str(C1), str(C2)]
        for channel in (C1, C2):
            times = [m.at for m in platform.order if m.channel == str(channel)]
            assert len(times) == 10
        dead = await stream_entries(redis, keys.DEAD_LETTER_STREAM)
        assert len(dead) == 10
        for _id, fields in dead:
            assert fields["platform"] == "discord"
            assert fields["reason"].startswith("transient after 6 attempts: HTTP 500")
            assert post_from_json(fields["post"]).destination.id == "c3"
    finally:
        await platform.stop()


async def test_configured_budgets_mean_no_429(redis: aioredis.Redis, pages: PageServer) -> None:
    platform = await FakePlatform(channel_budget=(3, 0.5), global_budget=(5, 0.5)).start()
    try:
        bot = await _retry_rig(redis, pages, platform, discord_channel_rate=3,
                               discord_channel_period_s=0.5, discord_global_rate=5,
                               discord_global_period_s=0.5)
        async with bot:
            for i in range(10):
                await bot.submit(pages.url(f"/r/{i}"))
            await platform.wait_for(30, timeout=30)
            await drained(redis)
        assert platform.http_429 == 0
        assert len(platform.messages) == 30
        times = [m.at for m in platform.order]
        assert _max_in_window(times, 0.5) <= 5
    finally:
        await platform.stop()


async def test_matching_tables_load_when_the_bot_starts(redis: aioredis.Redis) -> None:
    """The names of places in every language load at start, not on the first link."""
    from bot.subscriptions import normaliser

    normaliser.place_tokens.cache_clear()
    normaliser._all_names.cache_clear()
    bot = Newsbot(pipeline_settings(), redis=redis, http=False)
    async with bot:
        assert normaliser.place_tokens.cache_info().currsize == 1
        assert normaliser._all_names.cache_info().currsize == 1
