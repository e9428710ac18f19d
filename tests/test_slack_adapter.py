"""The Slack adapter end to end: the real bolt app and slack_sdk against a local fake Slack.

Requests are signed the way Slack signs them and sent over HTTP to bolt mounted on a
plain aiohttp app; the Web API, response URLs and the Socket Mode websocket are the fake
in ``tests/fakes/slack.py``; the core is the real command handler on the real Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.slack import SlackAdapter, build
from bot import parse_article
from bot.card import Card
from bot.chat.commands import CommandContext, handle, parse_command
from bot.chat.contract import (
    Adapter,
    Destination,
    DestinationGoneError,
    DigestItem,
    Post,
    PostError,
    RateLimitedError,
    Reply,
    Request,
    SubscriptionRef,
    TransientPostError,
)
from bot.errors import ConfigError, ParseError
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    action_body,
    action_payload,
    command_body,
    event_body,
    sign,
)

SEED = Path(__file__).parent / "data" / "seed_france24_putin_syria.txt"
SEED_URL = (
    "https://www.france24.com/en/20171211-putin-orders-partial-withdrawal-russian-troops-syria"
)
TENANT = f"slack:{TEAM}"
FORM = "application/x-www-form-urlencoded"


def said(request: Request) -> str:
    """What the person asked for: free text as typed, or a button's structured words."""
    return request.text or " ".join(request.args)


async def summarize(url: str) -> Card:
    """Stands in for fetching: France 24 links give the seed page's card."""
    if url.startswith("https://www.france24.com/"):
        return parse_article(SEED.read_text(encoding="utf-8"), SEED_URL)
    raise ParseError("That page does not look like an article.")


class Core:
    """The real command handler on the real store (``feed`` stands in until it lands)."""

    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        store = SubscriptionStore.from_settings(redis, settings)
        self.ctx = CommandContext(store, summarize=summarize)
        self.requests: list[Request] = []
        self.gate: asyncio.Event | None = None

    async def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        name, args = parse_command(request.text)
        if name == "feed":
            if not request.can_manage:
                return Reply("Only workspace admins can manage feeds.", ok=False)
            return Reply(f"Feed added: {args[-1]}")
        return await handle(self.ctx, request)


def slack_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "slack_managers": ["UMGR"],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Harness:
    fake: FakeSlack
    core: Core
    adapter: SlackAdapter
    server: TestServer
    session: aiohttp.ClientSession

    async def send(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST a body to /slack/events, signed unless ``headers`` are given."""
        hdrs = {"Content-Type": content_type, **(headers if headers is not None else sign(body))}
        url = str(self.server.make_url("/slack/events"))
        async with self.session.post(url, data=body.encode(), headers=hdrs) as resp:
            return resp.status, await resp.text()

    async def command(self, text: str, *, user: str = "U1", channel: str = "C1") -> dict[str, Any]:
        """Run ``/news text`` and return what the bot sent to the response_url."""
        before = len(self.fake.responses)
        body = command_body(text, user=user, channel=channel, response_url=self.fake.response_url())
        status, _ = await self.send(body, FORM)
        assert status == 200
        await self.fake.wait_for(lambda: len(self.fake.responses) > before)
        return self.fake.responses[before]

    async def press(self, payload: dict[str, Any]) -> None:
        status, _ = await self.send(action_body(payload), FORM)
        assert status == 200


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(admins={"UADMIN"})
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def slack(fake: FakeSlack, redis: aioredis.Redis) -> AsyncIterator[Harness]:
    settings = slack_settings(fake)
    core = Core(redis, settings)
    adapter = SlackAdapter(settings, core)
    app = web.Application()
    adapter.attach(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Harness(fake, core, adapter, server, session)
    finally:
        if core.gate is not None:
            core.gate.set()
        await session.close()
        await server.close()
        await adapter.close()


def all_text(obj: Any) -> str:
    """Every string inside a JSON-like structure, one per line."""
    if isinstance(obj, dict):
        return "\n".join(all_text(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return "\n".join(all_text(v) for v in obj)
    return str(obj)


def seed_card() -> Card:
    return parse_article(SEED.read_text(encoding="utf-8"), SEED_URL)


# --- commands ------------------------------------------------------------------------


async def test_subscribe_dm_answers_ephemerally_and_publishes_home(slack: Harness) -> None:
    out = await slack.command('subscribe "vladimir putin" dm digest:daily')
    assert out["response_type"] == "ephemeral"
    assert out["text"].startswith('Subscribed: news about "vladimir putin" will go to your DMs')
    request = slack.core.requests[0]
    assert (request.tenant, request.user, request.channel) == (TENANT, "U1", "C1")
    assert request.text == 'subscribe "vladimir putin" dm digest:daily'
    (publish,) = await slack.fake.wait_for(lambda: slack.fake.calls_to("views.publish"))
    assert publish.params["user_id"] == "U1" and publish.token == BOT_TOKEN
    view = publish.params["view"]
    assert view["type"] == "home"
    assert '*"vladimir putin"* → your DMs · daily digest' in all_text(view)
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["action_id"] for b in buttons} == {"newsbot_unsub", "newsbot_mute"}


async def test_ack_comes_before_the_work(slack: Harness) -> None:
    slack.core.gate = asyncio.Event()
    body = command_body("list", response_url=slack.fake.response_url())
    status, text = await asyncio.wait_for(slack.send(body, FORM), 2.5)
    assert status == 200 and text == ""
    assert slack.fake.responses == []  # the core has not answered yet
    slack.core.gate.set()
    await slack.fake.wait_for(lambda: slack.fake.responses)
    assert slack.fake.responses[0]["text"].startswith("No subscriptions yet")


async def test_channel_subscription_needs_admin_or_manager(slack: Harness) -> None:
    refused = await slack.command("subscribe syria", user="U1")
    assert refused["text"].startswith("Only people who can manage this channel")
    assert [c.params["user"] for c in slack.fake.calls_to("users.info")] == ["U1"]
    admin = await slack.command("subscribe syria", user="UADMIN")
    assert admin["text"].startswith("Subscribed: news about “syria” will go to this channel")
    manager = await slack.command("subscribe putin", user="UMGR")
    assert manager["text"].startswith("Subscribed: news about “putin”")
    # managers from NEWSBOT_SLACK_MANAGERS need no users.info look-up
    assert "UMGR" not in [c.params["user"] for c in slack.fake.calls_to("users.info")]
    listed = await slack.command("list", user="U1")
    assert "Also delivered to this channel:" in listed["text"]


async def test_list_mute_unmute_unsubscribe_help(slack: Harness) -> None:
    await slack.command("subscribe syria dm")
    await slack.command('subscribe "climate change" dm digest:hourly')
    listed = await slack.command("list")
    assert "“syria” → your DMs · instant" in listed["text"]
    assert '"climate change" → your DMs · hourly digest' in listed["text"]
    muted = await slack.command("mute syria 2h")
    assert muted["text"].startswith("Muted “syria” until ")
    unmuted = await slack.command("unmute syria")
    assert unmuted["text"] == "Unmuted “syria”."
    gone = await slack.command("unsubscribe all")
    assert gone["text"] == "Removed all your subscriptions (2)."
    helped = await slack.command("help")
    assert "`subscribe TOPIC`" in helped["text"]
    empty = await slack.command("")
    assert empty["text"] == helped["text"]


async def test_command_errors_are_clear(slack: Harness) -> None:
    unknown = await slack.command("frobnicate now")
    assert unknown["text"] == "I don't know `frobnicate`. Try `help`."
    duration = await slack.command("mute syria 2x")
    assert duration["text"] == "Durations look like 30m, 2h, 1d or 1w."
    nothing = await slack.command("unsubscribe nothing-here")
    assert nothing["text"].startswith("You have no subscription to “nothing-here”")
    empty = await slack.command("unsubscribe")
    assert empty["text"].startswith("Say what to unsubscribe from")
    topic = await slack.command('subscribe "" dm')
    assert topic["response_type"] == "ephemeral" and topic["text"]
    assert all(r["response_type"] == "ephemeral" for r in slack.fake.responses)
    # nothing changed, so no App Home publish
    assert slack.fake.calls_to("views.publish") == []


async def test_subscribe_in_a_dm_with_the_bot_goes_to_dms(slack: Harness) -> None:
    out = await slack.command("subscribe syria", channel="D0DM")
    assert "your DMs" in out["text"]
    assert slack.core.requests[0].channel is None


async def test_a_bare_link_is_summarized(slack: Harness) -> None:
    body = command_body(SEED_URL, response_url=slack.fake.response_url())
    status, ack = await slack.send(body, FORM)
    assert status == 200
    assert json.loads(ack) == {"text": "Reading that page…", "response_type": "ephemeral"}
    await slack.fake.wait_for(lambda: slack.fake.responses)
    out = slack.fake.responses[0]
    assert slack.core.requests[0].text == SEED_URL  # the core's grammar reads it as summarize
    assert out["blocks"][0]["type"] == "header"
    assert out["blocks"][0]["text"]["text"] == seed_card().headline
    assert out["text"].startswith("Putin orders partial withdrawal")
    assert out["response_type"] == "in_channel"  # a summary is for everyone in the channel
    assert [b["type"] for b in out["blocks"]] == ["header", "context", "section", "section"]
    refused = await slack.command("https://example.org/not-news")
    assert refused["text"] == "That page does not look like an article."
    assert refused["response_type"] == "ephemeral"


async def test_feed_commands_pass_through_to_the_core(slack: Harness) -> None:
    refused = await slack.command("feed add <https://news.example/rss.xml>")
    assert refused["text"] == "Only workspace admins can manage feeds."
    added = await slack.command("feed add https://news.example/rss.xml", user="UADMIN")
    assert added["text"] == "Feed added: https://news.example/rss.xml"
    texts = [said(r) for r in slack.core.requests]
    assert texts == ["feed add https://news.example/rss.xml"] * 2
    assert [r.can_manage for r in slack.core.requests] == [False, True]


# --- signatures ------------------------------------------------------------------------


async def test_bad_signature_and_stale_timestamp_are_refused(slack: Harness) -> None:
    body = command_body("unsubscribe all", response_url=slack.fake.response_url())
    forged = sign(body, secret="not-the-secret")
    assert (await slack.send(body, FORM, forged))[0] == 401
    stale = sign(body, timestamp=int(time.time()) - 6 * 60)
    assert (await slack.send(body, FORM, stale))[0] == 401
    tampered = sign(body)
    assert (await slack.send(body.replace("unsubscribe", "subscribe"), FORM, tampered))[0] == 401
    assert (await slack.send(body, FORM, {}))[0] == 401
    assert slack.core.requests == []
    assert (await slack.send(body, FORM))[0] == 200  # the same body, properly signed


async def test_url_verification(slack: Harness) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"})
    status, text = await slack.send(body, "application/json")
    assert status == 200 and json.loads(text) == {"challenge": "c-123"}


# --- buttons, App Home, unfurls ----------------------------------------------------------


async def test_card_buttons_mute_and_unsubscribe(slack: Harness, redis: aioredis.Redis) -> None:
    out = await slack.command("subscribe syria dm")
    sub_id = out["text"].rsplit("#", 1)[1].rstrip(").")
    url = slack.fake.response_url("button")
    await slack.press(action_payload("newsbot_mute", sub_id, response_url=url))
    await slack.fake.wait_for(lambda: len(slack.fake.responses) == 2)
    assert f"mute #{sub_id} 24h" in [said(r) for r in slack.core.requests]
    muted = slack.fake.responses[-1]
    assert muted["_rid"] == "button" and muted["text"].startswith("Muted “syria” until")
    assert muted["response_type"] == "ephemeral" and muted["replace_original"] is False
    store = SubscriptionStore(redis)
    sub = await store.get(TENANT, sub_id)
    assert sub is not None and sub.muted_until is not None
    assert sub.muted_until == pytest.approx(time.time() + 24 * 3600, abs=30)

    # someone else's press does nothing to U1's subscription
    await slack.press(action_payload("newsbot_unsub", sub_id, user="U2", response_url=url))
    await slack.fake.wait_for(lambda: len(slack.fake.responses) == 3)
    assert slack.fake.responses[-1]["text"].startswith("You have no subscription to")
    assert await store.get(TENANT, sub_id) is not None

    await slack.press(action_payload("newsbot_unsub", sub_id, response_url=url))
    await slack.fake.wait_for(lambda: len(slack.fake.responses) == 4)
    assert slack.fake.responses[-1]["text"] == "Unsubscribed from “syria” (your DMs)."
    assert await store.get(TENANT, sub_id) is None
    publishes = await slack.fake.wait_for(
        lambda: (
            len(slack.fake.calls_to("views.publish")) >= 3 and slack.fake.calls_to("views.publish")
        )
    )
    assert "No subscriptions yet" in all_text(publishes[-1].params["view"])


async def test_home_buttons_republish_the_home_tab(slack: Harness) -> None:
    out = await slack.command("subscribe syria dm")
    sub_id = out["text"].rsplit("#", 1)[1].rstrip(").")
    await slack.fake.wait_for(lambda: slack.fake.calls_to("views.publish"))
    await slack.press(action_payload("newsbot_unsub", sub_id, channel=None))
    await slack.fake.wait_for(lambda: len(slack.fake.calls_to("views.publish")) == 2)
    assert "No subscriptions yet" in all_text(slack.fake.calls_to("views.publish")[-1].params)
    assert len(slack.fake.responses) == 1  # no response_url from a view: nothing else sent


async def test_malformed_button_value_is_ignored(slack: Harness) -> None:
    await slack.command("subscribe syria dm")
    await slack.press(action_payload("newsbot_mute", "1 2h; x", response_url="x"))
    # a response_url that fails after ack() must not turn the ack into an error
    for _ in range(5):
        await slack.press(action_payload("newsbot_unsub", "all", response_url="x"))
    await slack.fake.wait_for(lambda: len(slack.core.requests) >= 7)
    texts = [said(r) for r in slack.core.requests]
    assert "mute #1 2h; x 24h" not in texts
    # "#all" is an id to the core (not the word "all"): nothing removed
    assert texts.count("unsubscribe #all") == 5
    listed = await slack.command("list")
    assert "“syria” → your DMs" in listed["text"]


def im_event(text: str, *, user: str = "U1", **extra: Any) -> dict[str, Any]:
    """A ``message.im`` event: someone typed into the bot's Messages tab."""
    return {"type": "message", "channel": "D0DM", "channel_type": "im", "user": user,
            "text": text, "ts": "1700000000.0001", "event_ts": "1700000000.0001", **extra}


async def test_a_command_typed_in_the_messages_tab_is_answered_there(slack: Harness) -> None:
    status, _ = await slack.send(event_body(im_event("subscribe syria")), "application/json")
    assert status == 200
    (answer,) = await slack.fake.wait_for(lambda: slack.fake.calls_to("chat.postMessage"))
    assert answer.params["channel"] == "D0DM"
    assert answer.params["text"].startswith("Subscribed: news about “syria” will go to your DMs")
    request = slack.core.requests[0]
    assert (request.tenant, request.user, request.channel) == (TENANT, "U1", None)
    # The same grammar as /news: a "/news" typed out of habit is fine too.
    await slack.send(event_body(im_event("/news list")), "application/json")
    await slack.fake.wait_for(lambda: len(slack.fake.calls_to("chat.postMessage")) == 2)
    assert "syria" in slack.fake.calls_to("chat.postMessage")[1].params["text"]
    # A DM needs no manager check.
    assert slack.fake.calls_to("users.info") == []


async def test_the_bots_own_and_edited_messages_are_not_commands(slack: Harness) -> None:
    for event in (im_event("list", bot_id="BBOT"), im_event("list", subtype="message_changed"),
                  {**im_event("list"), "channel_type": "channel", "channel": "C1"}):
        status, _ = await slack.send(event_body(event), "application/json")
        assert status == 200
    # Then one real DM: only it is answered.
    await slack.send(event_body(im_event("help")), "application/json")
    await slack.fake.wait_for(lambda: slack.fake.calls_to("chat.postMessage"))
    assert len(slack.core.requests) == 1 and slack.core.requests[0].text == "help"


@pytest.mark.parametrize("answer", ["html", "no-user", "refused"])
async def test_a_users_info_failure_means_not_a_manager_without_a_traceback(
        answer: str, redis: aioredis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.app import SlackListeners

    async def reply(request: web.Request) -> web.Response:
        if answer == "html":
            return web.Response(status=502, text="<html>Bad gateway</html>",
                                content_type="text/html")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/api/{method}", reply)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    port = server.port
    if answer == "refused":
        await server.close()  # nothing listens there any more
    client = AsyncWebClient(token=BOT_TOKEN, base_url=f"http://127.0.0.1:{port}/api/")
    listeners = SlackListeners(Core(redis, Settings(_env_file=None)), client)
    try:
        with caplog.at_level(logging.WARNING):
            assert await listeners.can_manage(TEAM, "U1") is False
    finally:
        if answer != "refused":
            await server.close()
    assert "users.info" in caplog.text
    assert all(r.exc_info is None for r in caplog.records)


async def test_app_home_opened_publishes_the_subscriptions(slack: Harness) -> None:
    await slack.command("subscribe syria dm")
    await slack.fake.wait_for(lambda: slack.fake.calls_to("views.publish"))
    event = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    status, _ = await slack.send(event_body(event), "application/json")
    assert status == 200
    calls = await slack.fake.wait_for(
        lambda: (
            len(slack.fake.calls_to("views.publish")) == 2 and slack.fake.calls_to("views.publish")
        )
    )
    assert calls[-1].params["user_id"] == "U1"
    assert "*syria* → your DMs" in all_text(calls[-1].params["view"])
    messages = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"}
    await slack.send(event_body(messages), "application/json")
    await asyncio.sleep(0.1)
    assert len(slack.fake.calls_to("views.publish")) == 2


async def test_link_shared_unfurls_news_links(slack: Harness) -> None:
    other = "https://www.france24.com/en/video/"  # stand-in core: same card, any f24 link
    event = {
        "type": "link_shared",
        "channel": "C1",
        "user": "U1",
        "message_ts": "1700000000.000100",
        "links": [
            {"domain": "france24.com", "url": SEED_URL},
            {"domain": "example.org", "url": "https://example.org/not-news"},
            {"domain": "france24.com", "url": SEED_URL},
        ],
    }
    status, _ = await slack.send(event_body(event), "application/json")
    assert status == 200
    (call,) = await slack.fake.wait_for(lambda: slack.fake.calls_to("chat.unfurl"))
    assert call.params["channel"] == "C1" and call.params["ts"] == "1700000000.000100"
    unfurls = call.params["unfurls"]
    assert list(unfurls) == [SEED_URL]
    assert unfurls[SEED_URL]["blocks"][0]["text"]["text"] == seed_card().headline
    assert [said(r) for r in slack.core.requests] == [
        f"summarize {SEED_URL}",
        "summarize https://example.org/not-news",
    ]
    composer = dict(event, unfurl_id="Uf1", source="composer", channel="COMPOSER")
    composer["links"] = [{"domain": "france24.com", "url": other}]
    await slack.send(event_body(composer), "application/json")
    calls = await slack.fake.wait_for(
        lambda: len(slack.fake.calls_to("chat.unfurl")) == 2 and slack.fake.calls_to("chat.unfurl")
    )
    assert calls[1].params["unfurl_id"] == "Uf1" and calls[1].params["source"] == "composer"


# --- posting ---------------------------------------------------------------------------


async def test_post_seed_card_to_a_channel(slack: Harness) -> None:
    post = Post(
        Destination(TENANT, "channel", "C1"),
        key="article1:channel:C1",
        card=seed_card(),
        matched=("syria", "putin"),
        subscriptions=(SubscriptionRef("7", "syria", "U1"),),
    )
    ts = await slack.adapter.post(post)
    (call,) = slack.fake.calls_to("chat.postMessage")
    assert ts == slack.fake.posted["C1"][0]["ts"]
    assert call.token == BOT_TOKEN
    params = call.params
    assert params["channel"] == "C1"
    assert (
        params["text"]
        == "Putin orders partial withdrawal of Russian troops in Syria (france24.com)"
    )
    assert params["unfurl_links"] is False
    assert params["metadata"]["event_payload"] == {"key": "article1:channel:C1"}
    kinds = [b["type"] for b in params["blocks"]]
    assert kinds == ["header", "context", "section", "section", "context", "actions"]
    assert params["blocks"][4]["elements"][0]["text"] == "matched: syria, putin"


async def test_post_escapes_mentions(slack: Harness) -> None:
    card = Card(headline="<!channel> says <@U123>", body="", summary="hi <!here> & bye")
    await slack.adapter.post(Post(Destination(TENANT, "channel", "C1"), "k", card=card))
    (call,) = slack.fake.calls_to("chat.postMessage")
    raw = all_text(call.params)
    assert "<!" not in raw and "<@" not in raw
    assert "&lt;!channel&gt; says &lt;@U123&gt;" in call.params["text"]


async def test_dm_post_opens_the_conversation_once(slack: Harness) -> None:
    dest = Destination(TENANT, "dm", "U5")
    items = (DigestItem("One", "https://a.example/1", "a.example", ("syria",)),)
    await slack.adapter.post(Post(dest, "d1", digest=items, digest_title="Daily digest"))
    await slack.adapter.post(Post(dest, "d2", card=seed_card()))
    assert [c.params["users"] for c in slack.fake.calls_to("conversations.open")] == ["U5"]
    posts = slack.fake.calls_to("chat.postMessage")
    assert [p.params["channel"] for p in posts] == ["DU5", "DU5"]
    assert posts[0].params["text"] == "Daily digest: 1 story"


async def test_a_429_is_handed_back_at_once_not_retried_by_slack_sdk(slack: Harness) -> None:
    # The delivery engine retries it within the bot's budget; slack_sdk would not.
    slack.fake.script("chat.postMessage", status=429, retry_after=2)
    with pytest.raises(RateLimitedError) as info:
        await slack.adapter.post(Post(Destination(TENANT, "channel", "C1"), "k", card=seed_card()))
    assert info.value.retry_after == 2
    assert len(slack.fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("method", "kind", "error", "status", "expected"),
    [
        ("chat.postMessage", "channel", "channel_not_found", 200, DestinationGoneError),
        ("chat.postMessage", "channel", "is_archived", 200, DestinationGoneError),
        ("chat.postMessage", "channel", "not_in_channel", 200, DestinationGoneError),
        ("conversations.open", "dm", "cannot_dm_bot", 200, DestinationGoneError),
        ("conversations.open", "dm", "user_not_found", 200, DestinationGoneError),
        ("chat.postMessage", "channel", "internal_error", 500, TransientPostError),
        ("chat.postMessage", "channel", "invalid_blocks", 200, PostError),
    ],
)
async def test_post_errors_are_translated(
    slack: Harness, method: str, kind: str, error: str, status: int, expected: type[Exception]
) -> None:
    slack.fake.script(method, error=error, status=status)
    dest = Destination(TENANT, kind, "C9" if kind == "channel" else "U9")  # type: ignore[arg-type]
    with pytest.raises(expected) as info:
        await slack.adapter.post(Post(dest, "k", card=seed_card()))
    assert type(info.value) is expected
    if isinstance(info.value, DestinationGoneError):
        assert info.value.reason == error and info.value.destination == dest


async def test_unreachable_api_is_transient(fake: FakeSlack, redis: aioredis.Redis) -> None:
    settings = slack_settings(fake, slack_api_url="http://127.0.0.1:9/api/")
    adapter = SlackAdapter(settings, Core(redis, settings))
    with pytest.raises(TransientPostError):
        await adapter.post(Post(Destination(TENANT, "channel", "C1"), "k", note="hi"))


# --- lifecycle, modes, secrets -------------------------------------------------------------


async def test_start_checks_the_token(fake: FakeSlack, redis: aioredis.Redis) -> None:
    settings = slack_settings(fake)
    adapter = SlackAdapter(settings, Core(redis, settings))
    assert not adapter.connected
    await adapter.start()
    assert adapter.connected and adapter.team_id == TEAM
    assert await adapter.post(Post(Destination(TENANT, "channel", "C1"), "k", note="hi"))
    await adapter.close()
    assert not adapter.connected
    fake.script("auth.test", error="invalid_auth")
    with pytest.raises(ConfigError, match="invalid_auth") as info:
        await adapter.start()
    assert BOT_TOKEN not in str(info.value)
    assert not adapter.connected


async def test_socket_mode_bad_app_token(fake: FakeSlack, redis: aioredis.Redis) -> None:
    settings = slack_settings(fake, slack_app_token=APP_TOKEN, slack_signing_secret=None)
    adapter = SlackAdapter(settings, Core(redis, settings))
    fake.script("apps.connections.open", error="invalid_auth")
    with pytest.raises(ConfigError, match="NEWSBOT_SLACK_APP_TOKEN: invalid_auth"):
        await adapter.start()
    assert not adapter.connected


def test_enabled_only_with_a_bot_token(fake: FakeSlack) -> None:
    assert build(Settings(_env_file=None), Core.__new__(Core)) is None
    adapter = build(slack_settings(fake), Core.__new__(Core))
    assert isinstance(adapter, SlackAdapter) and adapter.platform == "slack"
    assert isinstance(adapter, Adapter)
    assert not adapter.socket_mode


def test_socket_mode_mounts_no_route(fake: FakeSlack) -> None:
    settings = slack_settings(fake, slack_app_token=APP_TOKEN, slack_signing_secret=None)
    adapter = SlackAdapter(settings, Core.__new__(Core))
    assert adapter.socket_mode
    app = web.Application()
    adapter.attach(app)
    assert list(app.router.routes()) == []  # Socket Mode mounts nothing


async def test_socket_mode_command(fake: FakeSlack, redis: aioredis.Redis) -> None:
    settings = slack_settings(fake, slack_app_token=APP_TOKEN, slack_signing_secret=None)
    core = Core(redis, settings)
    adapter = SlackAdapter(settings, core)
    await adapter.start()
    try:
        (opened,) = fake.calls_to("apps.connections.open")
        assert opened.token == APP_TOKEN
        assert adapter.connected
        payload = {
            "team_id": TEAM,
            "channel_id": "C1",
            "channel_name": "general",
            "user_id": "U1",
            "command": "/news",
            "text": "subscribe syria dm",
            "response_url": fake.response_url("socket"),
            "trigger_id": "1.2.3",
            "api_app_id": "A0APP",
        }
        await fake.send_envelope("slash_commands", payload, "env-1")
        await fake.wait_for(lambda: "env-1" in fake.acks and fake.responses)
        assert fake.responses[0]["_rid"] == "socket"
        assert fake.responses[0]["text"].startswith("Subscribed: news about “syria”")
        event = {"type": "app_home_opened", "user": "U1", "tab": "home"}
        await fake.send_envelope(
            "events_api",
            {"type": "event_callback", "team_id": TEAM, "event": event, "event_id": "E2"},
            "env-2",
        )
        await fake.wait_for(lambda: len(fake.calls_to("views.publish")) >= 2)
    finally:
        await adapter.close()
    assert not adapter.connected


async def test_secrets_never_logged(slack: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await slack.command("subscribe syria dm")
    await slack.fake.wait_for(lambda: slack.fake.calls_to("views.publish"))
    await slack.adapter.post(Post(Destination(TENANT, "channel", "C1"), "k", note="hi"))
    slack.fake.script("chat.postMessage", error="channel_not_found")
    with pytest.raises(DestinationGoneError):
        await slack.adapter.post(Post(Destination(TENANT, "channel", "C2"), "k", note="hi"))
    assert caplog.records
    for secret in (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN):
        assert secret not in caplog.text
