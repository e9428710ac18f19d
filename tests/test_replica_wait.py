"""WAIT before acknowledging on one Redis with a replica (the cluster's case is in
tests/test_cluster.py): a primary and a replica started from the same valkey-server."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from bot import keys
from bot.redis_cluster import ReplicaWait, server_binary
from bot.redis_server import redis_client
from bot.service import pooled_client


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(directory: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    directory.mkdir()
    port = _port()
    process = subprocess.Popen(
        [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with redis.Redis(port=port, socket_timeout=1) as client:
                client.ping()
                return process, port
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("valkey-server did not start")


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A primary's port, and its replica's process (synced)."""
    primary, port = _start(tmp_path / "primary")
    replica, _ = _start(tmp_path / "replica", "--replicaof", "127.0.0.1", str(port))
    try:
        deadline = time.monotonic() + 30
        with redis.Redis(port=port, decode_responses=True) as client:
            while int(client.info("replication").get("connected_slaves", 0)) < 1:
                assert time.monotonic() < deadline, "the replica did not connect"
                time.sleep(0.05)
        yield port, replica
    finally:
        for process in (replica, primary):
            process.send_signal(signal.SIGCONT)
            process.terminate()
            process.wait(10)


@pytest.fixture
async def client(
    replicated: tuple[int, subprocess.Popen[bytes]],
) -> AsyncIterator[aioredis.Redis]:
    # The bot's own kind of client: a blocking pool, many connections.
    base = redis_client(f"redis://127.0.0.1:{replicated[0]}")
    pooled = pooled_client(base, 16)
    yield pooled
    await pooled.aclose()
    await base.aclose()


async def test_one_server_with_a_replica_waits_on_the_writes_connection(
    replicated: tuple[int, subprocess.Popen[bytes]], client: aioredis.Redis,
) -> None:
    _, replica = replicated
    waits = ReplicaWait(client, replicas=1, timeout_ms=5000)
    await waits.set(keys.posted_key("a"), "done:1", px=60_000)
    stream = keys.delivery_stream("discord")
    await client.xadd(stream, {"post": "x"})
    await waits.barrier(stream)
    assert (waits.waited, waits.unconfirmed) == (2, 0)

    # The replica stopped: the write is made, the wait comes back short. A WAIT sent on
    # another pooled connection than the write's would have counted the replica.
    short = ReplicaWait(client, replicas=1, timeout_ms=300)
    replica.send_signal(signal.SIGSTOP)
    try:
        # Busy connections first, so that the pool holds several.
        for i in range(5):
            await client.set(f"other:{i}", "x")
        await short.set(keys.posted_key("b"), "done:2", px=60_000)
    finally:
        replica.send_signal(signal.SIGCONT)
    assert await client.get(keys.posted_key("b")) == "done:2"
    assert (short.waited, short.unconfirmed) == (1, 1)


async def test_waiting_can_be_turned_off(client: aioredis.Redis) -> None:
    waits = ReplicaWait(client, replicas=0, timeout_ms=5000)
    await waits.set(keys.posted_key("c"), "done:3", px=60_000)
    await waits.barrier(keys.delivery_stream("discord"))
    assert await client.get(keys.posted_key("c")) == "done:3"
    assert waits.waited == 0
