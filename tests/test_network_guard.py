"""The session's network guard (tests/conftest.py, tests/netguard.py) does what it claims.

It refuses a connection to a TEST-NET address (192.0.2.1, RFC 5737: routed nowhere, so an
unguarded attempt would hang until a timeout) and a public host name, before the real
socket call and without a DNS lookup; it lets loopback and Unix sockets through; and a
test that swallows the refusal still fails.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.fakes import LocalServer
from tests.netguard import GUARD_MARK, NetworkGuard

ROOT = Path(__file__).resolve().parent.parent
TEST_NET = "192.0.2.1"
PUBLIC_HOST = "example.com"


@pytest.fixture
def underneath(
    installed_network_guard: NetworkGuard, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[tuple[str, Any]]]:
    """Every call the guard lets through to the real socket functions, recorded."""
    passed: list[tuple[str, Any]] = []
    guard = installed_network_guard

    def connect(sock: socket.socket, address: Any) -> None:
        passed.append(("connect", address))
        raise AssertionError("a refused connection reached the real connect")

    def connect_ex(sock: socket.socket, address: Any) -> int:
        passed.append(("connect_ex", address))
        raise AssertionError("a refused connection reached the real connect_ex")

    real_getaddrinfo = guard.real_getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> list[Any]:
        passed.append(("getaddrinfo", host))
        return real_getaddrinfo(host, *args, **kwargs)  # numeric hosts: no lookup

    def gethostbyname(host: str) -> str:
        passed.append(("gethostbyname", host))
        raise AssertionError("a refused name reached the real gethostbyname")

    monkeypatch.setattr(guard, "real_connect", connect)
    monkeypatch.setattr(guard, "real_connect_ex", connect_ex)
    monkeypatch.setattr(guard, "real_getaddrinfo", getaddrinfo)
    monkeypatch.setattr(guard, "real_gethostbyname", gethostbyname)
    yield passed


async def test_test_net_address_refused_before_connecting(
    network_guard: list[str], underneath: list[tuple[str, Any]]
) -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match=GUARD_MARK):
        sock.connect((TEST_NET, 80))
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match=GUARD_MARK):
        sock.connect_ex((TEST_NET, 443))
    with pytest.raises(ConnectionRefusedError, match=GUARD_MARK):
        await asyncio.open_connection(TEST_NET, 80)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError, match=GUARD_MARK):
            await session.get(f"http://{TEST_NET}/")
    assert [c for c in underneath if c[0].startswith("connect")] == []
    assert network_guard and all(TEST_NET in attempt for attempt in network_guard)
    network_guard.clear()  # refused as it should be: not this test's failure


async def test_public_host_name_refused_without_a_lookup(
    network_guard: list[str], underneath: list[tuple[str, Any]]
) -> None:
    with pytest.raises(socket.gaierror, match=GUARD_MARK):
        socket.create_connection((PUBLIC_HOST, 80))
    with pytest.raises(socket.gaierror, match=GUARD_MARK):
        socket.gethostbyname(PUBLIC_HOST)
    with pytest.raises(socket.gaierror, match=GUARD_MARK):
        await asyncio.open_connection(PUBLIC_HOST, 443)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError, match=GUARD_MARK):
            await session.get(f"https://{PUBLIC_HOST}/")
    assert underneath == []
    assert network_guard == [f"lookup {PUBLIC_HOST!r}"] * 4
    network_guard.clear()


async def test_loopback_and_unix_sockets_pass(
    network_guard: list[str], redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with LocalServer() as server, aiohttp.ClientSession() as session:
        for host in ("127.0.0.1", "localhost"):
            async with session.get(f"http://{host}:{server.port}/") as resp:
                assert resp.status == 404  # an empty app answered: connected
    assert await redis.ping()  # the embedded Valkey: a Unix socket

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(5))
        await writer.drain()
        writer.close()

    path = str(tmp_path / "echo.sock")
    unix = await asyncio.start_unix_server(echo, path)
    try:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"hello")
        assert await reader.read(5) == b"hello"
        writer.close()
        await writer.wait_closed()
    finally:
        unix.close()
        await unix.wait_closed()
    assert network_guard == []


def test_a_swallowed_refusal_still_fails_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]\n')
    pytester.makepyfile(
        test_leaks=f"""
        import socket

        def test_swallows_a_refused_connection():
            try:
                socket.create_connection(("{TEST_NET}", 80), timeout=30)
            except OSError:
                pass  # the code under test hides the failure

        def test_swallows_a_refused_lookup():
            try:
                socket.getaddrinfo("{PUBLIC_HOST}", 443)
            except OSError:
                pass

        def test_stays_local():
            socket.getaddrinfo("localhost", 80)
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider",
        "-o", "addopts=",
        "-o", "asyncio_default_fixture_loop_scope=session",
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([f"*tried to reach beyond this machine*{TEST_NET}*"])
    result.stdout.fnmatch_lines([f"*tried to reach beyond this machine*{PUBLIC_HOST}*"])
