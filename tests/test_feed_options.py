"""Issue 19: per-feed filters, backfill, and edits when a story changes.

End to end through the bot with the real discord.py and slack_sdk clients against the
local fake Discord and fake Slack: what is posted, edited and how often is counted there.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.discord import DiscordAdapter
from adapters.slack import SlackAdapter
from bot import keys
from bot.card import Card
from bot.chat.contract import Destination, Post, Reply, Request
from bot.errors import CommandError
from bot.feeds import CLAUSES, FeedOptions, feed_id_for, parse_feed_add
from bot.feeds.poller import FeedPoller, PollStats
from bot.metrics import Metrics
from bot.pipeline import Deduper, RateLimiter, Sender, enqueue
from bot.pipeline.dedupe import Identity, changed_materially, headline_changed
from bot.service import Newsbot
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakeDiscord, FakeSlack, Feed, FeedServer, article_html, story
from tests.fakes.discord import CHANNEL_ID, GUILD_ID
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM
from tests.pipeline_helpers import drained, pipeline_settings

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

DG = f"discord:{GUILD_ID}"
SG = f"slack:{TEAM}"
DCHAN = Destination(DG, "channel", str(CHANNEL_ID))
SCHAN = Destination(SG, "channel", "C1")
T0 = 1_715_000_000.0


class Clock:
    """A clock the test moves by hand (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    bot: Newsbot
    server: FeedServer
    discord: FakeDiscord
    slack: FakeSlack
    redis: aioredis.Redis
    clock: Clock
    poller: FeedPoller

    async def cmd(self, text: str, where: Destination) -> Reply:
        return await self.bot.handle(Request(where.tenant, "u1", where.id, True, text=text))

    async def poll(self) -> PollStats:
        """Move the clock past every feed's next poll and poll what is due."""
        self.clock.now += 700
        return await self.poller.poll_due()

    async def settle(self) -> None:
        await drained(self.redis, ("discord", "slack"))

    def discord_posts(self) -> list[dict[str, Any]]:
        return self.discord.messages.get(str(CHANNEL_ID), [])

    def discord_titles(self) -> list[str]:
        return [m["embeds"][0]["title"] for m in self.discord_posts()]

    def slack_posts(self) -> list[dict[str, Any]]:
        return self.slack.posted.get("C1", [])

    def slack_texts(self) -> list[str]:
        return [str(m["text"]) for m in self.slack_posts()]


@pytest.fixture
async def rig(redis: aioredis.Redis) -> AsyncIterator[Rig]:
    server = await FeedServer().start()
    discord, slack = FakeDiscord(), FakeSlack()
    await discord.start()
    await slack.start()
    settings = pipeline_settings()
    bot = Newsbot(settings, redis=redis, block_ms=200, http=False)
    bot.register_adapter(DiscordAdapter(
        Settings(_env_file=None, discord_token="MTExMTExMTExMTExMTExMTEx.fake.token",
                 discord_api_base=discord.api_base, discord_gateway_url=discord.gateway_url,
                 discord_dev_guild=GUILD_ID),
        bot, ready_timeout=10, client_options={"guild_ready_timeout": 0.05}))
    bot.register_adapter(SlackAdapter(
        Settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                 slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url), bot))
    try:
        async with bot:
            clock = Clock()
            poller = FeedPoller(bot.feed_store, bot.fetcher, bot.ingest, settings, clock=clock)
            yield Rig(bot, server, discord, slack, redis, clock, poller)
    finally:
        await slack.stop()
        await discord.stop()
        await server.stop()


def _feed(server: FeedServer, path: str, items: list[tuple[int, str]]) -> Feed:
    """A feed of items (seed, topic), the last newest; each links an article page."""
    feed = Feed(f"Feed {path}")
    for i, (seed, topic) in enumerate(items):
        feed.entries.insert(0, server.entry(f"{path}/a{seed}", seed, T0 + i * 60, topic))
    server.feeds[path] = feed
    return feed


# --- the grammar ------------------------------------------------------------------------


def test_feed_add_clauses() -> None:
    url, options = parse_feed_add(
        ("https://example.org/rss", "only", '"climate change"', "-opinion", "backfill", "3"))
    assert url == "https://example.org/rss"
    assert options == FeedOptions(only='"climate change" -opinion', backfill=3)
    assert options.describe() == 'only "climate change" -opinion'
    # One Discord option holding it all, in another order; Slack's <url|label> form.
    url, options = parse_feed_add(('<https://example.org/rss|x> backfill 2 only  “a b”',))
    assert (url, options) == ("https://example.org/rss", FeedOptions(only='"a b"', backfill=2))
    assert FeedOptions.from_stored('{"only": "x"}') == FeedOptions(only="x")
    assert set(CLAUSES) >= {"only", "backfill"}
    for bad in (("u", "only"), ("u", "backfill", "many"), ("u", "backfill", "99"),
                ("u", "colour", "red"), ("u", "only", "a", "only", "b"), ("u", "only", "-x")):
        with pytest.raises(CommandError):
            parse_feed_add(bad)


def test_what_counts_as_a_material_change() -> None:
    assert not headline_changed("Putin visits Syria", "Putin vists Syria")  # a typo
    assert not headline_changed("Putin visits Syria", "putin visits syria!")
    assert headline_changed("Putin visits Syria", "Putin leaves Syria after talks")
    assert headline_changed("3 dead in storm", "5 dead in storm")  # a number
    summary = "The minister said the talks on the border would go on next week in Geneva."
    assert not changed_materially("h", summary, "h", summary.replace("Geneva", "Geneva,"))
    assert changed_materially("h", summary, "h", "Talks collapsed; the border is closed.")


async def test_a_change_is_one_new_version_however_many_see_it(redis: aioredis.Redis) -> None:
    """One version per change, and it stays pending (edits queued again by whoever sees
    it) until its edits are queued: a worker dying in between loses no edit."""
    deduper = Deduper(redis, ttl_s=60)
    first = Card("Putin visits Syria", "", url="u", summary="Talks in Damascus.")
    later = Card("Putin leaves Syria", "", url="u", summary="Talks ended early.")
    ident = Identity("a1", "url")
    assert (await deduper.revise(Identity("a1", "new"), first)).changed is False
    assert (await deduper.revise(ident, first)).changed is False
    seen = [await deduper.revise(ident, later) for _ in range(3)]
    assert [r.changed for r in seen] == [True, True, True]  # pending: its edits not queued
    await deduper.settle("a1", 1)
    seen = [await deduper.revise(ident, later) for _ in range(3)]
    assert [r.changed for r in seen] == [False, False, False]
    assert {r.number for r in seen} == {1}
    # Another site's story (found by content) is never a version of this one.
    assert (await deduper.revise(Identity("a1", "content"), first)).changed is False
    assert await redis.pttl(keys.article_version_key("a1")) > 0


# --- per-feed filters -------------------------------------------------------------------


async def test_a_feed_filter_posts_only_matching_items_with_why(rig: Rig) -> None:
    feed = _feed(rig.server, "/f", [(1, "Syria")])
    url = rig.server.url("/f")
    reply = await rig.cmd(f'feed add {url} only "climate change" -opinion', DCHAN)
    assert reply.ok, reply.text
    assert 'Only articles matching "climate change" -opinion are posted' in reply.text
    listed = await rig.cmd("feed list", DCHAN)
    assert 'only "climate change" -opinion' in listed.text
    for seed, topic in ((2, "Climate change"), (3, "Climate change opinion"), (4, "Syria")):
        feed.entries.insert(0, rig.server.entry(f"/f/a{seed}", seed, T0 + 600 + seed, topic))
    assert (await rig.poll()).new_items == 3
    await rig.settle()
    assert rig.discord_titles() == ["News about Climate change 2"]
    fields = {f["name"]: f["value"] for f in rig.discord_posts()[0]["embeds"][0]["fields"]}
    assert fields["Matched"] == "climate change"  # why it was posted, as for subscriptions


async def test_a_filter_applies_per_channel_of_a_shared_feed(rig: Rig) -> None:
    feed = _feed(rig.server, "/s", [(1, "Syria")])
    url = rig.server.url("/s")
    assert (await rig.cmd(f"feed add {url} only syria", DCHAN)).ok
    assert (await rig.cmd(f"feed add {url}", SCHAN)).ok  # no filter in Slack
    feed.entries.insert(0, rig.server.entry("/s/a5", 5, T0 + 900, "Brexit"))
    assert (await rig.poll()).new_items == 1
    await rig.settle()
    assert rig.discord_posts() == []
    assert len(rig.slack_posts()) == 1
    # Adding it again with options changes them; without, keeps them.
    changed = await rig.cmd(f"feed add {url} only brexit", DCHAN)
    assert changed.ok and "Updated this channel's options" in changed.text
    assert "only brexit" in (await rig.cmd("feed list", DCHAN)).text
    assert "already has" in (await rig.cmd(f"feed add {url}", DCHAN)).text
    assert "only brexit" in (await rig.cmd("feed list", DCHAN)).text


# --- backfill -----------------------------------------------------------------------------


async def test_backfill_posts_exactly_the_latest_n(rig: Rig) -> None:
    _feed(rig.server, "/b", [(10, "Syria"), (11, "Syria"), (12, "Syria"), (13, "Syria"),
                              (14, "Syria")])
    reply = await rig.cmd(f"feed add {rig.server.url('/b')} backfill 3", SCHAN)
    assert reply.ok and "latest 3 articles" in reply.text, reply.text
    await rig.settle()
    assert len(rig.slack.calls_to("chat.postMessage")) == 3
    assert sorted(re.findall(r"Syria (\d+)", t)[0] for t in rig.slack_texts()) == [
        "12", "13", "14"]
    await rig.poll()  # the backfilled and the older items are seen: nothing more
    await rig.settle()
    assert len(rig.slack_posts()) == 3


async def test_default_first_poll_stays_silent(rig: Rig) -> None:
    _feed(rig.server, "/q", [(15, "Syria"), (16, "Syria")])
    assert (await rig.cmd(f"feed add {rig.server.url('/q')}", SCHAN)).ok
    await rig.poll()
    await rig.settle()
    assert rig.slack_posts() == []


async def test_backfill_respects_the_filter(rig: Rig) -> None:
    _feed(rig.server, "/bf", [(20, "Climate"), (21, "Syria"), (22, "Climate"), (23, "Syria"),
                              (24, "Climate"), (25, "Syria")])
    reply = await rig.cmd(f"feed add {rig.server.url('/bf')} only climate backfill 2", DCHAN)
    assert reply.ok, reply.text
    await rig.settle()
    titles = rig.discord_titles()
    assert len(titles) == 2 and all("Climate" in t for t in titles), titles


# --- edits when a story changes --------------------------------------------------------


async def _post_everywhere(rig: Rig, path: str, seed: int) -> str:
    """An article about Syria posted once in Discord and once in Slack (subscriptions)."""
    await rig.bot.store.add(DG, "u1", DCHAN, "syria")
    await rig.bot.store.add(SG, "U1", SCHAN, "syria")
    url = rig.server.article(path, seed, "Syria")
    await rig.bot.ingest.submit(url)
    await rig.settle()
    assert len(rig.discord_posts()) == 1 and len(rig.slack_posts()) == 1
    return url


async def test_an_updated_article_edits_each_post_once_and_never_posts_twice(
        rig: Rig) -> None:
    url = await _post_everywhere(rig, "/news/1", 1)
    headline = "Ceasefire agreed as talks on Syria end"
    rig.server.pages["/news/1"] = article_html(headline, story(1, "Syria"))
    for _ in range(3):  # the changed version, re-submitted again and again
        await rig.bot.ingest.submit(url)
        await rig.settle()
    assert len(rig.discord.edits()) == 1
    assert len(rig.slack.calls_to("chat.update")) == 1
    assert len(rig.discord_posts()) == 1 and len(rig.slack_posts()) == 1
    assert len(rig.slack.calls_to("chat.postMessage")) == 1
    edited = rig.discord_posts()[0]
    assert edited["embeds"][0]["title"] == headline
    assert "Updated" in edited["content"]
    slack_message = rig.slack_posts()[0]
    assert slack_message["edits"] == 1 and "Updated" in str(slack_message["text"])
    assert headline in str(slack_message["blocks"])
    # The buttons of the subscription stay on the edited post.
    assert edited["components"], edited


async def test_a_worker_dying_after_the_new_version_still_gets_the_edits_out(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    url = await _post_everywhere(rig, "/news/3", 3)
    rig.server.pages["/news/3"] = article_html("Syria talks collapse in Geneva", story(3, "Syria"))
    (worker,) = rig.bot.workers
    real = worker._edit_posts
    failures: list[int] = []

    async def dies_once(*args: Any) -> int:
        if not failures:
            failures.append(1)  # the version is bumped; Redis goes away before the edits
            raise RedisConnectionError("connection lost")
        return await real(*args)

    monkeypatch.setattr(worker, "_edit_posts", dies_once)
    await rig.bot.ingest.submit(url)
    await rig.settle()  # the link stays pending, is taken up again, the edits go out
    assert failures == [1]
    assert len(rig.discord.edits()) == 1 and len(rig.slack.calls_to("chat.update")) == 1
    assert len(rig.discord_posts()) == 1 and len(rig.slack_posts()) == 1


async def test_an_unchanged_resubmission_neither_posts_nor_edits(rig: Rig) -> None:
    url = await _post_everywhere(rig, "/news/2", 2)
    # A typo fixed in the headline is no material change either.
    rig.server.pages["/news/2"] = article_html("News abuot Syria 2", story(2, "Syria"))
    await rig.bot.ingest.submit(url)
    await rig.settle()
    await rig.bot.ingest.submit(url + "?utm_source=chat")  # the same canonical URL
    await rig.settle()
    assert rig.discord.edits() == [] and rig.slack.calls_to("chat.update") == []
    assert len(rig.discord_posts()) == 1 and len(rig.slack_posts()) == 1


async def test_an_edited_feed_item_edits_its_post(rig: Rig) -> None:
    feed = _feed(rig.server, "/e", [(30, "Syria")])
    assert (await rig.cmd(f"feed add {rig.server.url('/e')}", SCHAN)).ok
    feed.entries.insert(0, rig.server.entry("/e/a31", 31, T0 + 900, "Syria"))
    assert (await rig.poll()).new_items == 1
    await rig.settle()
    assert len(rig.slack_posts()) == 1
    # The publisher rewrites the story and its feed item's title.
    headline = "Syria: border reopens after two weeks"
    rig.server.pages["/e/a31"] = article_html(headline, story(31, "Syria"))
    feed.entries[0].title = headline
    # An older item edited that was never posted (added silently): edits nothing.
    feed.entries[1].title = "Changed title of an item never posted"
    stats = await rig.poll()
    assert (stats.new_items, stats.edited_items) == (0, 2)
    await rig.settle()
    assert len(rig.slack.calls_to("chat.update")) == 1
    assert len(rig.slack.calls_to("chat.postMessage")) == 1
    assert headline in str(rig.slack_posts()[0]["blocks"])
    assert (await rig.poll()).edited_items == 0  # that version is known now


async def test_the_same_edit_delivered_twice_is_applied_once(redis: aioredis.Redis) -> None:
    fake = FakeSlack()
    await fake.start()
    adapter = SlackAdapter(Settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                                    slack_signing_secret=SIGNING_SECRET,
                                    slack_api_url=fake.api_url), _NoCore())
    await adapter.start()
    sender = Sender(redis, Metrics(), adapter=adapter, store=SubscriptionStore(redis),
                    limiter=RateLimiter(redis, {}), deduper=Deduper(redis, ttl_s=60),
                    consumer="s1", dead_letter_maxlen=100, done_ttl_s=600, lease_s=0.5,
                    block_ms=100)
    try:
        card = Card("Old headline", "", url="https://example.org/a", summary="s")
        ts = await adapter.post(Post(SCHAN, f"a1:{SCHAN}", card=card))
        edit = Post(SCHAN, f"a1:{SCHAN}:r1", card=Card("New headline", "",
                                                         url="https://example.org/a"),
                    edit_of=ts, revision=1)
        await sender.start()
        for _ in range(2):  # at least once: the same edit job twice
            pipe = redis.pipeline()
            enqueue(pipe, edit)
            await pipe.execute()
        await drained(redis, ("slack",))
    finally:
        await sender.stop()
        await adapter.close()
        await fake.stop()
    assert len(fake.calls_to("chat.update")) == 1
    assert "New headline" in str(fake.posted["C1"][0]["blocks"])
    assert sender.metrics.posts_edited.labels(platform="slack")._value.get() == 1


class _NoCore:
    async def handle(self, request: Request) -> Reply:
        raise AssertionError("no commands in this test")


async def test_a_feed_stored_before_version_keys_learns_them_without_edits(rig: Rig) -> None:
    feed = _feed(rig.server, "/old", [(40, "Syria"), (41, "Syria")])
    assert (await rig.cmd(f"feed add {rig.server.url('/old')}", SCHAN)).ok
    feed_id = feed_id_for(rig.server.url("/old"))
    # As stored by the version before: no version keys, no 'vk' mark.
    await rig.redis.hdel(keys.feed_key(feed_id), "vk")
    seen = [str(m) for m in await rig.redis.zrange(keys.feed_seen_key(feed_id), 0, -1)]
    await rig.redis.zrem(keys.feed_seen_key(feed_id), *[m for m in seen if m.startswith("v:")])
    assert (await rig.poll()).not_modified == 1  # nothing read: nothing learnt either
    feed.entries[0].title = "A title changed before the upgrade was noticed"
    feed.entries.insert(0, rig.server.entry("/old/a42", 42, T0 + 900, "Syria"))
    stats = await rig.poll()
    assert (stats.new_items, stats.edited_items) == (1, 0)
    feed.entries[1].title = "Now an edit"
    assert (await rig.poll()).edited_items == 1


async def test_a_post_made_under_a_feeds_name_is_edited_through_its_webhook(rig: Rig) -> None:
    """Discord lets only the webhook edit what it posted (the bot's PATCH is a 403)."""
    feed = _feed(rig.server, "/w", [(40, "Syria")])
    assert (await rig.cmd(f'feed add {rig.server.url("/w")} as "Wire Desk"', DCHAN)).ok
    feed.entries.insert(0, rig.server.entry("/w/a41", 41, T0 + 900, "Syria"))
    assert (await rig.poll()).new_items == 1
    await rig.settle()
    (posted,) = rig.discord_posts()
    assert posted.get("webhook_id") and posted["username"] == "Wire Desk"
    headline = "Syria: the talks resume in Geneva"
    rig.server.pages["/w/a41"] = article_html(headline, story(41, "Syria"))
    feed.entries[0].title = headline
    assert (await rig.poll()).edited_items == 1
    await rig.settle()
    (edit,) = rig.discord.edits()
    assert edit.path.startswith("/webhooks/") and edit.status == 200, edit
    (edited,) = rig.discord_posts()  # edited in place, never posted twice
    assert edited["embeds"][0]["title"] == headline and "Updated" in edited["content"]
