"""``newsbot run`` as a real process with Discord and Slack both enabled, against the fakes.

The bot runs as a subprocess (``tests.guarded_run``: the real ``newsbot run`` with every
connection outside 127.0.0.1 refused), its own embedded Valkey under a temporary data
dir. The test process hosts the fake Discord (REST + gateway), the fake Slack Web API and
a page server for the seed article. A channel subscribes to ``syria`` on each platform,
the seed is ingested through ``POST /v1/links`` for every tenant, and each channel gets
exactly one post. SIGTERM then stops everything cleanly within 5 s, and the Valkey
files, reopened, hold no unfinished work.

A second test holds Slack's answer to the post so that SIGTERM comes while it is in
flight: the process still exits within 5 s, the post is left pending (not lost), and the
next process takes it over once the lease runs out.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from bot import keys
from bot.redis_server import EmbeddedValkey
from tests.fakes import FakeDiscord, FakeSlack, LocalServer
from tests.fakes.discord import APP_ID, CHANNEL_ID, GUILD_ID, slash
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, command_body, sign
from tests.guarded_run import GUARD_MARK

ROOT = Path(__file__).resolve().parent.parent
SEED = Path(__file__).parent / "data" / "seed_france24_putin_syria.txt"
HEADLINE = "Putin orders partial withdrawal of Russian troops in Syria"
DISCORD_TOKEN = "MTExMTExMTExMTExMTExMTEx.fake.token"
INGEST_TOKEN = "run-test-ingest-token"
SLACK_CHANNEL = "C1"
SLACK_MANAGER = "UMGR"
FORM = "application/x-www-form-urlencoded"
SHUTDOWN_CEILING_S = 60.0


def all_text(obj: Any) -> str:
    """Every string inside a JSON-like structure, one per line."""
    if isinstance(obj, dict):
        return "\n".join(all_text(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return "\n".join(all_text(v) for v in obj)
    return str(obj)


class SeedPage(LocalServer):
    """Serves the seed article as text/plain on 127.0.0.1 and counts the fetches."""

    PATH = "/en/putin-orders-partial-withdrawal-syria"

    def __init__(self) -> None:
        super().__init__()
        self.hits = 0
        self.app.router.add_get(self.PATH, self._page)

    @property
    def article_url(self) -> str:
        """Where the seed article is."""
        return self.url(self.PATH)

    async def _page(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(text=SEED.read_text(encoding="utf-8"), content_type="text/plain")


@dataclass
class BotProcess:
    """The ``newsbot run`` child: its stderr read line by line as it comes."""

    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        """Collect stderr in the background (a full pipe would block the bot)."""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    async def finished_reading(self) -> None:
        """Wait for stderr's end (after the process exited)."""
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def records(self) -> list[dict[str, Any]]:
        """Every JSON log record (other lines, such as a bare traceback, are skipped)."""
        out = []
        for line in self.lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def messages(self) -> list[str]:
        """The ``message`` of every JSON log record."""
        return [str(record.get("message", "")) for record in self.records()]

    async def wait_for_message(self, pattern: str, within: float) -> re.Match[str]:
        """The first log message matching ``pattern``; fails early if the bot exits."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + within
        while True:
            for message in self.messages():
                if found := regex.search(message):
                    return found
            if self._reader is not None and self._reader.done():
                raise AssertionError(f"the bot exited before {pattern!r}:\n{self.stderr}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                raise AssertionError(f"no {pattern!r} in the bot's log:\n{self.stderr}") from None


def bot_env(
    data_dir: Path, discord: FakeDiscord, slack: FakeSlack, **extra: str
) -> dict[str, str]:
    """The child's environment: the inherited one without any NEWSBOT_*, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("NEWSBOT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        NEWSBOT_DATA_DIR=str(data_dir),
        NEWSBOT_HTTP_HOST="127.0.0.1",
        NEWSBOT_HTTP_PORT="0",
        NEWSBOT_INGEST_TOKEN=INGEST_TOKEN,
        NEWSBOT_FETCH_ALLOW_HOSTS="127.0.0.1",
        NEWSBOT_WORKERS="2",
        NEWSBOT_LOG_FORMAT="json",
        NEWSBOT_LOG_LEVEL="INFO",
        NEWSBOT_DISCORD_TOKEN=DISCORD_TOKEN,
        NEWSBOT_DISCORD_API_BASE=discord.api_base,
        NEWSBOT_DISCORD_GATEWAY_URL=discord.gateway_url,
        NEWSBOT_DISCORD_DEV_GUILD=str(GUILD_ID),
        NEWSBOT_SLACK_BOT_TOKEN=BOT_TOKEN,
        NEWSBOT_SLACK_SIGNING_SECRET=SIGNING_SECRET,
        NEWSBOT_SLACK_API_URL=slack.api_url,
        NEWSBOT_SLACK_MANAGERS=SLACK_MANAGER,
    )
    env.update(extra)
    return env


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    try:
        yield server
    finally:
        for hold in server.holds.values():
            hold.set()
        await server.stop()


@pytest.fixture
async def seed_page() -> AsyncIterator[SeedPage]:
    server = SeedPage()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


Launch = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def launch(
    tmp_path: Path, discord: FakeDiscord, slack: FakeSlack
) -> AsyncIterator[Launch]:
    """Starts ``newsbot run`` on ``tmp_path/data`` (cwd elsewhere: no ``.env`` is read).

    Keyword arguments are extra environment variables. Processes still running at the end
    of the test are killed.
    """
    started: list[BotProcess] = []
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    async def start(**extra: str) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.guarded_run",
            cwd=workdir, env=bot_env(tmp_path / "data", discord, slack, **extra),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        running = BotProcess(proc)
        running.start_reading()
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            if running.proc.returncode is None:
                running.proc.kill()
                await running.proc.wait()
            await running.finished_reading()


async def poll(check: Callable[[], Any], within: float, what: str, bot: BotProcess) -> Any:
    """Re-run ``check`` every 20 ms until it is truthy; the bot's log in the failure."""
    deadline = time.monotonic() + within
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; the bot's log:\n{bot.stderr}")
        await asyncio.sleep(0.02)
    return result


async def discord_subscribe(discord: FakeDiscord, topic: str) -> str:
    """``/news subscribe topic`` in the channel by a member who may manage it; the reply."""
    payload = await discord.interact(slash("subscribe", {"topic": topic}))
    body = await discord.callback(payload["id"], within=10)
    if body["type"] == 5:  # deferred: the answer comes as a follow-up
        return str((await discord.followup(payload["token"], within=10)).get("content"))
    return str(body["data"]["content"])


async def slack_subscribe(
    session: aiohttp.ClientSession, base: str, slack: FakeSlack, topic: str
) -> str:
    """A signed ``/news subscribe topic`` in a channel, from a configured manager; the reply."""
    body = command_body(f"subscribe {topic}", user=SLACK_MANAGER, channel=SLACK_CHANNEL,
                        response_url=slack.response_url("subscribe"))
    headers = {"Content-Type": FORM, **sign(body)}
    async with session.post(f"{base}/slack/events", data=body.encode(), headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    reply = await slack.wait_for(
        lambda: next((r for r in slack.responses if r["_rid"] == "subscribe"), None), within=10
    )
    return all_text(reply)


def slack_posts(slack: FakeSlack) -> list[dict[str, Any]]:
    return [c.params for c in slack.calls_to("chat.postMessage")]


async def left_in_redis(data_dir: Path) -> dict[str, int]:
    """After the bot stopped: restart its Valkey on the same files and count what is left."""
    server = EmbeddedValkey(data_dir / "valkey")
    await asyncio.to_thread(server.start)
    try:
        client: aioredis.Redis = aioredis.Redis.from_url(server.url, decode_responses=True)
        try:
            streams = [keys.INGEST_STREAM, keys.delivery_stream("discord"),
                       keys.delivery_stream("slack"), keys.DEAD_LETTER_STREAM]
            left = {name: int(await client.xlen(name)) for name in streams}
            left["tenants"] = int(await client.scard(keys.TENANTS))
            return left
        finally:
            await client.aclose()
    finally:
        await asyncio.to_thread(server.stop)


async def started(bot: BotProcess, discord: FakeDiscord) -> str:
    """Wait until the bot runs with both platforms and answers /healthz; its HTTP base URL."""
    running = await bot.wait_for_message(
        r"newsbot running: (.+); HTTP on (http://127\.0\.0\.1:\d+)", within=30
    )
    assert running.group(1) == "discord, slack"
    base = running.group(2)
    assert str(GUILD_ID) in discord.commands, "the dev guild's commands were not synced"
    assert {c["name"] for c in discord.commands[str(GUILD_ID)]} >= {"news"}
    async with aiohttp.ClientSession() as session, session.get(f"{base}/healthz") as resp:
        health = await resp.json()
        assert resp.status == 200, health
    pipeline = health.pop("pipeline")
    assert health == {"ok": True, "redis": True, "adapters": {"discord": True, "slack": True}}
    assert len(pipeline) == 4 and set(pipeline.values()) == {"ok"}  # 2 workers, 2 senders
    return base


async def subscribe_and_ingest(
    base: str, discord: FakeDiscord, slack: FakeSlack, page_url: str
) -> None:
    """A channel on each platform subscribes to "syria"; the page is posted to /v1/links."""
    assert "Subscribed" in await discord_subscribe(discord, "syria")
    async with aiohttp.ClientSession() as session:
        assert "Subscribed" in await slack_subscribe(session, base, slack, "syria")
        # No tenant: the link is matched against every tenant's subscriptions.
        async with session.post(
            f"{base}/v1/links", json={"url": page_url},
            headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
        ) as resp:
            answer = await resp.json()
            assert resp.status == 202, answer
    assert answer["job"]


async def stopped_cleanly(bot: BotProcess) -> float:
    """SIGTERM: exit 0, no traceback or error, embedded Valkey stopped last. (The 5 s the
    shutdown is designed for is no assertion: a loaded machine may not keep it.)"""
    bot.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    returncode = await asyncio.wait_for(bot.proc.wait(), SHUTDOWN_CEILING_S)
    took = time.monotonic() - t0
    await bot.finished_reading()
    assert returncode == 0, f"shutdown took {took:.1f} s\n{bot.stderr}"
    assert "Traceback" not in bot.stderr, bot.stderr
    assert GUARD_MARK not in bot.stderr, bot.stderr
    problems = [r for r in bot.records() if r.get("level") in ("error", "critical")]
    assert problems == [], bot.stderr
    messages = bot.messages()
    assert "stopping: finishing the work in progress" in messages
    assert messages[-1] == "embedded Valkey stopped", bot.stderr
    for secret in (DISCORD_TOKEN, BOT_TOKEN, SIGNING_SECRET, INGEST_TOKEN):
        assert secret not in bot.stderr
    return took


def streams_left(discord: int = 0, slack: int = 0) -> dict[str, int]:
    """The expected ``left_in_redis`` answer: both tenants kept, no link or error left."""
    return {
        keys.INGEST_STREAM: 0, keys.delivery_stream("discord"): discord,
        keys.delivery_stream("slack"): slack, keys.DEAD_LETTER_STREAM: 0, "tenants": 2,
    }


async def test_run_with_discord_and_slack_posts_once_each_and_stops_on_sigterm(
    launch: Launch, discord: FakeDiscord, slack: FakeSlack, seed_page: SeedPage,
    tmp_path: Path,
) -> None:
    bot = await launch()
    base = await started(bot, discord)
    assert len(discord.identifies) == 1
    assert [c.token for c in slack.calls_to("auth.test")] == [BOT_TOKEN]

    await subscribe_and_ingest(base, discord, slack, seed_page.article_url)

    channel = str(CHANNEL_ID)
    await poll(lambda: discord.messages.get(channel), 20, "the Discord post", bot)
    await poll(lambda: slack_posts(slack), 20, "the Slack post", bot)
    await asyncio.sleep(1.0)  # a duplicate or a stray post would show up here

    (discord_post,) = discord.messages[channel]
    assert HEADLINE in all_text(discord_post["embeds"])
    assert {c: len(m) for c, m in discord.messages.items()} == {channel: 1}
    assert not any(r.path.startswith(f"/webhooks/{APP_ID}/") and r.method == "POST"
                   and HEADLINE in all_text(r.body) for r in discord.requests)
    (slack_post,) = slack_posts(slack)
    assert slack_post["channel"] == SLACK_CHANNEL
    assert HEADLINE in all_text(slack_post)
    assert seed_page.hits == 1

    await stopped_cleanly(bot)
    # Nothing half done: every entry acknowledged, nothing dead-lettered, the
    # subscriptions of both tenants on disk.
    assert await left_in_redis(tmp_path / "data") == streams_left()


async def test_sigterm_during_a_post_leaves_it_pending_for_the_next_process(
    launch: Launch, discord: FakeDiscord, slack: FakeSlack, seed_page: SeedPage,
    tmp_path: Path,
) -> None:
    # Slack takes the card but never answers while the bot runs: that post is in flight.
    hold = slack.holds["chat.postMessage"] = asyncio.Event()
    lease = {"NEWSBOT_DELIVERY_LEASE_S": "1"}
    bot = await launch(**lease)
    base = await started(bot, discord)
    await subscribe_and_ingest(base, discord, slack, seed_page.article_url)
    channel = str(CHANNEL_ID)
    await poll(lambda: discord.messages.get(channel), 20, "the Discord post", bot)
    await poll(lambda: slack_posts(slack), 20, "the Slack post", bot)

    await stopped_cleanly(bot)
    # Discord's post finished and was acknowledged; Slack's is left pending, not lost.
    assert await left_in_redis(tmp_path / "data") == streams_left(slack=1)

    # The next process (once the lease ran out) takes it over. The first attempt got no
    # answer, but Slack has the message: found in the channel's history by its key, it is
    # recorded, not posted again. Discord's post was done and is not repeated either.
    hold.set()
    del slack.holds["chat.postMessage"]
    bot = await launch(**lease)
    await started(bot, discord)
    await poll(lambda: slack.calls_to("conversations.history"), 20,
               "the look in Slack's history", bot)
    await asyncio.sleep(1.0)  # a duplicate or a stray post would show up here
    assert [p["channel"] for p in slack_posts(slack)] == [SLACK_CHANNEL]
    assert HEADLINE in all_text(slack_posts(slack)[-1])
    assert len(slack.posted[SLACK_CHANNEL]) == 1
    assert {c: len(m) for c, m in discord.messages.items()} == {channel: 1}
    assert seed_page.hits == 1
    await stopped_cleanly(bot)
    assert await left_in_redis(tmp_path / "data") == streams_left()
