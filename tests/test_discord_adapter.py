"""The real discord.py adapter against a local fake Discord (REST + gateway on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapters.discord import DiscordAdapter
from bot import parse_article
from bot.card import Card
from bot.chat.commands import CommandContext, handle
from bot.chat.contract import (
    Destination,
    DestinationGoneError,
    Post,
    RateLimitedError,
    Reply,
    Request,
    SubscriptionRef,
    TransientPostError,
)
from bot.errors import ConfigError, FetchError
from bot.feeds import FeedOptions, parse_feed_add
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore
from tests.fakes.discord import (
    ADMIN_ID,
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_ID,
    MEMBER_PERMS,
    FakeDiscord,
    button_press,
    message_command,
    slash,
)

SEED = (Path(__file__).parent / "data" / "seed_france24_putin_syria.txt").read_text()
SEED_URL = "https://www.france24.com/en/20171211-putin-orders-partial-withdrawal-russian-troops-syria"
TENANT = f"discord:{GUILD_ID}"
EPHEMERAL = 64
# The production value: a shorter one made quick commands deferred on a loaded machine
# (subscribe took over 0.3 s there, and the test saw a deferral instead of its answer).
DEFER_AFTER = 2.0


class TestCore:
    """The real command core on the real Redis, its page fetcher replaced by the seed.

    Fetching is tested elsewhere; here ``summarize`` parses the seed article (slowly when
    asked, to exercise deferral) and refuses links outside example hosts.
    """

    __test__ = False

    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        store = SubscriptionStore.from_settings(redis, settings)
        self.ctx = CommandContext(store, summarize=self._summarize)
        self.requests: list[Request] = []
        self.summarize_delay = 0.0

    async def _summarize(self, url: str) -> Card:
        await asyncio.sleep(self.summarize_delay)
        if "france24.com" not in url:
            raise FetchError("The site answered with an error (HTTP 404).", url)
        return parse_article(SEED, url)

    async def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        return await handle(self.ctx, request)


def make_settings(fake: FakeDiscord, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        discord_token="MTExMTExMTExMTExMTExMTEx.fake.token",
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        discord_dev_guild=GUILD_ID,
        **extra,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def core(redis: aioredis.Redis, fake: FakeDiscord) -> TestCore:
    return TestCore(redis, make_settings(fake))


async def start_adapter(fake: FakeDiscord, core: TestCore, **extra: Any) -> DiscordAdapter:
    adapter = DiscordAdapter(
        make_settings(fake, **extra), core, defer_after=DEFER_AFTER, ready_timeout=10,
        client_options={"guild_ready_timeout": 0.05},
    )
    await adapter.start()
    return adapter


@pytest.fixture
async def adapter(fake: FakeDiscord, core: TestCore) -> AsyncIterator[DiscordAdapter]:
    running = await start_adapter(fake, core)
    try:
        yield running
    finally:
        await running.close()


async def run(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    """Send an interaction and return its callback body."""
    await fake.interact(payload)
    return await fake.callback(payload["id"])


def assert_no_mentions(body: dict[str, Any]) -> None:
    mentions = dict(body["allowed_mentions"])
    assert mentions.pop("replied_user", False) is False, body
    assert mentions == {"parse": []}, body


# --- startup, sync, invite -------------------------------------------------------------


async def test_start_identifies_and_syncs_guild_commands(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    assert adapter.connected
    (identify,) = fake.identifies
    assert identify["token"] == "MTExMTExMTExMTExMTExMTEx.fake.token"
    # Without the message-reading option, only the GUILDS intent (1 << 0).
    assert identify["intents"] == 1
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert put.path == f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
    by_name = {c["name"]: c for c in put.body}
    assert set(by_name) == {"news", "Summarize link"}
    assert by_name["Summarize link"]["type"] == 3
    news = by_name["news"]
    assert news["name_localizations"]["fr"] == "actus"
    subs = {o["name"]: o for o in news["options"]}
    assert set(subs) == {
        "subscribe", "unsubscribe", "list", "mute", "unmute", "summarize", "feed", "timezone",
        "dashboard", "format", "managers",
    }
    topic = subs["unsubscribe"]["options"][0]
    assert topic["autocomplete"] is True and topic["description"]
    assert topic["name_localizations"]["de"] == "thema"
    feed = {o["name"] for o in subs["feed"]["options"]}
    assert feed == {"add", "remove", "list"}
    digest = next(o for o in subs["subscribe"]["options"] if o["name"] == "digest")
    assert [c["value"] for c in digest["choices"]] == ["instant", "hourly", "daily"]


# --- commands --------------------------------------------------------------------------


async def test_subscribe_list_and_dm_digest(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    body = await run(fake, slash("subscribe", {"topic": "syria"}))
    assert body["type"] == 4
    data = body["data"]
    assert data["flags"] & EPHEMERAL
    assert "Subscribed" in data["content"] and "this channel" in data["content"]
    assert_no_mentions(data)
    body = await run(fake, slash("subscribe", {
        "topic": '"vladimir putin"', "dm": True, "digest": "daily",
    }, user_id=MEMBER_ID, perms=MEMBER_PERMS))
    assert "your DMs" in body["data"]["content"]
    assert "daily digest" in body["data"]["content"]
    body = await run(fake, slash("list", user_id=MEMBER_ID, perms=MEMBER_PERMS))
    text = body["data"]["content"]
    assert "vladimir putin" in text and "daily digest" in text
    assert "Also delivered to this channel" in text and "syria" in text


async def test_requests_carry_tenant_user_channel_and_rights(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    await run(fake, slash("list"))
    (request,) = core.requests
    assert request == Request(TENANT, str(ADMIN_ID), str(CHANNEL_ID), True, args=("list",))
    # Outside a guild (a DM with the bot): the shared tenant, no channel, no rights.
    body = await run(fake, slash("subscribe", {"topic": "syria"}, guild=False))
    assert "your DMs" in body["data"]["content"]
    assert core.requests[-1].tenant == "discord:dm" and core.requests[-1].channel is None


async def test_slash_options_are_not_reparsed_as_text(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    """A topic typed in the topic option is the topic, whatever words it holds."""
    body = await run(fake, slash("subscribe", {"topic": "music dm"}))
    assert "this channel" in body["data"]["content"]
    assert "music dm" in body["data"]["content"]
    body = await run(fake, slash("subscribe", {"topic": "here and now", "dm": True},
                                 user_id=MEMBER_ID, perms=MEMBER_PERMS))
    assert "your DMs" in body["data"]["content"] and "here and now" in body["data"]["content"]
    body = await run(fake, slash("list"))
    assert "music dm" in body["data"]["content"]


async def test_channel_subscribe_refused_without_manage_channels(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    body = await run(fake, slash("subscribe", {"topic": "syria"},
                                 user_id=MEMBER_ID, perms=MEMBER_PERMS))
    assert "Only people who can manage this channel" in body["data"]["content"]
    assert body["data"]["flags"] & EPHEMERAL


async def test_feed_commands_need_manage_channels(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    body = await run(fake, slash("feed add", {"url": "https://example.com/rss"},
                                 user_id=MEMBER_ID, perms=MEMBER_PERMS))
    # The core decides (a managers role may grant the right), told this member may not
    # manage (the refusal itself is tested in test_posts_per_community.py).
    assert body["data"]["flags"] & EPHEMERAL
    assert [r.can_manage for r in core.requests] == [False]
    core.requests.clear()
    await run(fake, slash("feed add", {"url": " https://example.com/rss "}))
    await run(fake, slash("feed remove", {"url": "https://example.com/rss"}))
    await run(fake, slash("feed list"))
    assert [r.args for r in core.requests] == [
        ("feed", "add", "https://example.com/rss"), ("feed", "remove", "https://example.com/rss"),
        ("feed", "list"),
    ]
    assert all(r.can_manage for r in core.requests)


async def test_feed_add_options_go_to_the_core_as_its_clauses(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    await run(fake, slash("feed add", {"url": "https://example.com/rss",
                                       "only": '"climate change" -opinion', "backfill": 3}))
    (request,) = core.requests
    assert request.args == ("feed", "add", "https://example.com/rss",
                            "only", '"climate change" -opinion', "backfill", "3")
    assert parse_feed_add(request.args[2:]) == (
        "https://example.com/rss", FeedOptions(only='"climate change" -opinion', backfill=3))


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("-sports", "word to look for"),
        ('"vladimir putin', "quote is not closed"),
        ("x" * 150, "limited to 100 characters"),
    ],
)
async def test_invalid_topic_is_explained(
    fake: FakeDiscord, adapter: DiscordAdapter, topic: str, message: str
) -> None:
    body = await run(fake, slash("subscribe", {"topic": topic}))
    assert message in body["data"]["content"]
    assert body["data"]["flags"] & EPHEMERAL


async def test_unsubscribe_autocomplete_then_unsubscribe(
    fake: FakeDiscord, adapter: DiscordAdapter, redis: aioredis.Redis
) -> None:
    await run(fake, slash("subscribe", {"topic": "syria"}))
    await run(fake, slash("subscribe", {"topic": "climate", "dm": True}))
    body = await run(fake, slash("unsubscribe", {"topic": "syr"}, focused="topic"))
    assert body["type"] == 8
    (choice,) = body["data"]["choices"]
    assert choice["name"].startswith("syria (#") and choice["value"].startswith("#")
    body = await run(fake, slash("unsubscribe", {"topic": ""}, focused="topic"))
    assert body["data"]["choices"][0]["name"] == "all"
    assert len(body["data"]["choices"]) == 3
    # Someone else's autocomplete does not show my subscriptions.
    body = await run(fake, slash("unsubscribe", {"topic": ""}, focused="topic",
                                 user_id=MEMBER_ID, perms=MEMBER_PERMS))
    assert [c["value"] for c in body["data"]["choices"]] == ["all"]
    body = await run(fake, slash("unsubscribe", {"topic": choice["value"]}))
    assert "Unsubscribed from “syria”" in body["data"]["content"]
    body = await run(fake, slash("unsubscribe", {"topic": "all"}))
    assert "Removed all your subscriptions (1)" in body["data"]["content"]


async def test_mute_and_unmute(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    await run(fake, slash("subscribe", {"topic": "syria"}))
    body = await run(fake, slash("mute", {"topic": "syria", "duration": "2h"}))
    assert "Muted “syria” until" in body["data"]["content"]
    body = await run(fake, slash("mute", {"topic": "syria", "duration": "2 parsecs"}))
    assert "Durations look like" in body["data"]["content"]
    body = await run(fake, slash("unmute", {"topic": "syria"}))
    assert "Unmuted “syria”" in body["data"]["content"]


async def test_summarize_private_by_default_public_on_request(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    body = await run(fake, slash("summarize", {"url": SEED_URL}))
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    (embed,) = body["data"]["embeds"]
    assert embed["title"] == "Putin orders partial withdrawal of Russian troops in Syria"
    assert embed["url"] == SEED_URL
    assert_no_mentions(body["data"])
    body = await run(fake, slash("summarize", {"url": SEED_URL, "public": True}))
    assert not body["data"].get("flags", 0) & EPHEMERAL
    assert body["data"]["embeds"][0]["footer"]["text"] == "france24.com"
    body = await run(fake, slash("summarize", {"url": "https://example.org/gone", "public": True}))
    assert "HTTP 404" in body["data"]["content"] and "embeds" not in body["data"]
    assert body["data"]["flags"] & EPHEMERAL


async def test_slow_summarize_is_deferred_then_followed_up(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    core.summarize_delay = DEFER_AFTER + 0.5
    payload = slash("summarize", {"url": SEED_URL, "public": True})
    started = time.monotonic()
    await fake.interact(payload)
    body = await fake.callback(payload["id"])
    deferred_after = time.monotonic() - started
    assert body["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("thinking")
    assert not (body.get("data") or {}).get("flags", 0) & EPHEMERAL
    assert deferred_after < core.summarize_delay
    follow = await fake.followup(payload["token"])
    assert follow["embeds"][0]["title"].startswith("Putin orders partial withdrawal")
    assert_no_mentions(follow)
    assert len(fake.callbacks(payload["id"])) == 1


async def test_summarize_link_message_command(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    message = fake.message_obj(str(CHANNEL_ID), {
        "content": f"Have you seen this? <{SEED_URL}>."
    }, author={"id": str(MEMBER_ID), "username": "m", "discriminator": "0", "avatar": None})
    body = await run(fake, message_command(message, user_id=MEMBER_ID, perms=MEMBER_PERMS))
    assert core.requests[-1].args == ("summarize", SEED_URL)
    assert body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"][0]["url"] == SEED_URL
    plain = fake.message_obj(str(CHANNEL_ID), {"content": "no link here"})
    body = await run(fake, message_command(plain))
    assert "no link" in body["data"]["content"]


# --- posts -----------------------------------------------------------------------------


def seed_card() -> Card:
    return parse_article(SEED, SEED_URL)


def channel(tenant: str = TENANT, ident: int = CHANNEL_ID) -> Destination:
    return Destination(tenant, "channel", str(ident))


async def subscribe(fake: FakeDiscord, topic: str) -> SubscriptionRef:
    await run(fake, slash("subscribe", {"topic": topic}))
    return SubscriptionRef("", topic, str(ADMIN_ID))


async def test_seed_article_posted_as_embed(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    await run(fake, slash("subscribe", {"topic": "syria"}))
    (sub,) = await core.ctx.subscriptions.list_for_user(TENANT, str(ADMIN_ID))
    post = Post(channel(), "article-1:channel", card=seed_card(), matched=("syria", "putin"),
                subscriptions=(SubscriptionRef(sub.id, sub.expression, sub.owner),))
    message_id = await adapter.post(post)
    (sent,) = fake.messages[str(CHANNEL_ID)]
    assert sent["id"] == message_id
    (embed,) = sent["embeds"]
    assert embed["title"] == "Putin orders partial withdrawal of Russian troops in Syria"
    assert embed["url"] == SEED_URL
    assert embed["description"].startswith("President Vladimir Putin flew into Syria")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Published"] == "2017-12-11"
    assert fields["Section"] == "Middle East"
    assert "**25** aircraft being withdrawn" in fields["Key figures"]
    assert fields["Matched"] == "syria, putin"
    assert embed["footer"]["text"] == "france24.com"
    (request,) = [r for r in fake.requests if r.path == f"/channels/{CHANNEL_ID}/messages"]
    assert_no_mentions(request.body)
    assert request.body["enforce_nonce"] is True and len(request.body["nonce"]) <= 25
    buttons = [c for row in sent["components"] for c in row["components"]]
    assert [(b["label"], b["custom_id"]) for b in buttons] == [
        ("Unsubscribe syria", f"newsbot:unsub:{GUILD_ID}:{sub.id}"),
        ("Mute 24 h", f"newsbot:mute:{GUILD_ID}:{sub.id}"),
    ]
    # A retried delivery carries the same nonce: Discord hands back the same message.
    assert await adapter.post(post) == message_id
    assert len(fake.messages[str(CHANNEL_ID)]) == 1


async def test_mentions_in_articles_ping_nobody(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    card = Card(headline="@everyone look", body="x", summary="@here <@123> and <@&456>",
                url="https://example.com/a", site="example.com")
    await adapter.post(Post(channel(), "k1", card=card, note="@everyone read <@!789>"))
    (request,) = [r for r in fake.requests if r.path == f"/channels/{CHANNEL_ID}/messages"]
    assert_no_mentions(request.body)
    content = request.body["content"]
    assert "@everyone" not in content and "<@!789>" not in content
    assert content == "@\u200beveryone read <@!\u200b789>"
    body = await run(fake, slash("subscribe", {"topic": "@everyone"}))
    assert_no_mentions(body["data"])
    assert "@everyone" not in body["data"]["content"]


async def test_429_on_channel_messages_is_retried_after_retry_after(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    path = f"/channels/{CHANNEL_ID}/messages"
    fake.fail_next(
        path, 429, {"message": "You are being rate limited.", "retry_after": 0.4,
                    "global": False},
        {"Retry-After": "0.4", "Via": "1.1 google", "X-RateLimit-Scope": "user",
         "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
         "X-RateLimit-Reset-After": "0.4", "X-RateLimit-Bucket": "abc"},
    )
    started = time.monotonic()
    message_id = await adapter.post(Post(channel(), "k429", card=seed_card()))
    assert time.monotonic() - started >= 0.4
    attempts = [r for r in fake.requests if r.path == path]
    assert [r.status for r in attempts] == [429, 200]
    assert fake.messages[str(CHANNEL_ID)][0]["id"] == message_id


async def test_gone_destinations_and_transient_errors(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    gone = channel(ident=999)
    with pytest.raises(DestinationGoneError) as info:
        await adapter.post(Post(gone, "k", card=seed_card()))
    assert info.value.destination == gone and "10003" in info.value.reason
    fake.fail_next(f"/channels/{CHANNEL_ID}/messages", 403,
                   {"message": "Missing Access", "code": 50001})
    with pytest.raises(DestinationGoneError, match="50001"):
        await adapter.post(Post(channel(), "k", card=seed_card()))
    fake.closed_dms.add(str(MEMBER_ID))
    dm = Destination(TENANT, "dm", str(MEMBER_ID))
    with pytest.raises(DestinationGoneError, match="50007"):
        await adapter.post(Post(dm, "k", card=seed_card()))
    fake.fail_next(f"/channels/{CHANNEL_ID}/messages", 503, {"message": "overloaded"})
    with pytest.raises(TransientPostError):
        await adapter.post(Post(channel(), "k", card=seed_card()))


async def test_dm_post_and_digest(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    from bot.chat.contract import DigestItem

    items = (
        *(DigestItem(f"Headline {n}", f"https://example.com/{n}", "example.com", ("syria",))
          for n in range(3)),
        DigestItem("No link", None, None, ()),
    )
    dm = Destination(TENANT, "dm", str(ADMIN_ID))
    await adapter.post(Post(dm, "digest-1", digest=items, digest_title="Daily: syria"))
    dm_channel = fake.dm_channels[str(ADMIN_ID)]
    (sent,) = fake.messages[dm_channel]
    (embed,) = sent["embeds"]
    assert embed["title"] == "Daily: syria"
    lines = embed["description"].splitlines()
    assert lines[0] == "• [Headline 0](https://example.com/0) — example.com · syria"
    assert lines[-1] == "• No link" and len(lines) == 4


async def test_button_press_unsubscribes_even_after_restart(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    await run(fake, slash("subscribe", {"topic": "syria"}))
    await run(fake, slash("subscribe", {"topic": "russia"}))
    subs = await core.ctx.subscriptions.list_for_user(TENANT, str(ADMIN_ID))
    refs = tuple(SubscriptionRef(s.id, s.expression, s.owner) for s in subs)
    await adapter.post(Post(channel(), "k", card=seed_card(), subscriptions=refs))
    (sent,) = fake.messages[str(CHANNEL_ID)]
    ids = [c["custom_id"] for row in sent["components"] for c in row["components"]]
    unsub_syria = next(i for i in ids if i.startswith("newsbot:unsub:")
                       and i.endswith(f":{subs[0].id}"))
    mute_russia = f"newsbot:mute:{GUILD_ID}:{subs[1].id}"
    assert mute_russia in ids
    # Someone who does not own it and cannot manage the channel is refused by the core.
    body = await run(fake, button_press(sent, unsub_syria, user_id=MEMBER_ID,
                                        perms=MEMBER_PERMS))
    assert "no subscription" in body["data"]["content"]
    body = await run(fake, button_press(sent, unsub_syria))
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert "Unsubscribed from “syria”" in body["data"]["content"]
    # A new process (new client, same fake Discord): the buttons still work.
    await adapter.close()
    restarted = await start_adapter(fake, core)
    try:
        body = await run(fake, button_press(sent, mute_russia))
        assert "Muted “russia” until" in body["data"]["content"]
    finally:
        await restarted.close()
    (left,) = await core.ctx.subscriptions.list_for_user(TENANT, str(ADMIN_ID))
    assert left.expression == "russia" and left.muted_until is not None


async def test_gateway_reconnect_resumes_without_losing_a_delivery(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    await fake.request_reconnect()
    # Dispatched while the bot is between sockets: Discord replays it on RESUME.
    payload = slash("list")
    await fake.interact(payload)
    posting = asyncio.create_task(adapter.post(Post(channel(), "during", card=seed_card())))
    body = await fake.callback(payload["id"])
    assert body["type"] == 4 and "No subscriptions yet" in body["data"]["content"]
    await posting
    assert len(fake.identifies) == 1
    (resume,) = fake.resumes
    assert resume["session_id"] == "session-1" and resume["seq"] >= 2
    assert len(fake.messages[str(CHANNEL_ID)]) == 1
    await fake.wait_until(lambda: adapter.connected)
    body = await run(fake, slash("list"))
    assert "No subscriptions yet" in body["data"]["content"]


async def test_read_messages_summarises_posted_links(
    fake: FakeDiscord, core: TestCore
) -> None:
    adapter = await start_adapter(fake, core, discord_read_messages=True)
    try:
        intents = fake.identifies[0]["intents"]
        assert intents & (1 << 15) and intents & (1 << 9)  # MESSAGE_CONTENT, GUILD_MESSAGES
        author = {"id": str(MEMBER_ID), "username": "m", "discriminator": "0",
                  "avatar": None}
        message = fake.message_obj(str(CHANNEL_ID), {"content": f"see {SEED_URL}"},
                                   author=author)
        await fake.dispatch("MESSAGE_CREATE", {**message, "guild_id": str(GUILD_ID)})
        (rec,) = await fake.wait_for(lambda r: r.path == f"/channels/{CHANNEL_ID}/messages")
        assert rec.body["embeds"][0]["url"] == SEED_URL
        assert str(rec.body["message_reference"]["message_id"]) == message["id"]
        assert_no_mentions(rec.body)
    finally:
        await adapter.close()


async def test_long_rate_limit_is_handed_back(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.fail_next(
        f"/channels/{CHANNEL_ID}/messages", 429,
        {"message": "You are being rate limited.", "retry_after": 120.0, "global": False},
        {"Retry-After": "120", "Via": "1.1 google"},
    )
    with pytest.raises(RateLimitedError) as info:
        await adapter.post(Post(channel(), "slow", card=seed_card()))
    assert info.value.retry_after == 120.0


async def test_bad_token_is_one_clear_error(fake: FakeDiscord, core: TestCore) -> None:
    fake.fail_next("/users/@me", 401, {"message": "401: Unauthorized", "code": 0})
    with pytest.raises(ConfigError, match="refused NEWSBOT_DISCORD_TOKEN"):
        await start_adapter(fake, core)
    assert "fake.token" not in repr(fake.requests[-1])  # nothing echoes the token back


async def test_sharded_client_identifies_each_shard(fake: FakeDiscord, core: TestCore) -> None:
    adapter = await start_adapter(fake, core, discord_shards=2)
    try:
        await fake.wait_until(lambda: len(fake.identifies) == 2, within=10)
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
        body = await run(fake, slash("list"))
        assert "No subscriptions yet" in body["data"]["content"]
    finally:
        await adapter.close()
    assert not adapter.connected


async def test_buttons_under_a_dm_post_act_in_the_guild_tenant(
    fake: FakeDiscord, adapter: DiscordAdapter, core: TestCore
) -> None:
    await run(fake, slash("subscribe", {"topic": "syria", "dm": True},
                          user_id=MEMBER_ID, perms=MEMBER_PERMS))
    (sub,) = await core.ctx.subscriptions.list_for_user(TENANT, str(MEMBER_ID))
    dm = Destination(TENANT, "dm", str(MEMBER_ID))
    ref = SubscriptionRef(sub.id, sub.expression, sub.owner)
    await adapter.post(Post(dm, "k", card=seed_card(), subscriptions=(ref,)))
    dm_channel = int(fake.dm_channels[str(MEMBER_ID)])
    (sent,) = fake.messages[str(dm_channel)]
    custom_id = sent["components"][0]["components"][0]["custom_id"]
    body = await run(fake, button_press(sent, custom_id, user_id=MEMBER_ID, guild=False,
                                        channel_id=dm_channel))
    assert "Unsubscribed from “syria” (your DMs)" in body["data"]["content"]
    assert core.requests[-1].tenant == TENANT and core.requests[-1].channel is None
    # A button of another server's post is refused, not run in the wrong tenant.
    foreign = custom_id.replace(f":{GUILD_ID}:", ":999:")
    button = {**sent["components"][0]["components"][0], "custom_id": foreign}
    copied = {**sent, "components": [{"type": 1, "components": [button]}]}
    body = await run(fake, button_press(copied, foreign))
    assert "another server" in body["data"]["content"]
