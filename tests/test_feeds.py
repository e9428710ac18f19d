"""Feeds end to end: real Redis, a local feed server, the fake platform, a controlled clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination, Reply, Request
from bot.errors import ConfigError, FeedError
from bot.feeds.parse import cache_max_age, discover_feed, parse_feed
from bot.feeds.poller import FeedPoller, PollStats
from bot.feeds.store import FeedStore, feed_id_for
from bot.fetch import Fetcher, FetchPolicy, make_session
from bot.metrics import Metrics
from bot.pipeline.ingest import Ingest
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, Feed, FeedServer, HttpAdapter
from tests.pipeline_helpers import drained, pipeline_settings

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

G = "discord:g1"
C1 = Destination(G, "channel", "c1")
C2 = Destination(G, "channel", "c2")
DAY = 86400.0
T0 = 1_715_000_000.0


class Clock:
    """A clock the test moves by hand (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass
class Rig:
    bot: Newsbot
    server: FeedServer
    platform: FakePlatform
    redis: aioredis.Redis
    clock: Clock
    poller: FeedPoller

    async def cmd(self, text: str, channel: str = "c1", manage: bool = True) -> Reply:
        return await self.bot.handle(Request(G, "u1", channel, manage, text=text))

    async def poll(self, after: float = 700.0) -> PollStats:
        """Move the clock on and poll what is due (as the bot's poller would)."""
        self.clock.advance(after)
        return await self.poller.poll_due()

    async def settle(self) -> None:
        await drained(self.redis)

    def headlines(self) -> list[tuple[str, str | None]]:
        return sorted((m.channel, m.headline) for m in self.platform.order)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    srv = await FeedServer().start()
    yield srv
    await srv.stop()



@pytest.fixture
async def rig(redis: aioredis.Redis, server: FeedServer,
              platform: FakePlatform) -> AsyncIterator[Rig]:
    store = SubscriptionStore(redis)
    await store.add(G, "u2", C2, "syria")
    settings = pipeline_settings()
    bot = Newsbot(settings, redis=redis, block_ms=200, http=False)
    bot.register_adapter(HttpAdapter("discord", platform.base_url))
    async with bot:
        clock = Clock()
        poller = FeedPoller(bot.feed_store, bot.fetcher, bot.ingest, settings, clock=clock)
        yield Rig(bot, server, platform, redis, clock, poller)


def _feed(server: FeedServer, path: str, kind: str, seeds: list[int], topic: str = "Syria",
          ) -> Feed:
    feed = Feed(f"Feed {path}", kind)
    for i, seed in enumerate(seeds):
        feed.entries.insert(0, server.entry(f"{path}/a{seed}", seed, T0 + i * 60, topic))
    server.feeds[path] = feed
    return feed


# --- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rss", "atom", "rdf"])
def test_parse_three_formats(kind: str) -> None:
    server = FeedServer()
    server.port = 8000
    feed = _feed(server, "/f", kind, [1, 2])
    feed.ttl_min = 30
    parsed = parse_feed(feed.render("http://127.0.0.1:8000/f"), "http://127.0.0.1:8000/f")
    assert parsed.title == "Feed /f"
    assert [i.title for i in parsed.items] == ["News about Syria 2", "News about Syria 1"]
    assert parsed.items[0].link == "http://127.0.0.1:8000/f/a2"
    assert parsed.items[0].published == T0 + 60
    assert parsed.items[0].seen_keys[1] == "l:127.0.0.1/f/a2"
    assert parsed.ttl_min == (30 if kind == "rss" else None)


@pytest.mark.parametrize("body", [b"", b"<rss><channel><item><title>x</ti", b"just text",
                                  b"<html><body><p>a page</p></body></html>"])
def test_malformed_feed_is_a_clear_error(body: bytes) -> None:
    with pytest.raises(FeedError) as exc:
        parse_feed(body, "http://x/feed")
    assert "feed" in exc.value.user_message


def test_discovery_and_cache_control() -> None:
    page = ('<html><head><base href="/blog/"><link rel="stylesheet" href="/s.css">'
            '<link rel="alternate" type="application/atom+xml" href="atom.xml">'
            '<link rel="alternate" type="application/rss+xml" href="rss.xml?utm_source=x">'
            "</head></html>")
    assert discover_feed(page, "http://h/blog/post") == "http://h/blog/rss.xml"
    assert discover_feed("<html><head></head></html>", "http://h/") is None
    assert cache_max_age("public, max-age=1800") == 1800
    assert cache_max_age("no-cache, max-age=1800") is None
    assert cache_max_age(None) is None


def test_interval_rules() -> None:
    settings = pipeline_settings()
    poller = FeedPoller.__new__(FeedPoller)
    poller.interval_s, poller.max_interval_s = 600, 6 * 3600
    assert poller.interval_for(0, None) == 600
    assert poller.interval_for(1800, None) == 1800  # ttl longer: honoured
    assert poller.interval_for(0, 120) == 600  # shorter max-age: our interval
    assert poller.interval_for(0, int(10 * DAY)) == 6 * 3600  # capped
    assert poller.backoff_for(600, 1) == 1200 and poller.backoff_for(600, 30) == 6 * 3600
    assert settings.feed_interval_s >= 60
    with pytest.raises(ConfigError, match="FEED_INTERVAL_S"):
        pipeline_settings(feed_interval_s=30)


# --- end to end -----------------------------------------------------------------------


async def test_a_feed_with_one_current_article_says_it_in_the_singular(rig: Rig) -> None:
    _feed(rig.server, "/one", "rss", [1])
    reply = await rig.cmd(f"feed add {rig.server.url('/one')}")
    assert reply.ok, reply.text
    assert "Its current article is not posted" in reply.text
    assert "1 current articles" not in reply.text


async def test_new_feed_posts_nothing_then_new_item_once(rig: Rig) -> None:
    feed = _feed(rig.server, "/rss", "rss", [1, 2])
    reply = await rig.cmd(f"feed add {rig.server.url('/rss')}")
    assert reply.ok, reply.text
    assert "Feed /rss" in reply.text and "2 current articles are not posted" in reply.text
    assert int(await rig.redis.xlen(keys.INGEST_STREAM)) == 0
    assert (await rig.poll()).new_items == 0  # nothing changed: a 304
    await rig.settle()
    assert rig.platform.order == []
    assert rig.server.not_modified == 1

    feed.entries.insert(0, rig.server.entry("/rss/a3", 3, T0 + 600))
    stats = await rig.poll()
    assert stats.new_items == 1 and stats.polled == 1
    await rig.settle()
    # To the feed's channel, and to the matching subscription in another channel.
    assert rig.headlines() == [(str(C1), "News about Syria 3"), (str(C2), "News about Syria 3")]
    assert (await rig.poll()).not_modified == 1  # the unchanged feed: ETag → 304
    await rig.settle()
    assert len(rig.platform.order) == 2


async def test_same_feed_in_two_channels_fetched_once(rig: Rig) -> None:
    feed = _feed(rig.server, "/shared", "rss", [10], topic="Climate")
    url = rig.server.url("/shared")
    assert (await rig.cmd(f"feed add {url}")).ok
    joined = await rig.cmd(f"feed add {url}", channel="c2")
    assert joined.ok and "Added" in joined.text
    assert rig.server.hits["/shared"] == 1  # the second channel reuses the running feed
    again = await rig.cmd(f"feed add {url}", channel="c2")
    assert "already has" in again.text
    feed.entries.insert(0, rig.server.entry("/shared/a11", 11, T0 + 99, topic="Climate"))
    stats = await rig.poll()
    assert stats.polled == 1 and rig.server.hits["/shared"] == 2
    await rig.settle()
    assert rig.headlines() == [(str(C1), "News about Climate 11"),
                               (str(C2), "News about Climate 11")]
    # Removing it from one channel keeps it for the other.
    assert (await rig.cmd(f"feed remove <{url}|{url}>", channel="c2")).ok
    assert "no feeds" in (await rig.cmd("feed list", channel="c2")).text
    assert url in (await rig.cmd("feed list")).text


async def test_out_of_order_and_edited_items(rig: Rig) -> None:
    feed = _feed(rig.server, "/ooo", "atom", [20, 21])
    assert (await rig.cmd(f"feed add {rig.server.url('/ooo')}")).ok
    # An item dated before everything seen arrives late: still new.
    old = rig.server.entry("/ooo/a22", 22, T0 - 30 * DAY)
    feed.entries.append(old)
    # An edited item (same GUID, new title and date) and a re-posted link (new GUID).
    feed.entries[0].title = "Updated: " + feed.entries[0].title
    feed.entries[0].published += 3600
    feed.entries.append(type(old)("urn:other", "Same story again", feed.entries[1].link, T0))
    stats = await rig.poll()
    assert stats.new_items == 1
    await rig.settle()
    assert rig.headlines() == [(str(C1), "News about Syria 22"), (str(C2), "News about Syria 22")]
    # Seen-state lives in Redis: a fresh store and poller (a restart) repost nothing.
    store = FeedStore(rig.redis)
    fresh = FeedPoller(store, rig.bot.fetcher, rig.bot.ingest, pipeline_settings(),
                       clock=rig.clock)
    rig.server.validators = False  # a full answer, parsed again
    feed.modified += 1
    rig.clock.advance(700)
    assert (await fresh.poll_due()).new_items == 0


async def test_three_formats_end_to_end(rig: Rig) -> None:
    feeds = {kind: _feed(rig.server, f"/{kind}", kind, [30 + i]) for i, kind in
             enumerate(("rss", "atom", "rdf"))}
    for kind in feeds:
        reply = await rig.cmd(f"feed add {rig.server.url('/' + kind)}")
        assert reply.ok, reply.text
    for i, (kind, feed) in enumerate(feeds.items()):
        feed.entries.insert(0, rig.server.entry(f"/{kind}/n", 40 + i, T0 + 999,
                                                topic="Brexit"))
    stats = await rig.poll()
    assert (stats.polled, stats.new_items) == (3, 3)
    await rig.settle()
    assert sorted(h or "" for _c, h in rig.headlines()) == [
        "News about Brexit 40", "News about Brexit 41", "News about Brexit 42"]


async def test_discovery_and_errors(rig: Rig) -> None:
    _feed(rig.server, "/blog/atom.xml", "atom", [50])
    rig.server.pages["/blog"] = (
        '<html><head><link rel="alternate" type="application/atom+xml" '
        'href="/blog/atom.xml"></head><body>Blog</body></html>')
    rig.server.pages["/plain"] = "<html><head></head><body>No feed here</body></html>"
    rig.server.raw["/broken.xml"] = (b"<?xml version='1.0'?><rss><channel><item><title>x",
                                     "application/rss+xml")
    reply = await rig.cmd(f"feed add {rig.server.url('/blog')}")
    assert reply.ok and "found on that page" in reply.text
    listing = await rig.cmd("feed list")
    assert rig.server.url("/blog/atom.xml") in listing.text and "· ok" in listing.text
    nofeed = await rig.cmd(f"feed add {rig.server.url('/plain')}")
    assert not nofeed.ok and "links to no RSS or Atom feed" in nofeed.text
    broken = await rig.cmd(f"feed add {rig.server.url('/broken.xml')}")
    assert not broken.ok and "broken" in broken.text
    missing = await rig.cmd(f"feed add {rig.server.url('/missing')}")
    assert not missing.ok and "404" in missing.text
    denied = await rig.cmd(f"feed add {rig.server.url('/blog')}", manage=False)
    assert not denied.ok and "manage" in denied.text
    private = await rig.cmd("feed add http://10.1.2.3/feed")
    assert not private.ok
    # The page URL also names the feed for removal.
    assert (await rig.cmd(f"feed remove {rig.server.url('/blog')}")).ok
    assert await rig.redis.zcard(keys.FEED_SCHEDULE) == 0
    assert not await rig.redis.exists(keys.feed_seen_key(feed_id_for(
        rig.server.url("/blog/atom.xml"))))


async def test_failing_feed_backs_off_then_disabled_with_notice(rig: Rig) -> None:
    url = rig.server.url("/flaky")
    _feed(rig.server, "/flaky", "rss", [60])
    assert (await rig.cmd(f"feed add {url}")).ok
    fid = feed_id_for(url)
    rig.server.fail["/flaky"] = 503
    waits: list[float] = []
    start = rig.clock()
    for _ in range(20):
        record = await rig.bot.feed_store.get(fid)
        assert record is not None
        if record.disabled:
            break
        before = rig.clock.now = record.next_poll_at + 1
        stats = await rig.poller.poll_due()
        assert stats.failed == 1
        after = await rig.bot.feed_store.get(fid)
        assert after is not None
        if not after.disabled:
            waits.append(after.next_poll_at - before)
    assert record is not None
    assert record.disabled and "503" in record.disabled
    assert rig.clock() - start >= DAY
    assert waits[1] > waits[0] * 1.5 and waits[2] > waits[1] * 1.5  # exponential
    listing = await rig.cmd("feed list")
    assert "disabled" in listing.text
    await rig.platform.wait_for(1, timeout=10)
    [notice] = rig.platform.order
    assert notice.channel == str(C1) and notice.note is not None
    assert url in notice.note and "feed add" in notice.note
    assert await rig.redis.zscore(keys.FEED_SCHEDULE, fid) is None
    # Adding it again turns it back on (once the site works).
    del rig.server.fail["/flaky"]
    back = await rig.cmd(f"feed add {url}")
    assert back.ok and "back on" in back.text
    record = await rig.bot.feed_store.get(fid)
    assert record is not None and record.state == "ok"
    assert await rig.redis.zscore(keys.FEED_SCHEDULE, fid) is not None


async def test_backing_off_is_listed(rig: Rig) -> None:
    _feed(rig.server, "/down", "rss", [70])
    assert (await rig.cmd(f"feed add {rig.server.url('/down')}")).ok
    rig.server.fail["/down"] = 500
    await rig.poll()
    text = (await rig.cmd("feed list")).text
    assert "backing off: 1 failed tries" in text and "HTTP 500" in text


async def test_two_processes_share_the_polling(
    rig: Rig, redis_factory: Callable[[], Awaitable[aioredis.Redis]]
) -> None:
    for i in range(12):
        _feed(rig.server, f"/p{i}", "rss", [100 + i], topic="Weather")
        assert (await rig.cmd(f"feed add {rig.server.url(f'/p{i}')}")).ok
    settings = pipeline_settings()
    pollers = []
    for _ in range(2):
        client = await redis_factory()
        session = make_session(FetchPolicy.from_settings(settings))
        fetcher = Fetcher(session, FetchPolicy.from_settings(settings))
        pollers.append((FeedPoller(FeedStore(client), fetcher, Ingest(client, Metrics(),
                                                                         maxlen=1000),
                                   settings, clock=rig.clock), session))
    try:
        rig.clock.advance(700)
        a, b = await asyncio.gather(*(p.poll_due() for p, _s in pollers))
        assert a.polled + b.polled == 12
        assert not set(a.feeds) & set(b.feeds)
        assert all(rig.server.hits[f"/p{i}"] == 2 for i in range(12))
    finally:
        for _p, session in pollers:
            await session.close()


async def test_feed_channel_with_matching_subscription_gets_one_post(rig: Rig) -> None:
    first = _feed(rig.server, "/one", "rss", [80])
    second = _feed(rig.server, "/two", "atom", [81])
    for path, channel in (("/one", "c1"), ("/one", "c2"), ("/two", "c2")):
        assert (await rig.cmd(f"feed add {rig.server.url(path)}", channel=channel)).ok
    # c2 has the feeds and a matching "syria" subscription; both feeds carry the story.
    entry = rig.server.entry("/one/a82", 82, T0 + 500)
    first.entries.insert(0, entry)
    second.entries.insert(0, type(entry)("urn:two:82", entry.title, entry.link + "?utm_source=rss",
                                         T0 + 500))
    stats = await rig.poll()
    assert stats.new_items == 2
    await rig.settle()
    assert rig.headlines() == [(str(C1), "News about Syria 82"), (str(C2), "News about Syria 82")]
