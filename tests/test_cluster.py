"""Redis Cluster for real: slots, the digest hand-off's crash safety, a primary's failure.

The pipeline's own tests run on the session's 3-primary cluster too (``cluster_too``);
here: what only a cluster shows, and a cluster with one replica per primary whose
primary is killed mid-delivery.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisClusterException, ResponseError

from bot import keys
from bot.card import Card
from bot.chat.contract import Destination
from bot.pipeline import DigestQueue
from bot.pipeline.digests import DigestScheduler
from bot.pipeline.outbox import post_from_json, stream_for
from bot.redis_cluster import LocalCluster, Node, ReplicaWait, cluster_client
from bot.redis_server import cluster_url, redis_client
from bot.service import Newsbot
from bot.subscriptions import SubscriptionMatch, SubscriptionStore
from tests.fakes import FakePlatform, HttpAdapter, PageServer, article_html, story
from tests.pipeline_helpers import current, delivery_entries, drained, pipeline_settings

pytestmark = pytest.mark.cluster_too

G = "discord:g1"


def test_cluster_url_scheme() -> None:
    assert cluster_url("redis+cluster://127.0.0.1:7000") == ("redis://127.0.0.1:7000", True)
    assert cluster_url("rediss+cluster://h:1/0") == ("rediss://h:1/0", True)
    assert cluster_url("redis://h:1", cluster=True) == ("redis://h:1", True)
    assert cluster_url("unix:///tmp/s.sock") == ("unix:///tmp/s.sock", False)


def test_delivery_shards_land_on_every_primary(local_cluster: LocalCluster) -> None:
    shards = keys.delivery_streams("discord", 3)
    primaries = {local_cluster.primary_for(s).port for s in shards}
    assert len(primaries) == 3
    assert keys.delivery_streams("discord", 1) == ["newsbot:deliveries:discord"]
    assert all(keys.is_delivery_stream(s) for s in [*shards, keys.delivery_stream("slack")])
    assert not keys.is_delivery_stream(keys.INGEST_STREAM)
    # The digest's queued-marker shares the slot of the stream it guards.
    for stream in [*shards, keys.delivery_stream("slack")]:
        marker = keys.digest_queued_key(stream, "discord:g1/channel:c1", "hourly", "p")
        assert local_cluster.primary_for(marker) is local_cluster.primary_for(stream)


def test_key_slot_is_redis_clusters() -> None:
    from redis.crc import key_slot as redis_key_slot

    for key in ["a", "newsbot:deliveries:discord", "newsbot:{t:discord:1}:subs", "{}x", "x{}{y}"]:
        assert keys.key_slot(key) == redis_key_slot(key.encode())


def test_destinations_spread_over_shards() -> None:
    streams = {stream_for(Destination(G, "channel", f"c{i}"), 3) for i in range(30)}
    assert len(streams) == 3
    one = Destination(G, "channel", "c1")
    assert stream_for(one, 3) == stream_for(one, 3)


async def test_the_fixture_is_a_real_cluster(redis: aioredis.Redis, redis_kind: str) -> None:
    """A script over two slots is refused on the cluster (what every script here avoids)."""
    if redis_kind != "cluster":
        assert await redis.eval("return #KEYS", 2, "a", "b") == 2
        return
    with pytest.raises((ResponseError, RedisClusterException)):
        await redis.eval("return #KEYS", 2, "a", "b")


async def _line(queue: DigestQueue, store: SubscriptionStore, channel: str) -> None:
    sub = (await store.add(G, "u1", Destination(G, "channel", channel), "syria",
                           mode="hourly"))
    card = Card(headline=f"Syria {channel}", body="", url=f"https://example.org/{channel}",
                site="Example")
    await queue.add(SubscriptionMatch(sub.id, G, sub.owner, sub.expression, "hourly", (), 1.0),
                    f"art-{channel}", card)


async def test_digest_handoff_interrupted_after_the_take_is_queued_once(
    redis: aioredis.Redis,
) -> None:
    """A flush dying between its two steps: the next one queues the staged post, once."""
    store = SubscriptionStore(redis)
    queue = DigestQueue(redis, ttl_s=3600)
    await _line(queue, store, "c1")
    later = time.time() + 3600
    crashing = DigestScheduler(queue, store, shards=current["shards"])

    async def crash(*_args: object) -> bool:
        raise ConnectionError("process died")

    crashing._queue_staged = crash  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        await crashing.flush("hourly", later)
    assert await delivery_entries(redis, "discord") == []
    assert await queue.items(G, "1") == []  # the lines were taken (and staged)
    assert await queue.pending("hourly")  # ... so the subscription stays pending
    fresh = DigestScheduler(queue, store, shards=current["shards"])
    assert await fresh.flush("hourly", later) == 1
    assert await fresh.flush("hourly", later) == 0
    assert await fresh.flush("hourly", later + 3600) == 0
    entries = await delivery_entries(redis, "discord")
    assert len(entries) == 1
    post = post_from_json(entries[0][1]["post"])
    assert [d.headline for d in post.digest] == ["Syria c1"]
    assert await queue.pending("hourly") == []


async def test_two_flushes_at_once_queue_one_digest(redis: aioredis.Redis) -> None:
    store = SubscriptionStore(redis)
    queue = DigestQueue(redis, ttl_s=3600)
    await _line(queue, store, "c1")
    later = time.time() + 3600
    one = DigestScheduler(queue, store, shards=current["shards"])
    two = DigestScheduler(queue, store, shards=current["shards"])
    sent = await asyncio.gather(one.flush("hourly", later), two.flush("hourly", later))
    assert sum(sent) == 1
    assert len(await delivery_entries(redis, "discord")) == 1


# --- a primary dies mid-delivery ----------------------------------------------------

CHANNELS = [Destination(G, "channel", f"c{i}") for i in range(6)]
ARTICLES = 8


@pytest.fixture
async def replicated_cluster() -> AsyncIterator[LocalCluster]:
    """Its own cluster (one is killed): 3 primaries, one replica each."""
    cluster = await asyncio.to_thread(LocalCluster(primaries=3, replicas=1).start)
    try:
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


@pytest.mark.parametrize("redis_kind", ["cluster"], indirect=True)
async def test_primary_killed_mid_delivery_loses_and_doubles_nothing(
    replicated_cluster: LocalCluster, pages: PageServer, redis_kind: str,
) -> None:
    cluster = replicated_cluster
    redis = cluster_client(cluster.url)
    platform = await FakePlatform(delay_s=0.05).start()
    try:
        store = SubscriptionStore(redis)
        for i, channel in enumerate(CHANNELS):
            await store.add(G, f"u{i}", channel, "syria")
        settings = pipeline_settings(delivery_shards=3, delivery_concurrency=6,
                                     worker_concurrency=2)
        bot = Newsbot(settings, redis=redis, block_ms=200, http=False)
        bot.register_adapter(HttpAdapter("discord", platform.base_url))
        expected = ARTICLES * len(CHANNELS)
        async with bot:
            for i in range(ARTICLES):
                pages.pages[f"/f/{i}"] = article_html(f"Syria {i}", story(900 + i, "Syria"))
                await bot.submit(pages.url(f"/f/{i}"))
            await platform.wait_for(expected // 4, timeout=60)
            victim = cluster.primary_for(keys.delivery_stream("discord", 0, 3))
            await asyncio.to_thread(cluster.kill, victim)
            killed_at = platform.count()
            await asyncio.to_thread(cluster.wait_ok, 60)
            await platform.wait_for(expected, timeout=60)
            await drained(redis, timeout=30)
            await asyncio.sleep(1.5)  # a late duplicate would show up here
        assert killed_at < expected, "the kill came too late to test anything"
        # Done-markers and delivery entries waited for a replica before their acks.
        assert bot.replicas.waited > 0
        assert platform.count() == expected
        assert len(platform.order) == expected  # each (article, channel) created once
        per_channel: dict[str, int] = {}
        for message in platform.order:
            per_channel[message.channel] = per_channel.get(message.channel, 0) + 1
        assert set(per_channel.values()) == {ARTICLES}
        # Nothing subscribed was lost with the primary.
        assert len([s async for s in store.all_subscriptions()]) == len(CHANNELS)
        dead = await redis.xrange(keys.DEAD_LETTER_STREAM)
        assert dead == [], dead
    finally:
        await platform.stop()
        await redis.aclose()


def test_redis_client_builds_a_cluster_client_for_the_scheme() -> None:
    from redis.asyncio.cluster import RedisCluster

    assert isinstance(redis_client("redis+cluster://127.0.0.1:1"), RedisCluster)
    assert not isinstance(redis_client("redis://127.0.0.1:1"), RedisCluster)


async def test_an_error_inside_redis_py_counts_as_an_outage() -> None:
    """What redis-py's cluster client raised in a fail-over: leave pending, not dead-letter."""
    from redis.asyncio.connection import Connection

    from bot.redis_server import is_redis_failure

    connection = Connection()  # never connected: its writer is None, as in the fail-over
    with pytest.raises(AttributeError) as raised:
        await connection._send_packed_command([b"PING"])
    assert is_redis_failure(raised.value)
    try:
        raise AttributeError("a bug of ours")
    except AttributeError as ours:
        assert not is_redis_failure(ours)


# --- WAIT before acknowledging -------------------------------------------------------


def _waits(node: Node) -> int:
    """WAIT commands the node has run."""
    with node.client() as client:
        stats = client.info("commandstats")
    return int(stats.get("cmdstat_wait", {}).get("calls", 0))


def _key_on(cluster: LocalCluster, primary: Node, prefix: str) -> str:
    """A key whose slot the primary serves."""
    for i in range(10_000):
        key = keys.posted_key(f"{prefix}{i}")
        if cluster.primary_for(key).port == primary.port:
            return key
    raise AssertionError("no key found on the primary")


@pytest.mark.parametrize("redis_kind", ["cluster"], indirect=True)
async def test_done_markers_wait_for_the_owners_replica(
    replicated_cluster: LocalCluster, redis_kind: str,
) -> None:
    cluster = replicated_cluster
    primaries = [n for n in cluster.nodes if n.primary_of is None]
    redis = cluster_client(cluster.url)
    try:
        await redis.ping()
        replicas = ReplicaWait(redis, replicas=1, timeout_ms=5000)
        for primary in primaries:
            key = _key_on(cluster, primary, "w")
            before = {n.port: _waits(n) for n in primaries}
            await replicas.set(key, "done:1", px=60_000)
            after = {n.port: _waits(n) for n in primaries}
            # The WAIT went to the key's primary alone, and its replica has the marker.
            assert {p: after[p] - before[p] for p in after} == {
                n.port: int(n.port == primary.port) for n in primaries}
            replica = next(n for n in cluster.nodes if n.primary_of == primary.node_id)
            with replica.client() as client:
                client.execute_command("READONLY")
                assert client.get(key) == "done:1"
        assert (replicas.waited, replicas.unconfirmed) == (3, 0)

        # A replica that cannot answer: the write is made, the wait comes back short (a
        # WAIT sent on another connection than the write's would count the replica).
        primary = primaries[0]
        replica = next(n for n in cluster.nodes if n.primary_of == primary.node_id)
        key = _key_on(cluster, primary, "stopped")
        short = ReplicaWait(redis, replicas=1, timeout_ms=300)
        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)
        try:
            await short.set(key, "done:2", px=60_000)
            stream = keys.delivery_stream("discord", 0, 3)
            await redis.xadd(stream, {"post": "x"})
            await short.barrier(stream)
        finally:
            replica.process.send_signal(signal.SIGCONT)
        assert await redis.get(key) == "done:2"
        assert short.unconfirmed >= 1
    finally:
        await redis.aclose()


async def test_no_wait_without_replicas(redis: aioredis.Redis) -> None:
    """One server (or the session's cluster) without replicas: written, never waited."""
    replicas = ReplicaWait(redis, replicas=1, timeout_ms=5000)
    await replicas.set(keys.posted_key("nowait"), "done:1", px=60_000)
    await replicas.barrier(keys.delivery_stream("discord"))
    assert await redis.get(keys.posted_key("nowait")) == "done:1"
    assert replicas.waited == 0


def test_the_replication_marker_shares_its_streams_slot() -> None:
    """The WAIT behind a link's deliveries goes to the node of the stream they were added to."""
    streams = [keys.delivery_stream("discord"), *keys.delivery_streams("slack", 6)]
    for stream in streams:
        assert keys.key_slot(keys.replicated_marker_key(stream)) == keys.key_slot(stream)


async def test_new_connections_do_not_read_package_metadata(
    redis_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """redis-py 8 read its own version from the package metadata for every connection it
    opened (4 ms of CPU each while a pool grows): the bot's clients read it once."""
    import redis.utils

    from bot.redis_cluster import driver_kwargs
    from bot.service import pooled_client

    driver_kwargs()  # read once per process, here if no test did before
    reads: list[str] = []
    original = redis.utils.get_lib_version

    def counted() -> str:
        reads.append("read")
        return str(original())  # type: ignore[no-untyped-call]

    monkeypatch.setattr(redis.utils, "get_lib_version", counted)
    base = redis_client(redis_url)
    client = pooled_client(base, 64)
    try:
        await client.ping()
        # Twenty commands that each hold a connection: twenty connections opened.
        await asyncio.gather(*(client.blpop([f"nothing:{i}"], timeout=0.2) for i in range(20)))
        assert reads == []
    finally:
        await client.aclose()
        if client is not base:
            await base.aclose()
