"""Posts the way each community wants them (issue 19): role pings, managers roles, formats
and feed personas, from the grammar through the fan-out to the real discord.py, slack_sdk
and bolt clients at the local fake Discord and fake Slack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.console import ConsoleAdapter
from adapters.discord import DiscordAdapter
from adapters.discord.render import CONTENT_MAX, EMBED_TOTAL_MAX, embed_size, render_post
from adapters.slack import SlackAdapter
from adapters.slack.blocks import MAX_HEADER, MAX_TEXT, post_message
from bot import keys
from bot.card import Card, KeyFigure
from bot.chat.commands import CommandContext, handle
from bot.chat.contract import (
    Destination,
    Persona,
    Post,
    Reply,
    Request,
    Subscription,
    SubscriptionRef,
    role_id,
)
from bot.errors import CommandError
from bot.feeds import FeedOptions, parse_feed_add
from bot.feeds.options import split_clauses
from bot.feeds.store import FeedStore, destination_member
from bot.pipeline.outbox import post_from_json, post_to_json
from bot.pipeline.styles import PostStyles
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore, TenantSettings
from tests.fakes import HttpAdapter
from tests.fakes.discord import (
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_ID,
    MEMBER_PERMS,
    OTHER_CHANNEL_ID,
    FakeDiscord,
    slash,
)
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, command_body, sign
from tests.test_feeds import Rig, rig, server  # noqa: F401  (fixtures)

DTENANT = f"discord:{GUILD_ID}"
ROLE = 555555555555555555
HOSTILE = "@everyone <!channel> <@123> <@&777> look"


def big_card(**extra: Any) -> Card:
    """A card at every limit: long headline, summary, site and many key figures."""
    values: dict[str, Any] = {
        "headline": (HOSTILE + " " + "Headline words " * 60).strip(),
        "body": "x",
        "summary": "A long summary sentence with <@123> in it. " * 300,
        "url": "https://example.com/news/" + "a" * 300,
        "site": "example.com",
        "published": "2026-11-29T10:00:00+00:00",
        "section": "World " * 80,
        "key_figures": tuple(KeyFigure(f"{n}" * 40, "label " * 60, "s") for n in range(40)),
    }
    values.update(extra)
    return Card(**values)


def dchannel(ident: int = CHANNEL_ID) -> Destination:
    return Destination(DTENANT, "channel", str(ident))


# --- the contract, its codec and the grammar -------------------------------------------


def test_post_and_subscription_round_trip_with_pings_format_persona() -> None:
    post = Post(dchannel(), "a:k", card=big_card(), pings=("123", "456"), format="compact",
                persona=Persona("World desk", "https://example.com/a.png"))
    assert post_from_json(post_to_json(post)) == post
    plain = Post(dchannel(), "a:k", note="hi")
    assert "pings" not in post_to_json(plain) and post_from_json(post_to_json(plain)) == plain
    sub = Subscription("7", DTENANT, "U1", dchannel(), "syria", ping="123")
    assert Subscription.from_fields(sub.to_fields()) == sub
    assert "ping" not in Subscription("7", DTENANT, "U1", dchannel(), "syria").to_fields()


@pytest.mark.parametrize(("text", "expected"), [
    ("<@&123456>", "123456"), ("<!subteam^S0ABC12|@news>", "S0ABC12"),
    ("<!subteam^S0ABC12>", "S0ABC12"), ("123456", "123456"), ("S0ABC12", "S0ABC12"),
    ("@everyone", None), ("@here", None), ("<!channel>", None), ("<!here>", None),
    ("<@123456>", None), ("everyone", None), ("<!subteam^S1>|<!channel>", None),
])
def test_role_mentions_are_read_and_anything_else_refused(text: str, expected: str | None) -> None:
    assert role_id(text) == expected


def test_feed_add_clauses() -> None:
    url, options = parse_feed_add(["https://e.com/rss", "ping", "<@&42>", "FORMAT", "compact",
                                   "as", '"World desk"', "avatar", "https://e.com/logo.png"])
    assert url == "https://e.com/rss"
    assert options == FeedOptions(ping="42", format="compact", name="World desk",
                              avatar="https://e.com/logo.png")
    assert FeedOptions.from_stored(json.dumps(options.stored())) == options
    assert parse_feed_add(["https://e.com/rss"]) == ("https://e.com/rss", FeedOptions())
    # One word may hold them all (a quoted name stays one value); a Slack link is unwrapped.
    assert parse_feed_add(['<https://e.com/rss|e.com> as "Le Monde" format full']) == (
        "https://e.com/rss", FeedOptions(format="full", name="Le Monde"))
    assert split_clauses(["as", '"Le Monde"', "format", "full"]) == {
        "as": '"Le Monde"', "format": "full"}
    for bad in (["u", "ping", "@everyone"], ["u", "format", "huge"], ["u", "as", '"@here"'],
                ["u", "as", '"Discord news"'], ["u", "avatar", "http://e.com/x.png"],
                ["u", "ping", "<@&1>", "ping", "<@&2>"], ["u", "v", "format", "full"],
                ["u", "as", "Le", "Monde"], ["u", "format"]):
        with pytest.raises(CommandError):
            parse_feed_add(bad)


# --- the core: who may set a ping, who manages -----------------------------------------


def context(redis: aioredis.Redis) -> CommandContext:
    return CommandContext(SubscriptionStore(redis), tenants=TenantSettings(redis))


def req(text: str, *, manage: bool = False, roles: tuple[str, ...] = (),
        user: str = "U1", channel: str | None = "C1", tenant: str = DTENANT) -> Request:
    return Request(tenant, user, channel, manage, text=text, roles=roles)


async def test_only_managers_set_a_ping_and_never_on_everyone(redis: aioredis.Redis) -> None:
    ctx = context(redis)
    refused = await handle(ctx, req("subscribe syria ping <@&123>"))
    assert not refused.ok and "manage" in refused.text
    assert await ctx.subscriptions.list_for_user(DTENANT, "U1") == []
    for bad in ("@everyone", "<!channel>", "<@42>", f"<@&{GUILD_ID}>"):
        reply = await handle(ctx, req(f"subscribe syria ping {bad}", manage=True))
        assert not reply.ok and "never @everyone" in reply.text, bad
    dm = await handle(ctx, req("subscribe syria dm ping <@&123>", manage=True))
    assert not dm.ok and "DMs" in dm.text
    done = await handle(ctx, req("subscribe syria ping <@&123>", manage=True))
    assert done.ok and "pinging 123" in done.text
    (sub,) = await ctx.subscriptions.list_for_user(DTENANT, "U1")
    assert sub.ping == "123" and sub.expression == "syria"
    listed = await handle(ctx, req("list"))
    assert "pings 123" in listed.text
    pong = await handle(ctx, req("subscribe table tennis ping pong", manage=True))
    assert pong.ok and "table tennis ping pong" in pong.text


async def test_a_managers_role_grants_rights_and_only_admins_name_it(
    redis: aioredis.Redis,
) -> None:
    ctx = context(redis)
    editor = {"user": "U2", "roles": ("900",)}
    before = await handle(ctx, req("subscribe syria ping <@&123>", **editor))  # type: ignore[arg-type]
    assert not before.ok
    # Without admin rights nobody names a managers role, not even its own members.
    assert not (await handle(ctx, req("managers add <@&900>", **editor))).ok  # type: ignore[arg-type]
    assert (await handle(ctx, req("managers add <@&900>", manage=True))).ok
    assert "900" in (await handle(ctx, req("managers list"))).text
    after = await handle(ctx, req("subscribe syria ping <@&123>", **editor))  # type: ignore[arg-type]
    assert after.ok, after.text
    assert not (await handle(ctx, req("managers remove <@&900>", **editor))).ok  # type: ignore[arg-type]
    fmt = await handle(ctx, req("format compact", **editor))  # type: ignore[arg-type]
    assert fmt.ok
    # The role counts in its own tenant only, and only while it is named.
    other = await handle(ctx, req("format headline", tenant="discord:9", **editor))  # type: ignore[arg-type]
    assert not other.ok
    assert (await handle(ctx, req("managers remove <@&900>", manage=True))).ok
    assert not (await handle(ctx, req("format full", **editor))).ok  # type: ignore[arg-type]


async def test_channel_format_command(redis: aioredis.Redis) -> None:
    ctx = context(redis)
    assert not (await handle(ctx, req("format compact"))).ok
    assert not (await handle(ctx, req("format huge", manage=True))).ok
    assert (await handle(ctx, req("format compact", manage=True))).ok
    assert await ctx.tenants.channel_format(DTENANT, "C1") == "compact"  # type: ignore[union-attr]
    assert "compact" in (await handle(ctx, req("format"))).text
    assert (await handle(ctx, req("format full", manage=True))).ok
    assert not await redis.hlen(keys.channel_formats_key(DTENANT))


# --- the fan-out: each channel's format, pings and a feed's persona ----------------------


async def test_styles_apply_channel_format_sub_pings_and_feed_options(
    redis: aioredis.Redis,
) -> None:
    store = SubscriptionStore(redis)
    tenants = TenantSettings(redis)
    here, there = dchannel(), dchannel(OTHER_CHANNEL_ID)
    pinging = await store.add(DTENANT, "U1", here, "syria", ping="123")
    quiet = await store.add(DTENANT, "U1", here, "putin")
    await tenants.set_channel_format(DTENANT, here.id, "compact")
    options = FeedOptions(ping="456", format="headline", name="World desk",
                          avatar="https://e.com/a.png")
    await redis.hset(keys.feed_options_key("f1"), destination_member(there),
                     json.dumps(options.stored()))
    dm = Destination(DTENANT, "dm", "U1")
    refs = tuple(SubscriptionRef(s.id, s.expression, s.owner) for s in (pinging, quiet))
    posts = [Post(here, "a:1", note="x", subscriptions=refs), Post(there, "a:2", note="x"),
             Post(dm, "a:3", note="x")]
    out = await PostStyles(redis).apply(posts, "f1")
    assert (out[0].format, out[0].pings, out[0].persona) == ("compact", ("123",), None)
    assert (out[1].format, out[1].pings) == ("headline", ("456",))
    assert out[1].persona == Persona("World desk", "https://e.com/a.png")
    assert out[2] == posts[2]  # a DM is never styled
    plain = await PostStyles(redis).apply(posts[1:2])  # not from the feed: no options
    assert plain[0] == posts[1]


async def test_feed_options_are_stored_with_the_add_and_go_with_the_channel(
    redis: aioredis.Redis,
) -> None:
    store = FeedStore(redis)
    here = dchannel()
    options = FeedOptions(ping="42", format="compact")
    assert await store.add("f1", here, {"url": "https://e.com/rss"}, [], next_poll_at=0,
                           max_per_channel=5, options=options) == "added"
    assert FeedOptions.from_stored(await store.options("f1", here)) == options
    # Re-adding without options keeps them; with options replaces them.
    assert await store.add("f1", here, {}, [], next_poll_at=0, max_per_channel=5) == "already"
    assert FeedOptions.from_stored(await store.options("f1", here)) == options
    await store.add("f1", here, {}, [], next_poll_at=0, max_per_channel=5,
                    options=FeedOptions(format="headline"))
    assert FeedOptions.from_stored(await store.options("f1", here)) == FeedOptions(
        format="headline")
    await store.remove("f1", here)
    assert not await redis.exists(keys.feed_options_key("f1"))


# --- rendering within each platform's limits --------------------------------------------


@pytest.mark.parametrize("fmt", ["full", "compact", "headline"])
def test_every_format_fits_discord_and_slack(fmt: str) -> None:
    card = big_card()
    post = Post(dchannel(), "k", card=card, format=fmt, pings=("123",),  # type: ignore[arg-type]
                note="updated " * 400, matched=("syria",))
    message = render_post(post)
    assert message.content is not None and len(message.content) <= CONTENT_MAX
    assert message.content.startswith("<@&123>")
    assert "@everyone" not in message.content and "<@123>" not in message.content
    if fmt == "full":
        assert message.embed is not None and embed_size(message.embed) <= EMBED_TOTAL_MAX
        assert len(message.embed.description or "") <= 4096
        assert all(len(f.value or "") <= 1024 for f in message.embed.fields)
        assert len(message.embed.fields) <= 25
    else:
        assert message.embed is None
        assert "Headline words" in message.content
    text, blocks = post_message(Post(Destination("slack:T", "channel", "C1"), "k", card=card,
                                     format=fmt, pings=("S0NEWS",)))  # type: ignore[arg-type]
    assert len(text) <= MAX_TEXT and len(blocks) <= 50
    assert blocks[0]["text"]["text"] == "<!subteam^S0NEWS>"
    for block in blocks:
        inner = block.get("text") or {}
        limit = MAX_HEADER if block["type"] == "header" else MAX_TEXT
        assert len(inner.get("text", "")) <= limit
    body = json.dumps(blocks[1:])
    assert "<!channel>" not in body and "<@123>" not in body and "<!subteam" not in body


def test_compact_and_headline_lines() -> None:
    card = Card(headline="Putin in Syria", body="x", url="https://e.com/a", site="e.com",
                published="2017-12-11T10:00:00+00:00")
    compact = render_post(Post(dchannel(), "k", card=card, format="compact"))
    assert compact.content == "**Putin in Syria** · e.com · 2017-12-11 <https://e.com/a>"
    headline = render_post(Post(dchannel(), "k", card=card, format="headline"))
    assert headline.content == "[Putin in Syria](<https://e.com/a>)"
    _text, blocks = post_message(Post(Destination("slack:T", "channel", "C1"), "k", card=card,
                                      format="compact"))
    assert blocks == [{"type": "section", "text": {
        "type": "mrkdwn", "text": "*<https://e.com/a|Putin in Syria>* · e.com · 11 Dec 2017"}}]


async def test_console_shows_format_pings_and_persona() -> None:
    console = ConsoleAdapter.__new__(ConsoleAdapter)
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    console.console = Console(file=out, width=120, color_system=None)
    import asyncio
    console._print_lock = asyncio.Lock()
    card = Card(headline="Putin in Syria", body="x", url="https://e.com/a", site="e.com")
    await console.post(Post(Destination("console:local", "channel", "news"), "k", card=card,
                            format="compact", pings=("editors",),
                            persona=Persona("World desk")))
    text = out.getvalue()
    assert "[bot as World desk → #news] @editors" in text
    assert "Putin in Syria · e.com https://e.com/a" in text


# --- Discord: real discord.py at the fake ------------------------------------------------


class Core:
    """The real command handler with tenants (managers, formats) on the real Redis."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.ctx = context(redis)

    async def handle(self, request: Request) -> Reply:
        return await handle(self.ctx, request)


@pytest.fixture
async def dfake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def discord_bot(dfake: FakeDiscord, redis: aioredis.Redis) -> AsyncIterator[DiscordAdapter]:
    settings = Settings(_env_file=None, discord_token="MTExMTExMTExMTExMTExMTEx.fake.token",
                        discord_api_base=dfake.api_base, discord_gateway_url=dfake.gateway_url,
                        discord_dev_guild=GUILD_ID)
    adapter = DiscordAdapter(settings, Core(redis), defer_after=5.0, ready_timeout=10,
                             client_options={"guild_ready_timeout": 0.05})
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


def sent_to(fake: FakeDiscord, channel: int = CHANNEL_ID) -> list[Any]:
    return [r.body for r in fake.requests
            if r.method == "POST" and r.path == f"/channels/{channel}/messages"]


async def test_discord_role_ping_reaches_only_that_role(
    dfake: FakeDiscord, discord_bot: DiscordAdapter,
) -> None:
    card = Card(headline=HOSTILE, body="x", summary=HOSTILE, url="https://e.com/a",
                site="e.com")
    await discord_bot.post(Post(dchannel(), "k1", card=card, pings=(str(ROLE),)))
    await discord_bot.post(Post(dchannel(), "k2", card=card, format="compact"))
    pinging, quiet = sent_to(dfake)
    # Exactly that role may ping: no parse of everyone/users/roles in the text.
    assert pinging["allowed_mentions"] == {"parse": [], "roles": [ROLE]}
    assert pinging["content"] == f"<@&{ROLE}>"
    # Embed text never pings on Discord; the allowed mentions above hold for the content.
    assert pinging["embeds"][0]["title"] == HOSTILE
    assert quiet["allowed_mentions"]["parse"] == [] and "roles" not in quiet["allowed_mentions"]
    assert "<@123>" not in quiet["content"] and "<@&777>" not in quiet["content"]


def with_role_option(payload: dict[str, Any], name: str, role: int) -> dict[str, Any]:
    """Add a ROLE option (type 8) to a slash payload, resolved as Discord sends it."""
    inner = payload["data"]["options"][0]
    while inner["options"] and inner["options"][0].get("type") in (1, 2):
        inner = inner["options"][0]
    inner["options"].append({"type": 8, "name": name, "value": str(role)})
    payload["data"]["resolved"] = {"roles": {str(role): {
        "id": str(role), "name": "editors", "permissions": "0", "position": 1, "color": 0,
        "hoist": False, "managed": False, "mentionable": True, "flags": 0}}}
    return payload


async def interact(fake: FakeDiscord, payload: dict[str, Any]) -> str:
    await fake.interact(payload)
    body = await fake.callback(payload["id"])
    return str(body["data"].get("content") or "")


async def test_discord_managers_role_grants_rights(
    dfake: FakeDiscord, discord_bot: DiscordAdapter, redis: aioredis.Redis,
) -> None:
    def as_editor(payload: dict[str, Any]) -> dict[str, Any]:
        payload["member"]["roles"] = [str(ROLE)]
        return payload

    sub = slash("subscribe", {"topic": "syria"}, user_id=MEMBER_ID, perms=MEMBER_PERMS)
    refused = await interact(dfake, as_editor(with_role_option(sub, "ping", 888)))
    assert "Only" in refused and "manage" in refused
    # A member (even one holding the role) cannot name a managers role; an admin can.
    add = slash("managers add", {}, user_id=MEMBER_ID, perms=MEMBER_PERMS)
    text = await interact(dfake, as_editor(with_role_option(add, "role", ROLE)))
    assert "Only admins" in text
    text = await interact(dfake, with_role_option(slash("managers add", {}), "role", ROLE))
    assert f"Members of {ROLE} now manage here" in text
    sub = slash("subscribe", {"topic": "syria"}, user_id=MEMBER_ID, perms=MEMBER_PERMS)
    done = await interact(dfake, as_editor(with_role_option(sub, "ping", 888)))
    assert "pinging 888" in done
    # The same member without the role is refused again.
    plain = slash("subscribe", {"topic": "putin"}, user_id=MEMBER_ID, perms=MEMBER_PERMS)
    again = await interact(dfake, plain)
    assert "Only people who can manage" in again
    everyone = await interact(dfake, with_role_option(slash("subscribe", {"topic": "putin"}),
                                                      "ping", GUILD_ID))
    assert "needs a role or user group" in everyone


async def test_discord_feed_persona_through_one_reused_webhook(
    dfake: FakeDiscord, discord_bot: DiscordAdapter,
) -> None:
    card = Card(headline="Putin in Syria", body="x", url="https://e.com/a", site="e.com")
    persona = Persona("World desk", "https://e.com/logo.png")
    for n in range(2):
        await discord_bot.post(Post(dchannel(), f"k{n}", card=card, persona=persona,
                                    pings=(str(ROLE),)))
    made = [r for r in dfake.requests
            if r.method == "POST" and r.path == f"/channels/{CHANNEL_ID}/webhooks"]
    assert len(made) == 1  # created once, then reused
    executed = [r for r in dfake.requests if r.method == "POST"
                and r.path.startswith("/webhooks/") and r.path.split("/")[2] in dfake.webhooks]
    assert len(executed) == 2
    for request in executed:
        assert request.body["username"] == "World desk"
        assert request.body["avatar_url"] == "https://e.com/logo.png"
        assert request.body["allowed_mentions"]["roles"] == [ROLE]
        assert request.body["allowed_mentions"]["parse"] == []
    assert sent_to(dfake) == []
    posted = dfake.messages[str(CHANNEL_ID)]
    assert [m["author"]["username"] for m in posted] == ["World desk", "World desk"]


async def test_discord_persona_falls_back_without_manage_webhooks(
    dfake: FakeDiscord, discord_bot: DiscordAdapter,
) -> None:
    dfake.no_webhook_channels.add(str(CHANNEL_ID))
    card = Card(headline="Putin in Syria", body="x", url="https://e.com/a", site="e.com")
    for n in range(2):
        await discord_bot.post(Post(dchannel(), f"k{n}", card=card,
                                    persona=Persona("World desk")))
    plain = sent_to(dfake)
    assert len(plain) == 2 and all("username" not in b for b in plain)
    assert dfake.webhooks == {}
    # Asked once, not before every post.
    asked = [r for r in dfake.requests if r.path == f"/channels/{CHANNEL_ID}/webhooks"]
    assert len(asked) == 1 and asked[0].status == 403


async def test_discord_persona_falls_back_where_webhooks_are_refused_otherwise(
    dfake: FakeDiscord, discord_bot: DiscordAdapter,
) -> None:
    """A thread (or anything else answering 400) has no webhook of its own: a normal post."""
    dfake.fail_next(f"/channels/{CHANNEL_ID}/webhooks", 400,
                    {"message": "Invalid channel type", "code": 50024})
    card = Card(headline="Putin in Syria", body="x", url="https://e.com/a", site="e.com")
    await discord_bot.post(Post(dchannel(), "k", card=card, persona=Persona("World desk")))
    assert len(sent_to(dfake)) == 1 and dfake.webhooks == {}


async def test_discord_deleted_webhook_is_retried_not_a_gone_channel(
    dfake: FakeDiscord, discord_bot: DiscordAdapter,
) -> None:
    from bot.chat.contract import TransientPostError

    card = Card(headline="Putin in Syria", body="x", url="https://e.com/a", site="e.com")
    post = Post(dchannel(), "k", card=card, persona=Persona("World desk"))
    await discord_bot.post(post)
    (hook_id,) = dfake.webhooks
    dfake.fail_next(f"/webhooks/{hook_id}/{dfake.webhooks[hook_id]['token']}", 404,
                    {"message": "Unknown Webhook", "code": 10015})
    with pytest.raises(TransientPostError):
        await discord_bot.post(post)
    await discord_bot.post(post)  # a new webhook is looked up
    assert len([m for m in dfake.messages[str(CHANNEL_ID)]]) == 2


# --- Slack: real bolt and slack_sdk at the fake ------------------------------------------


@pytest.fixture
async def sfake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(admins={"UADMIN"})
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def slack_bot(sfake: FakeSlack, redis: aioredis.Redis
                    ) -> AsyncIterator[tuple[SlackAdapter, TestServer]]:
    settings = Settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                        slack_signing_secret=SIGNING_SECRET, slack_api_url=sfake.api_url)
    adapter = SlackAdapter(settings, Core(redis))
    app = web.Application()
    adapter.attach(app)
    http = TestServer(app, host="127.0.0.1")
    await http.start_server()
    try:
        yield adapter, http
    finally:
        await http.close()
        await adapter.close()


async def slack_command(sfake: FakeSlack, http: TestServer, text: str, user: str) -> str:
    import aiohttp

    before = len(sfake.responses)
    body = command_body(text, user=user, channel="C1", response_url=sfake.response_url())
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    async with aiohttp.ClientSession() as session, session.post(
            str(http.make_url("/slack/events")), data=body.encode(), headers=headers) as resp:
        assert resp.status == 200
    await sfake.wait_for(lambda: len(sfake.responses) > before)
    return str(sfake.responses[before]["text"])


async def test_slack_user_group_manages_and_pings_only_itself(
    sfake: FakeSlack, slack_bot: tuple[SlackAdapter, TestServer],
) -> None:
    adapter, http = slack_bot
    group = "<!subteam^S0EDIT|@editors>"
    refused = await slack_command(sfake, http, f"subscribe syria ping {group}", "UED")
    assert "Only" in refused
    assert "Only admins" in await slack_command(sfake, http, f"managers add {group}", "UED")
    assert "now manage" in await slack_command(sfake, http, f"managers add {group}", "UADMIN")
    sfake.usergroups["S0EDIT"] = ("editors", ["UED"])
    adapter.listeners._group_cache.clear()  # the cache would answer for 5 minutes
    # Typed by its handle (the command text is not escaped): the adapter finds its id.
    done = await slack_command(sfake, http, "subscribe syria ping @editors", "UED")
    assert "pinging S0EDIT" in done
    unknown = await slack_command(sfake, http, "subscribe putin ping @nobody", "UED")
    assert "needs a role or user group" in unknown
    assert sfake.calls_to("usergroups.list")
    card = Card(headline=HOSTILE, body="x", summary=HOSTILE, url="https://e.com/a",
                site="e.com")
    await adapter.post(Post(Destination("slack:T0TEAM", "channel", "C1"), "k", card=card,
                            pings=("S0EDIT",), format="compact"))
    (call,) = sfake.calls_to("chat.postMessage")
    blocks = call.params["blocks"]
    assert blocks[0]["text"]["text"] == "<!subteam^S0EDIT>"
    rest = json.dumps(blocks[1:]) + str(call.params["text"]).replace("<!subteam^S0EDIT>", "")
    for ping in ("<!channel>", "<@123>", "<!subteam", "<!everyone>"):
        assert ping not in rest
    assert "&lt;!channel&gt;" in rest


def test_discord_embed_limits_hold_for_a_hostile_full_card() -> None:
    message = render_post(Post(dchannel(), "k", card=big_card(), pings=(str(ROLE),)))
    assert isinstance(message.embed, discord.Embed)
    assert embed_size(message.embed) <= EMBED_TOTAL_MAX
    assert message.allowed.roles == [discord.Object(id=ROLE)]
    assert message.allowed.everyone is False and message.allowed.users is False


# --- end to end: a feed's options and a subscription's ping through the pipeline ---------


async def test_feed_options_reach_the_posted_post(rig: Rig) -> None:  # noqa: F811
    from tests.test_feeds import C1, C2, T0, G, _feed

    await SubscriptionStore(rig.redis).add(G, "u9", C2, "news", ping="77")
    feed = _feed(rig.server, "/opts", "rss", [1])
    url = rig.server.url("/opts")
    refused = await rig.cmd(f"feed add {url} ping <@&42>", manage=False)
    assert not refused.ok
    reply = await rig.cmd(f'feed add {url} ping <@&42> format compact as "World desk"')
    assert reply.ok and "Options: ping 42 format compact" in reply.text, reply.text
    listed = await rig.cmd("feed list")
    assert 'ping 42 format compact as "World desk"' in listed.text
    feed.entries.insert(0, rig.server.entry("/opts/a2", 2, T0 + 600))
    assert (await rig.poll()).new_items == 1
    await rig.settle()
    (adapter,) = [a for a in rig.bot.adapters.values() if isinstance(a, HttpAdapter)]
    by_channel = {p.destination: p for p in adapter.sent}
    feed_post = by_channel[C1]
    assert (feed_post.pings, feed_post.format) == (("42",), "compact")
    assert feed_post.persona == Persona("World desk")
    sub_post = by_channel[C2]  # the matching subscription elsewhere: its own ping only
    assert (sub_post.pings, sub_post.format, sub_post.persona) == (("77",), "full", None)
    # A pause keeps the channel's options for the resume; removing it for good drops them.
    store = rig.bot.feed_store
    feed_id = (await rig.bot.feeds.list(C1))[0].id

    async def kept() -> FeedOptions:
        return FeedOptions.from_stored(await store.options(feed_id, C1))

    assert await rig.bot.feeds.pause(C1, url) is not None
    assert (await kept()).ping == "42"
    assert await rig.bot.feeds.resume(C1, url) is not None
    assert (await kept()).format == "compact"
    await rig.bot.feeds.pause(C1, url)
    assert await rig.bot.feeds.forget_paused(C1, url)
    assert await kept() == FeedOptions()


def test_format_examples_in_docs_are_current(tmp_path: Any) -> None:
    """docs/formats/ is what ``python docs/make_examples.py`` writes today."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    script = root / "docs" / "make_examples.py"
    spec = importlib.util.spec_from_file_location("make_examples", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write_formats(module.seed_card(), tmp_path)
    assert len(written) == 9
    for path in written:
        assert path.read_text() == (root / "docs" / "formats" / path.name).read_text(), path.name
    compact = json.loads((tmp_path / "discord-compact.json").read_text())
    assert compact["embeds"] == [] and len(compact["content"]) <= CONTENT_MAX


async def test_discord_feed_add_options_reach_the_core(
    dfake: FakeDiscord, discord_bot: DiscordAdapter,
) -> None:
    seen: list[Request] = []
    core = discord_bot.client.core
    original = core.handle

    async def spy(request: Request) -> Reply:
        seen.append(request)
        return await original(request)

    core.handle = spy  # type: ignore[method-assign]
    payload = slash("feed add", {"url": "https://e.com/rss", "format": "compact",
                                 "name": "World desk", "avatar": "https://e.com/a.png"})
    await interact(dfake, with_role_option(payload, "ping", 888))
    (request,) = seen
    assert request.args == ("feed", "add", "https://e.com/rss", "ping", "<@&888>", "format",
                            "compact", "as", '"World desk"', "avatar", "https://e.com/a.png")
    assert parse_feed_add(request.args[2:])[1] == FeedOptions(
        ping="888", format="compact", name="World desk", avatar="https://e.com/a.png")
