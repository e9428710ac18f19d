"""Tests for bot.fetch against a real local aiohttp server on 127.0.0.1.

The session's network guard (``tests/conftest.py``) refuses, and fails the test on, any
connection outside 127.0.0.1, so a regression can never make these tests reach the network.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.errors import (
    BlockedAddressError,
    ConnectError,
    ContentDecodeError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    TooLargeError,
    TooManyRedirectsError,
    UnsupportedContentError,
)
from bot.fetch import (
    FEED_TYPES,
    Fetcher,
    FetchPolicy,
    decode_body,
    is_forbidden_address,
    make_session,
    parse_content_type,
)
from bot.settings import load_settings
from tests.fakes import LocalServer

MAX_BYTES = 1_000_000
HTML = "<!doctype html><html><head><title>Héllo</title></head><body>Ça va ? 10 €</body></html>"
PAGE_1252 = (
    b'<html><head><meta charset="windows-1252"><title>x</title></head>'
    b"<body>caf\xe9 \x96 \x93quoted\x94 na\xefve</body></html>"
)
PAGE_LATIN1_EQUIV = (
    b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    b"</head><body>Gr\xfc\xdfe aus K\xf6ln</body></html>"
)

#: how long the slow test pages stall; tests that must not wait for them end well before
STALL_S = 60.0
CEILING_S = 30.0


def _make_bomb(size: int) -> bytes:
    """``size`` zero bytes gzip-compressed, built without holding them in memory."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [comp.compress(block) for _ in range(size >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


BOMB = _make_bomb(50 * 1024 * 1024)


# --- local servers --------------------------------------------------------------------


class Server(LocalServer):
    """The fetch tests' routes; records each path hit and the headers it came with."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.seen_headers: dict[str, dict[str, str]] = {}
        super().__init__(_build_app(self))

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """Absolute URL of ``path``, optionally under another host name for this port."""
        return f"http://{host}:{self.port}{path}"


def _build_app(server: Server) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        server.hits.append(request.path)
        server.seen_headers[request.path] = dict(request.headers)
        result: web.StreamResponse = await handler(request)
        return result

    @routes.get("/html")
    async def html(_: web.Request) -> web.Response:
        return web.Response(text=HTML, content_type="text/html", charset="utf-8")

    @routes.get("/plain")
    async def plain(_: web.Request) -> web.Response:
        return web.Response(text="just text, no markup", content_type="text/plain")

    @routes.get("/gzip")
    async def gz(_: web.Request) -> web.Response:
        body = gzip.compress(HTML.encode("utf-8"))
        return web.Response(
            body=body,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
        )

    @routes.get("/deflate-raw")
    async def deflate_raw(_: web.Request) -> web.Response:
        comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = comp.compress(HTML.encode("utf-8")) + comp.flush()
        return web.Response(
            body=body,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "deflate"},
        )

    @routes.get("/broken-gzip")
    async def broken_gzip(_: web.Request) -> web.Response:
        return web.Response(
            body=b"\x1f\x8b\x08\x00not really gzip at all",
            headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
        )

    @routes.get("/slow")
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(STALL_S)
        return web.Response(text=HTML, content_type="text/html")

    @routes.get("/big-declared")
    async def big_declared(request: web.Request) -> web.StreamResponse:
        # Announces 1 GB, sends a little, then stalls: only an up-front check fails fast.
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.content_length = 1_000_000_000
        await resp.prepare(request)
        await resp.write(b"<html>" + b"x" * 1000)
        await asyncio.sleep(STALL_S)
        return resp

    @routes.get("/big-chunked")
    async def big_chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            for _ in range(50):  # 3.2 MB in all, no Content-Length
                await resp.write(b"<p>" + b"y" * 65_533)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        return resp

    @routes.get("/bomb")
    async def bomb(_: web.Request) -> web.Response:
        return web.Response(
            body=BOMB, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
        )

    @routes.get("/loop")
    async def loop(_: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    @routes.get("/chain/{n}")
    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(text=HTML, content_type="text/html")
        raise web.HTTPMovedPermanently(f"/chain/{n - 1}")

    @routes.get("/to")
    async def to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["u"])

    @routes.get("/pdf")
    async def pdf(_: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.4\n" + b"0" * 1000, content_type="application/pdf")

    @routes.get("/badcharset")
    async def badcharset(_: web.Request) -> web.Response:
        body = HTML.encode("utf-8")
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=foobar"})

    @routes.get("/meta1252")
    async def meta1252(_: web.Request) -> web.Response:
        return web.Response(body=PAGE_1252, headers={"Content-Type": "text/html"})

    @routes.get("/metalatin1")
    async def metalatin1(_: web.Request) -> web.Response:
        return web.Response(body=PAGE_LATIN1_EQUIV, headers={"Content-Type": "text/html"})

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="error page")

    @routes.get("/feed")
    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        body = '<?xml version="1.0"?><rss><channel><title>T</title></channel></rss>'
        return web.Response(
            text=body,
            content_type="application/rss+xml",
            headers={"ETag": '"v1"', "Cache-Control": "max-age=60", "X-Secret": "s3cret"},
        )

    @routes.get("/echo-auth")
    async def echo_auth(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<p>{request.headers.get('Authorization', 'none')}</p>",
            content_type="text/html",
        )

    app = web.Application(middlewares=[count])
    app.add_routes(routes)
    return app


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[Server]:
    srv = await Server().start()
    yield srv
    await srv.stop()


@pytest.fixture(scope="module")
async def raw_server() -> AsyncIterator[int]:
    """Answers with canned raw HTTP, for responses aiohttp's server won't produce."""
    answers = {
        b"/no-type-html": b"<!DOCTYPE html><html><body>sniffed</body></html>",
        b"/no-type-binary": b"\x89PNG\r\n\x1a\n\x00\x00binary",
    }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        path = request.split(b" ", 2)[1]
        body = answers.get(path, b"")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(body), body)
        )
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()


@pytest.fixture(autouse=True)
def _reset_hits(request: pytest.FixtureRequest) -> None:
    if "server" in request.fixturenames:
        srv: Server = request.getfixturevalue("server")
        srv.hits.clear()
        srv.seen_headers.clear()


# --- helpers --------------------------------------------------------------------------


class MapResolver(AbstractResolver):
    """Resolves names from a table; anything else fails like a DNS miss."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        addresses = self.table.get(host.lower())
        if addresses is None:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        pass


def policy(**changes: Any) -> FetchPolicy:
    base = FetchPolicy(
        timeout=3.0,
        connect_timeout=2.0,
        max_bytes=MAX_BYTES,
        max_redirects=5,
        allow_hosts=frozenset({"127.0.0.1"}),
        user_agent="newsbot-test/1",
    )
    return replace(base, **changes)


@asynccontextmanager
async def fetcher(
    pol: FetchPolicy | None = None, resolver: AbstractResolver | None = None
) -> AsyncIterator[Fetcher]:
    pol = pol or policy()
    async with make_session(pol, resolver=resolver) as session:
        yield Fetcher(session, pol)


def one_line(exc: FetchError) -> str:
    message = exc.user_message
    assert message and "\n" not in message and len(message) <= 120, message
    return message


async def fails(
    exc_type: type[FetchError], url: str, *, pol: FetchPolicy | None = None, **kwargs: Any
) -> FetchError:
    resolver = kwargs.pop("resolver", None)
    async with fetcher(pol, resolver) as f:
        with pytest.raises(exc_type) as info:
            await f.fetch(url, **kwargs)
    one_line(info.value)
    return info.value


# --- successful fetches ---------------------------------------------------------------


async def test_html_page(server: Server) -> None:
    async with fetcher() as f:
        page = await f.fetch(server.url("/html"))
    assert page.status == 200
    assert page.url == page.requested_url == server.url("/html")
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert page.text == HTML
    assert page.body == HTML.encode("utf-8")
    assert page.headers["content-type"].startswith("text/html")
    assert server.seen_headers["/html"]["User-Agent"] == "newsbot-test/1"
    assert "br" not in server.seen_headers["/html"]["Accept-Encoding"] or _has_brotli()


def _has_brotli() -> bool:
    from bot.fetch import _brotli_module

    return _brotli_module() is not None


async def test_plain_text(server: Server) -> None:
    async with fetcher() as f:
        page = await f.fetch(server.url("/plain"))
    assert page.content_type == "text/plain"
    assert page.text == "just text, no markup"


@pytest.mark.parametrize("path", ["/gzip", "/deflate-raw"])
async def test_compressed_page_is_decoded(server: Server, path: str) -> None:
    async with fetcher() as f:
        page = await f.fetch(server.url(path))
    assert page.text == HTML


async def test_missing_content_type_is_sniffed(raw_server: int) -> None:
    async with fetcher() as f:
        page = await f.fetch(f"http://127.0.0.1:{raw_server}/no-type-html")
    assert page.content_type == "text/html"
    assert "sniffed" in page.text


async def test_missing_content_type_binary_is_refused(raw_server: int) -> None:
    await fails(UnsupportedContentError, f"http://127.0.0.1:{raw_server}/no-type-binary")


async def test_redirect_chain_within_limit_gives_final_url(server: Server) -> None:
    async with fetcher() as f:
        page = await f.fetch(server.url("/chain/5"))
    assert page.url == server.url("/chain/0")
    assert page.requested_url == server.url("/chain/5")
    assert page.text == HTML


async def test_allowed_host_name_case_insensitive(server: Server) -> None:
    resolver = MapResolver({"news.example": ["127.0.0.1"]})
    pol = policy(allow_hosts=frozenset({"News.Example"}))
    async with fetcher(pol, resolver) as f:
        page = await f.fetch(f"http://NEWS.example:{server.port}/html")
    assert page.text == HTML
    assert server.hits == ["/html"]


async def test_credentials_not_sent_across_hosts(server: Server) -> None:
    resolver = MapResolver({"other.example": ["127.0.0.1"]})
    pol = policy(allow_hosts=frozenset({"127.0.0.1", "other.example"}))
    hop = f"http://other.example:{server.port}/echo-auth"
    async with fetcher(pol, resolver) as f:
        same = await f.fetch(server.url("/echo-auth"), headers={"Authorization": "Bearer t"})
        moved = await f.fetch(server.url(f"/to?u={hop}"), headers={"Authorization": "Bearer t"})
    assert "Bearer t" in same.text
    assert "none" in moved.text


async def test_conditional_get_gives_304_page(server: Server) -> None:
    async with fetcher() as f:
        first = await f.fetch(server.url("/feed"), accept=FEED_TYPES)
        again = await f.fetch(
            server.url("/feed"), accept=FEED_TYPES, headers={"If-None-Match": first.headers["etag"]}
        )
    assert first.status == 200
    assert first.content_type == "application/rss+xml"
    assert "<rss>" in first.text
    assert first.headers == {
        "etag": '"v1"',
        "cache-control": "max-age=60",
        "content-type": "application/rss+xml; charset=utf-8",
    }
    assert again.status == 304
    assert again.text == "" and again.body == b""
    assert again.headers["etag"] == '"v1"'


async def test_feed_fetch_refuses_html(server: Server) -> None:
    await fails(UnsupportedContentError, server.url("/html"), accept=FEED_TYPES)


# --- charsets -------------------------------------------------------------------------


async def test_unknown_charset_in_header_falls_back_to_detection(server: Server) -> None:
    async with fetcher() as f:
        page = await f.fetch(server.url("/badcharset"))
    assert page.text == HTML
    assert page.charset == "utf-8"


async def test_charset_from_meta_tag(server: Server) -> None:
    async with fetcher() as f:
        page = await f.fetch(server.url("/meta1252"))
        latin = await f.fetch(server.url("/metalatin1"))
    assert "café – “quoted” naïve" in page.text
    assert page.charset == "cp1252"
    assert "Grüße aus Köln" in latin.text


@pytest.mark.parametrize(
    ("body", "declared", "expected_text", "expected_charset"),
    [
        ("é".encode(), "utf-8", "é", "utf-8"),
        (b"\xef\xbb\xbfhi \xc3\xa9", "iso-8859-1", "hi é", "utf-8"),  # BOM wins
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>', None, "é", "cp1252"),
        # Not a text codec: ignored, then the charset is guessed.
        (b"<p>Le caf\xe9 \xe9tait chaud, d\xe9j\xe0 servi.</p>", "base64", "<p>Le caf", None),
        (b"<p>Le caf\xe9 \xe9tait chaud, d\xe9j\xe0 servi.</p>", "rot13", "<p>Le caf", None),
        (b'<meta charset="iso-8859-7"><p>Caf\xe9 in Athens</p>', None, "Cafι", "iso8859-7"),
        (b"", None, "", None),
    ],
)
def test_decode_body(
    body: bytes, declared: str | None, expected_text: str, expected_charset: str | None
) -> None:
    text, charset = decode_body(body, declared)
    assert expected_text in text
    assert charset != declared or declared in (None, "utf-8")
    if expected_charset is not None:
        assert charset == expected_charset


def test_parse_content_type() -> None:
    assert parse_content_type('Text/HTML; Charset="UTF-8"') == ("text/html", "UTF-8")
    assert parse_content_type("application/pdf") == ("application/pdf", None)
    assert parse_content_type(None) == ("", None)


# --- limits ---------------------------------------------------------------------------


async def test_timeout_is_quick(server: Server) -> None:
    # The server answers after STALL_S: failing within the (generous) ceiling proves the
    # fetch gave up at its own timeout, however loaded the machine is.
    exc = await asyncio.wait_for(
        fails(FetchTimeoutError, server.url("/slow"), pol=policy(timeout=0.5)), CEILING_S)
    assert isinstance(exc, FetchTimeoutError) and exc.seconds == 0.5
    assert "0.5 s" in exc.user_message


async def test_too_large_by_content_length_fails_before_reading(server: Server) -> None:
    # The server stalls after 1 KB for STALL_S: only the up-front check ends it sooner.
    await asyncio.wait_for(fails(TooLargeError, server.url("/big-declared")), CEILING_S)


async def test_too_large_without_content_length(server: Server) -> None:
    exc = await fails(TooLargeError, server.url("/big-chunked"))
    assert isinstance(exc, TooLargeError) and exc.limit == MAX_BYTES


async def test_gzip_bomb_is_cut_and_memory_stays_low(server: Server) -> None:
    assert len(BOMB) < 100_000
    tracemalloc.start()
    try:
        await fails(TooLargeError, server.url("/bomb"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MAX_BYTES, f"peak memory {peak} bytes"


async def test_broken_compression(server: Server) -> None:
    await fails(ContentDecodeError, server.url("/broken-gzip"))


async def test_redirect_loop(server: Server) -> None:
    exc = await fails(TooManyRedirectsError, server.url("/loop"))
    assert len(server.hits) == 6  # first request + 5 redirects, then stop
    assert isinstance(exc, TooManyRedirectsError) and exc.limit == 5


async def test_redirect_chain_longer_than_limit(server: Server) -> None:
    await fails(TooManyRedirectsError, server.url("/chain/6"))
    assert "/chain/0" not in server.hits


# --- content type and status ----------------------------------------------------------


async def test_pdf_is_unsupported(server: Server) -> None:
    exc = await fails(UnsupportedContentError, server.url("/pdf"))
    assert "application/pdf" in exc.user_message


@pytest.mark.parametrize("code", [404, 500])
async def test_error_status(server: Server, code: int) -> None:
    exc = await fails(HTTPStatusError, server.url(f"/status/{code}"))
    assert isinstance(exc, HTTPStatusError) and exc.status == code
    assert str(code) in exc.user_message


# --- connection failures --------------------------------------------------------------


async def test_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exc = await fails(ConnectError, f"http://127.0.0.1:{port}/")
    assert exc.user_message == "I couldn't reach 127.0.0.1."


async def test_dns_failure() -> None:
    exc = await fails(ConnectError, "http://nowhere.invalid/", resolver=MapResolver({}))
    assert exc.user_message == "I couldn't reach nowhere.invalid."


@pytest.mark.parametrize("text", ["not a url", "ftp://x", "http://", "https:///path", "", "http://127.1/"])
async def test_invalid_urls(text: str) -> None:
    exc = await fails(InvalidURLError, text)
    assert exc.user_message == "That doesn't look like a web link."


async def test_redirect_to_non_web_scheme(server: Server) -> None:
    await fails(InvalidURLError, server.url("/to?u=file:///etc/passwd"))


# --- SSRF -----------------------------------------------------------------------------


async def test_loopback_refused_without_allow_list(server: Server) -> None:
    exc = await fails(BlockedAddressError, server.url("/html"), pol=policy(allow_hosts=frozenset()))
    assert server.hits == []
    assert isinstance(exc, BlockedAddressError) and exc.host == "127.0.0.1"
    assert "127.0.0.1" in exc.user_message


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
    ],
)
async def test_private_literals_refused_without_connecting(
    url: str, network_guard: list[Any]
) -> None:
    await fails(BlockedAddressError, url)
    assert network_guard == []


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "other.example"])
async def test_redirect_to_blocked_host_name(server: Server, host: str) -> None:
    # Only "127.0.0.1" is allowed: a name that resolves there is still refused.
    resolver = MapResolver({"localhost": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    target = f"http://{host}:{server.port}/html"
    exc = await fails(BlockedAddressError, server.url(f"/to?u={target}"), resolver=resolver)
    assert server.hits == ["/to"]
    assert isinstance(exc, BlockedAddressError) and exc.host == host.lower()


async def test_redirect_to_localhost_with_system_resolver(server: Server) -> None:
    target = f"http://localhost:{server.port}/html"
    await fails(BlockedAddressError, server.url(f"/to?u={target}"))
    assert server.hits == ["/to"]


async def test_redirect_to_private_literal(server: Server) -> None:
    await fails(BlockedAddressError, server.url(f"/to?u=http://127.0.0.2:{server.port}/html"))
    assert server.hits == ["/to"]


async def test_every_resolved_address_is_checked(server: Server) -> None:
    resolver = MapResolver({"mixed.example": ["93.184.216.34", "127.0.0.1"]})
    await fails(BlockedAddressError, f"http://mixed.example:{server.port}/html", resolver=resolver)
    assert resolver.asked == ["mixed.example"]
    assert server.hits == []


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "not an address",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert is_forbidden_address(address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses(address: str) -> None:
    assert not is_forbidden_address(address)


# --- construction and messages --------------------------------------------------------


def test_policy_from_settings() -> None:
    settings = load_settings(
        fetch_timeout=7, fetch_max_bytes=123, fetch_allow_hosts="127.0.0.1, Intranet.Local"
    )
    pol = FetchPolicy.from_settings(settings)
    assert pol.timeout == 7
    assert pol.max_bytes == 123
    assert pol.max_redirects == settings.fetch_max_redirects
    assert pol.user_agent == settings.user_agent
    assert pol.allows("intranet.local") and pol.allows("127.0.0.1")
    assert not pol.allows("127.0.0.2")


async def test_fetcher_refuses_unguarded_session() -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError):
            Fetcher(session, policy())


ALL_ERRORS: list[Callable[[], FetchError]] = [
    lambda: InvalidURLError("That doesn't look like a web link.", "x"),
    lambda: BlockedAddressError("http://a.example/", "a.example", "10.0.0.1"),
    lambda: FetchTimeoutError("u", 10.0),
    lambda: TooLargeError("u", 5_000_000),
    lambda: TooManyRedirectsError("u", 5),
    lambda: UnsupportedContentError("u", "application/pdf"),
    lambda: UnsupportedContentError("u", ""),
    lambda: HTTPStatusError("u", 503),
    lambda: ConnectError("I couldn't reach example.com.", "u"),
    lambda: ContentDecodeError("u", "gzip"),
]


@pytest.mark.parametrize("make", ALL_ERRORS)
def test_user_messages_are_one_short_line(make: Callable[[], FetchError]) -> None:
    one_line(make())
