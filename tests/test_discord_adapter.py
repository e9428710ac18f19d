"""The real discord.py adapter against a local fake Discord (REST + gateway on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapters.discord import DiscordAdapter
from bot import parse_article
from bot.adapter import (
    DestinationGoneError,
    Post,
    SubscriptionRef,
    TransientPostError,
)
from bot.card import Card
from bot.commands import CommandContext, Reply, Request, handle, parse_command
from bot.settings import Settings
from bot.subscriptions import Destination, SubscriptionStore

from tests.fake_discord import (
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
DEFER_AFTER = 0.3


@dataclass(frozen=True, slots=True)
class CardReply(Reply):
    """A Reply with the ``card`` field the core's summarize adds."""

    card: Card | None = None


class TestCore:
    """The real command core on the real Redis; ``summarize`` parses the seed article.

    The stand-in for summarize keeps these tests off the network (fetching is tested
    elsewhere) and can be made slow to exercise deferral.
    """

    __test__ = False

    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.ctx = CommandContext(SubscriptionStore.from_settings(redis, settings))
        self.requests: list[Request] = []
        self.summarize_delay = 0.0

    async def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        name, args = parse_command(request.text)
        if name == "summarize":
            await asyncio.sleep(self.summarize_delay)
            return CardReply(f"Summary of <{args[0]}>", card=parse_article(SEED, args[0]))
        return await handle(self.ctx, request)


def make_settings(fake: FakeDiscord, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
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
    assert body["allowed_mentions"] == {"parse": []}, body


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
        "subscribe", "unsubscribe", "list", "mute", "unmute", "summarize", "feed"
    }
    topic = subs["unsubscribe"]["options"][0]
    assert topic["autocomplete"] is True and topic["description"]
    assert topic["name_localizations"]["de"] == "thema"
    feed = {o["name"] for o in subs["feed"]["options"]}
    assert feed == {"add", "remove", "list"}
    digest = next(o for o in subs["subscribe"]["options"] if o["name"] == "digest")
    assert [c["value"] for c in digest["choices"]] == ["instant", "hourly", "daily"]
