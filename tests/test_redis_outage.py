"""Redis going away, coming back, or coming back empty: nothing stalls, nothing 500s.

The outage tests run their own embedded Valkey (the session server must stay up), stop or
kill it, and start it again on the same data directory and socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination
from bot.redis_server import EmbeddedValkey
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, HttpAdapter, PageServer, article_html, story
from tests.pipeline_helpers import TOKEN, drained, pipeline_settings

G = "discord:g1"
C1 = Destination(G, "channel", "c1")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Valkey:
    """A private embedded Valkey that a test may stop, kill and start again."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server = EmbeddedValkey(data_dir)
        self.url = ""

    async def start(self) -> None:
        await asyncio.to_thread(self.start_blocking)

    def start_blocking(self) -> None:
        """Start, blocking the event loop: its connections cannot notice anything meanwhile."""
        self.server = EmbeddedValkey(self.data_dir)
        self.server.start()
        assert not self.url or self.url == self.server.url  # the same socket again
        self.url = self.server.url

    async def stop(self) -> None:
        """Graceful: Valkey writes its append-only file first."""
        await asyncio.to_thread(self.server.stop)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: clients' connections go stale."""
        self.server.kill()


@pytest.fixture
async def valkey() -> AsyncIterator[Valkey]:
    # A short path: the socket must fit in 108 bytes and stay the same across restarts.
    data_dir = Path(tempfile.mkdtemp(prefix="nb-outage-"))
    server = Valkey(data_dir)
    await server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _until(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def _health(bot: Newsbot) -> tuple[int, dict[str, Any]]:
    assert bot.http is not None
    async with aiohttp.ClientSession() as http, http.get(bot.http.url + "/healthz") as resp:
        return resp.status, await resp.json()


async def test_ingest_is_503_during_an_outage_and_202_right_after(valkey: Valkey) -> None:
    settings = pipeline_settings(redis_url=valkey.url)
    # No workers: the links are only queued (example.org is never fetched).
    async with Newsbot(settings, workers=0, block_ms=100) as bot, \
            aiohttp.ClientSession() as http:
        assert bot.http is not None
        endpoint = bot.http.url + "/v1/links"

        async def submit(i: int) -> tuple[int, str | None]:
            async with http.post(endpoint, json={"url": f"https://example.org/{i}"},
                                 headers=AUTH) as resp:
                return resp.status, resp.headers.get("Retry-After")

        # Warm the pool: many connections, all of them stale once Valkey dies.
        assert {s for s, _ in await asyncio.gather(*(submit(i) for i in range(20)))} == {202}
        valkey.kill()
        status, retry_after = await submit(100)
        assert status == 503 and retry_after is not None and int(retry_after) > 0
        health, report = await _health(bot)
        assert health == 503 and report["redis"] is False
        await valkey.start()
        statuses = await asyncio.gather(*(submit(200 + i) for i in range(20)))
        assert {s for s, _ in statuses} == {202}

        async def healthy() -> bool:
            return (await _health(bot))[0] == 200

        await _until(healthy)


class _Link:
    """One client connection through the proxy."""

    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter,
                 generation: int) -> None:
        self.client = client
        self.upstream = upstream
        self.generation = generation
        self.awaiting_reply = False


class SilentRestartProxy:
    """TCP on 127.0.0.1 in front of Valkey's socket, to act out Redis restarting behind a
    network that sends no FIN (a container or host going away): ``restart()`` leaves every
    idle client connection open and silent, and resets it when the client next uses it,
    as the new server would. Connections waiting for a reply are reset at once."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.generation = 0
        self.links: list[_Link] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for link in self.links:
            link.client.transport.abort()
            link.upstream.transport.abort()
        if self.server is not None:
            self.server.close()

    def restart(self) -> None:
        self.generation += 1
        for link in self.links:
            if link.generation < self.generation:
                link.upstream.transport.abort()
                if link.awaiting_reply:
                    link.client.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        link = _Link(writer, up_writer, self.generation)
        self.links.append(link)

        async def upward() -> None:
            while data := await reader.read(65536):
                if link.generation < self.generation:
                    writer.transport.abort()  # the new server knows nothing of it
                    return
                link.awaiting_reply = True
                up_writer.write(data)
                await up_writer.drain()

        async def downward() -> None:
            while data := await up_reader.read(65536):
                link.awaiting_reply = False
                writer.write(data)
                await writer.drain()
            if link.generation == self.generation:
                writer.close()  # otherwise: silence, no FIN

        with contextlib.suppress(ConnectionError, OSError):
            await asyncio.gather(upward(), downward())


async def test_stale_connections_after_a_restart_are_retried_on_fresh_ones(
        valkey: Valkey) -> None:
    proxy = SilentRestartProxy(valkey.url.removeprefix("unix://"))
    await proxy.start()
    settings = pipeline_settings(redis_url=f"redis://127.0.0.1:{proxy.port}")
    try:
        async with Newsbot(settings, workers=0, block_ms=100) as bot, \
                aiohttp.ClientSession() as http:
            assert bot.http is not None
            endpoint = bot.http.url + "/v1/links"

            async def submit(i: int) -> int:
                async with http.post(endpoint, json={"url": f"https://example.org/{i}"},
                                     headers=AUTH) as resp:
                    return resp.status

            assert set(await asyncio.gather(*(submit(i) for i in range(20)))) == {202}
            proxy.restart()
            statuses = await asyncio.gather(*(submit(100 + i) for i in range(20)))
            assert set(statuses) == {202}
    finally:
        await proxy.stop()


async def test_work_in_flight_finishes_when_redis_returns_not_a_lease_later(
        valkey: Valkey, pages: PageServer) -> None:
    client: aioredis.Redis = aioredis.Redis.from_url(valkey.url, decode_responses=True)
    await SubscriptionStore(client).add(G, "u1", C1, "syria")
    await client.aclose()
    platform = await FakePlatform(delay_s=1.0).start()
    # A lease of an hour: only taking up its own pending entry again can finish the work.
    settings = pipeline_settings(redis_url=valkey.url, delivery_lease_s=3600.0)
    try:
        async with Newsbot(settings, block_ms=100, http=False) as bot:
            await bot.add_adapter(HttpAdapter("discord", platform.base_url))
            pages.pages["/a"] = article_html("Syria outage", story(1, "Syria"))
            await bot.submit(pages.url("/a"))

            async def arrived() -> bool:
                return platform.requests >= 1

            await _until(arrived)
            await valkey.stop()  # while the post is at the platform
            await platform.wait_for(1, timeout=10)
            await asyncio.sleep(0.5)  # the sender fails to record it: Redis is away
            await valkey.start()
            client = aioredis.Redis.from_url(valkey.url, decode_responses=True)
            try:
                await drained(client, timeout=20)
            finally:
                await client.aclose()
        assert platform.requests == 1 and len(platform.messages) == 1
    finally:
        await platform.stop()


def _card(headline: str, seed: int) -> Any:
    from bot.article import parse_article

    return parse_article(article_html(headline, story(seed, "Syria")), "https://example.org/x")


async def test_an_emptied_redis_gets_its_groups_back(
        redis: aioredis.Redis, pages: PageServer, platform: FakePlatform) -> None:
    store = SubscriptionStore(redis)
    await store.add(G, "u1", C1, "syria")
    async with Newsbot(pipeline_settings(), redis=redis, block_ms=100) as bot:
        await bot.add_adapter(HttpAdapter("discord", platform.base_url))
        pages.pages["/1"] = article_html("Syria before", story(1, "Syria"))
        await bot.submit(pages.url("/1"))
        await platform.wait_for(1, timeout=15)
        await redis.flushdb()  # as a restart without persistence would leave it
        await store.add(G, "u1", C1, "syria")
        pages.pages["/2"] = article_html("Syria after", story(2, "Syria"))
        card = _card("Syria after", 2)

        async def matched() -> bool:
            await bot.matcher.sync()
            return bool(list(bot.matcher.match(card, time.time())))

        await _until(matched)
        await bot.submit(pages.url("/2"))
        await platform.wait_for(2, timeout=15)
        await drained(redis)

        async def healthy() -> bool:
            return (await _health(bot))[0] == 200

        await _until(healthy)
    assert {m.headline for m in platform.order} == {"Syria before", "Syria after"}


async def test_health_is_503_while_the_pipeline_cannot_read(redis: aioredis.Redis) -> None:
    async with Newsbot(pipeline_settings(), redis=redis, block_ms=100) as bot:
        status, _ = await _health(bot)
        assert status == 200
        await redis.delete(keys.INGEST_STREAM)
        await redis.set(keys.INGEST_STREAM, "not a stream")  # PING works, reading cannot

        async def unhealthy() -> bool:
            return (await _health(bot))[0] == 503

        await _until(unhealthy)
        _status, report = await _health(bot)
        assert report["redis"] is True
        assert any("WRONGTYPE" in state for state in report["pipeline"].values())
        await redis.delete(keys.INGEST_STREAM)

        async def healthy() -> bool:
            return (await _health(bot))[0] == 200

        await _until(healthy)


async def test_idle_consumers_of_dead_processes_are_removed(redis: aioredis.Redis) -> None:
    stream, group = keys.INGEST_STREAM, keys.INGEST_GROUP
    await redis.xgroup_create(stream, group, id="0", mkstream=True)
    await redis.xreadgroup(group, "worker-dead-idle", {stream: ">"}, count=1)
    await redis.xadd(stream, {"url": "https://example.org/pending", "t_in": "0"})
    await redis.xreadgroup(group, "worker-dead-busy", {stream: ">"}, count=1)
    await asyncio.sleep(1.2)  # both idle for over a second
    # A lease of an hour: the busy one's entry is not taken over (nor fetched) meanwhile.
    settings = pipeline_settings(consumer_forget_after_s=1.0, delivery_lease_s=3600.0)
    async with Newsbot(settings, redis=redis, block_ms=100, http=False):

        async def forgotten() -> bool:
            names = {c["name"] for c in await redis.xinfo_consumers(stream, group)}
            return "worker-dead-idle" not in names

        await _until(forgotten)
        names = {c["name"] for c in await redis.xinfo_consumers(stream, group)}
    # One with an entry pending keeps it (removing a consumer drops its pending entries).
    assert "worker-dead-busy" in names
