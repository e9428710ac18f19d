"""What the HTTP side accepts: whole bodies however they arrive, sizes per route, and hostile
input answered with a 4xx and one readable line, never a 500 or a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from adapters.slack import SlackAdapter, blocks
from bot import keys
from bot.chat.contract import Destination, Subscription
from bot.httpserver import HttpServer, build_app
from bot.metrics import Metrics
from bot.pipeline.ingest import Ingest
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack, action_payload, sign

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _health() -> dict[str, Any]:
    return {"ok": True}


@pytest.fixture
async def links(redis: aioredis.Redis) -> AsyncIterator[HttpServer]:
    app = build_app(ingest=Ingest(redis, Metrics(), maxlen=100), metrics=Metrics(),
                    health=_health, token=SecretStr(TOKEN))
    http = HttpServer(app, "127.0.0.1", 0)
    await http.start()
    yield http
    await http.stop()


async def _raw_post(port: int, path: str, headers: dict[str, str], parts: list[bytes],
                    gap_s: float) -> tuple[int, bytes]:
    """POST ``parts`` as separate TCP segments ``gap_s`` apart; the status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    size = sum(len(p) for p in parts)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {size}",
            "Connection: close", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    writer.write("\r\n".join(head).encode())
    for i, part in enumerate(parts):
        if i:
            await asyncio.sleep(gap_s)
        writer.write(part)
        await writer.drain()
    response = await reader.read()
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_a_body_in_two_segments_is_read_whole(links: HttpServer,
                                                    redis: aioredis.Redis) -> None:
    body = json.dumps({"url": "https://example.org/news/" + "a" * 180,
                       "tenant": "slack:T0123"}).encode()
    assert 200 < len(body) < 300
    assert links.port is not None
    status, answer = await _raw_post(
        links.port, "/v1/links", {**AUTH, "Content-Type": "application/json"},
        [body[:100], body[100:]], gap_s=0.05)
    assert status == 202, answer
    assert int(await redis.xlen(keys.INGEST_STREAM)) == 1


async def test_deeply_nested_json_is_a_400(links: HttpServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    body = "[" * 8000 + "]" * 8000
    async with aiohttp.ClientSession() as http, http.post(
            links.url + "/v1/links", data=body, headers=AUTH) as resp:
        assert resp.status == 400
        assert "JSON" in (await resp.json())["error"]
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("tenant", ["slack", "discord:", "x:a b", "discord:1\x00",
                                    "{t:evil}", "discord:" + "1" * 65, "DISCORD:1"])
async def test_a_malformed_tenant_is_a_400(links: HttpServer, redis: aioredis.Redis,
                                           tenant: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            links.url + "/v1/links", json={"url": "https://example.org/a", "tenant": tenant},
            headers=AUTH) as resp:
        assert resp.status == 400
        assert "platform:id" in (await resp.json())["error"]
    assert int(await redis.xlen(keys.INGEST_STREAM)) == 0


async def test_well_formed_tenants_are_accepted(links: HttpServer) -> None:
    async with aiohttp.ClientSession() as http:
        for tenant in ("discord:123456789012345678", "slack:T0TEAM", "console:local",
                       "discord:dm"):
            async with http.post(links.url + "/v1/links", headers=AUTH,
                                 json={"url": "https://example.org/a", "tenant": tenant}) as resp:
                assert resp.status == 202, tenant


# --- Slack's route: its own size limit, and no traceback for a malformed header ----------


def slack_settings(fake: FakeSlack) -> Settings:
    return Settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                    slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url)


class _Core:
    def __init__(self, store: SubscriptionStore) -> None:
        from bot.chat.commands import CommandContext

        self.ctx = CommandContext(store)

    async def handle(self, request: Any) -> Any:
        from bot.chat.commands import handle

        return await handle(self.ctx, request)


@pytest.fixture
async def bot_app(redis: aioredis.Redis) -> AsyncIterator[tuple[HttpServer, FakeSlack]]:
    """The bot's own HTTP app (its limits) with Slack's route mounted, as in HTTP mode."""
    fake = FakeSlack()
    await fake.start()
    adapter = SlackAdapter(slack_settings(fake), _Core(SubscriptionStore(redis)))
    app = build_app(ingest=Ingest(redis, Metrics(), maxlen=100), metrics=Metrics(),
                    health=_health, token=SecretStr(TOKEN))
    adapter.attach(app)
    http = HttpServer(app, "127.0.0.1", 0)
    await http.start()
    yield http, fake
    await http.stop()
    await adapter.close()
    await fake.stop()


def slack_view(subs: list[Subscription]) -> dict[str, Any]:
    """The App Home view as Slack sends it back in a button press: ours, plus its fields."""
    view = blocks.home_view(subs, 0.0)
    for block in view["blocks"]:
        block.setdefault("block_id", "b" * 8)
        text = block.get("text")
        if isinstance(text, dict) and text.get("type") == "mrkdwn":
            text["verbatim"] = False
    return {**view, "id": "V0123456789", "team_id": TEAM, "state": {"values": {}},
            "hash": "1700000000.abcdefgh", "private_metadata": "", "callback_id": "",
            "app_id": "A0APP", "external_id": "", "app_installed_team_id": TEAM,
            "bot_id": "BBOT", "root_view_id": "V0123456789", "previous_view_id": None,
            "clear_on_close": False, "notify_on_close": False, "close": None, "submit": None,
            "title": {"type": "plain_text", "text": "Home"}}


async def test_app_home_buttons_work_with_fifty_subscriptions(
        bot_app: tuple[HttpServer, FakeSlack], redis: aioredis.Redis) -> None:
    http, fake = bot_app
    store = SubscriptionStore(redis, max_per_user=50)
    tenant = f"slack:{TEAM}"
    subs = [await store.add(tenant, "U1", Destination(tenant, "channel", f"C{i:09d}"),
                            f"renewable energy policy in region number {i}")
            for i in range(50)]
    payload = action_payload(blocks.ACTION_UNSUBSCRIBE, subs[7].id, channel=None)
    payload["view"] = slack_view(subs)
    body = urlencode({"payload": json.dumps(payload)})
    assert len(body) > 16 * 1024  # what the bot's own routes accept
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    async with aiohttp.ClientSession() as client, client.post(
            http.url + "/slack/events", data=body.encode(), headers=headers) as resp:
        assert resp.status == 200
    await fake.wait_for(lambda: fake.calls_to("views.publish"))
    assert await store.get(tenant, subs[7].id) is None


async def test_slack_bodies_beyond_their_own_limit_are_refused(
        bot_app: tuple[HttpServer, FakeSlack]) -> None:
    from adapters.slack import MAX_EVENT_BODY

    http, _fake = bot_app
    body = "payload=" + "x" * MAX_EVENT_BODY
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    async with aiohttp.ClientSession() as client, client.post(
            http.url + "/slack/events", data=body.encode(), headers=headers) as resp:
        assert resp.status == 413


async def test_a_non_numeric_slack_timestamp_is_a_400_without_traceback(
        bot_app: tuple[HttpServer, FakeSlack], caplog: pytest.LogCaptureFixture) -> None:
    http, _fake = bot_app
    caplog.set_level(logging.DEBUG)
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "soon",
               "X-Slack-Signature": "v0=00"}
    async with aiohttp.ClientSession() as client, client.post(
            http.url + "/slack/events", data=b'{"type": "event_callback"}',
            headers=headers) as resp:
        assert resp.status == 400
        assert "Timestamp" in (await resp.json())["error"]
    assert not [r for r in caplog.records if r.exc_info]
