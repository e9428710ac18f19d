"""Safe page fetching: size, time and redirect limits, and no requests to private addresses.

Every address a host name resolves to is checked inside the connector's resolver, so the
address that is checked is the address that is connected to (no DNS-rebinding window).
Literal IP addresses never reach the resolver and are checked before any request.

At the end, pages named on the command line: a URL, a local file or standard input.
"""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import logging
import re
import socket
import sys
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from charset_normalizer import from_bytes
from yarl import URL

from bot.errors import (
    BlockedAddressError,
    CommandError,
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
from bot.urls import url_problem

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

HTML_TYPES: frozenset[str] = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
FEED_TYPES: frozenset[str] = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_KEPT_HEADERS = ("etag", "last-modified", "cache-control", "content-type")
# Sent only to the host they were meant for, never across a redirect to another host.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# We decompress ourselves (to cap decompressed size), so these are ours to set.
_RESERVED_HEADERS = frozenset({"accept-encoding", "host", "content-length", "transfer-encoding"})
_CHUNK = 64 * 1024
_SNIFF_BYTES = 2048
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.I)


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch: time, size, redirects, and hosts exempt from the SSRF check."""

    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    #: ``host`` (every port) or ``host:port`` entries (``[v6]:port`` for IPv6)
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    user_agent: str = "newsbot"
    #: Ports of this process's own HTTP server: never exempt, whatever the entries say
    #: (filled in when the server binds, for a port picked by the system).
    own_ports: set[int] = field(default_factory=set, compare=False)
    _allowed: frozenset[tuple[str, int | None]] = field(
        init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        # Normalise once so every comparison is a plain set lookup.
        entries = [parse_allow_entry(h) for h in self.allow_hosts if h.strip()]
        object.__setattr__(self, "allow_hosts", frozenset(
            host if port is None else f"{_bracketed(host)}:{port}" for host, port in entries))
        object.__setattr__(self, "_allowed", frozenset(entries))

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """Build the policy from the ``fetch_*`` settings (the bot's HTTP port protected)."""
        return cls(
            timeout=settings.fetch_timeout,
            connect_timeout=settings.fetch_connect_timeout,
            max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            allow_hosts=frozenset(settings.fetch_allow_hosts),
            user_agent=settings.user_agent,
            own_ports={settings.http_port} if settings.http_port else set(),
        )

    def allows(self, host: str, port: int | None = None) -> bool:
        """True if ``host`` (a name as written, or a literal IP) on ``port`` is exempt from
        the SSRF check: listed alone (any port) or with that port, and not our own port."""
        if port is not None and port in self.own_ports:
            return False
        name = _normalise_host(host)
        return (name, None) in self._allowed or (
            port is not None and (name, port) in self._allowed)


def parse_allow_entry(entry: str) -> tuple[str, int | None]:
    """An allow-list entry as (normalised host, port or None for every port).

    ``host``, ``host:port``, ``[2001:db8::1]:port``, or a bare IPv6 address; ValueError
    for a port outside 1-65535.
    """
    entry = entry.strip()
    try:
        return _normalise_host(str(ipaddress.ip_address(entry.strip("[]")))), None
    except ValueError:
        pass
    host, sep, port_text = entry.rpartition(":")
    if not sep or (":" in host and not host.endswith("]")):
        return _normalise_host(entry), None
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ValueError(f"{entry!r}: the port must be 1 to 65535")
    return _normalise_host(host), int(port_text)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Page:
    """A fetched document: final URL, status, media type, decoded text and raw body."""

    url: str
    requested_url: str
    status: int
    content_type: str
    charset: str | None
    text: str
    body: bytes
    headers: dict[str, str]


# --- address checks -------------------------------------------------------------------


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def is_forbidden_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True if the address is not a public unicast address (private, loopback, CGNAT, ...)."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return is_forbidden_address(ip.ipv4_mapped)
        # Other IPv6 addresses that embed an IPv4 one can reach that IPv4 host.
        embedded = ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and is_forbidden_address(embedded):
            return True
        if ip.teredo is not None and any(is_forbidden_address(a) for a in ip.teredo):
            return True
        if ip.is_site_local:
            return True
    elif ip in _CGNAT:
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class GuardedResolver(AbstractResolver):
    """Resolver that refuses a host if any address it resolves to is forbidden."""

    def __init__(self, delegate: AbstractResolver, policy: FetchPolicy) -> None:
        self._delegate = delegate
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve through the wrapped resolver, then check every address."""
        results = await self._delegate.resolve(host, port, family)
        if self._policy.allows(host, port or None):
            return results
        for result in results:
            if is_forbidden_address(result["host"]):
                # The connector raises this unchanged; Fetcher re-raises it with the URL.
                raise BlockedAddressError(host, host, result["host"])
        return results

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._delegate.close()


class _GuardedConnector(aiohttp.TCPConnector):
    """TCP connector whose resolver checks addresses; marks a session as safe to fetch with."""

    def __init__(self, policy: FetchPolicy, delegate: AbstractResolver) -> None:
        super().__init__(resolver=GuardedResolver(delegate, policy))
        self.policy = policy
        self._guarded_resolver = self._resolver

    async def close(self, *, abort_ssl: bool = False) -> None:
        await super().close(abort_ssl=abort_ssl)
        # We passed the resolver in, so TCPConnector does not close it for us.
        await self._guarded_resolver.close()


def make_session(
    policy: FetchPolicy, *, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """A ClientSession whose connections only go to allowed addresses; ``resolver`` is wrapped."""
    connector = _GuardedConnector(policy, resolver if resolver is not None else DefaultResolver())
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": policy.user_agent},
        timeout=aiohttp.ClientTimeout(
            total=policy.timeout,
            connect=policy.connect_timeout,
            sock_connect=policy.connect_timeout,
        ),
        # We decompress ourselves so a compression bomb is cut at max_bytes.
        auto_decompress=False,
        # A proxy from the environment would be connected to instead of the checked address.
        trust_env=False,
    )


# --- decompression --------------------------------------------------------------------


class _CorruptError(Exception):
    """The compressed stream is broken."""


class _Decoder(Protocol):
    def feed(self, data: bytes, room: int) -> bytes:
        """Decompress ``data``; return at most ``room + 1`` bytes (more than room = too big)."""

    def flush(self, room: int) -> bytes:
        """Return what is still buffered, with the same bound."""


class _ZlibDecoder:
    """gzip or deflate, with the output bounded on every call."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        while data:
            try:
                chunk = self._obj.decompress(data, room + 1 - len(out))
            except zlib.error:
                if self._gzip or self._started:
                    raise _CorruptError from None
                # "deflate" is often sent raw, without the zlib header.
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
                try:
                    chunk = self._obj.decompress(data, room + 1 - len(out))
                except zlib.error:
                    raise _CorruptError from None
            self._started = True
            out += chunk
            if len(out) > room:
                break
            data = self._obj.unconsumed_tail
            if not data and self._obj.eof and self._gzip:
                rest = self._obj.unused_data
                if rest.startswith(b"\x1f\x8b"):  # another gzip member follows
                    self._obj = zlib.decompressobj(self._wbits)
                    data = rest
        return bytes(out)

    def flush(self, room: int) -> bytes:
        if self._obj.eof:
            return b""
        try:
            return self._obj.flush(room + 1)
        except zlib.error:
            raise _CorruptError from None


class _BrotliDecoder:
    """Brotli via a ``brotli`` module whose Decompressor can bound its output."""

    def __init__(self, module: Any) -> None:
        self._obj = module.Decompressor()
        self._error: type[Exception] = module.error

    def feed(self, data: bytes, room: int) -> bytes:
        try:
            out = bytearray(self._obj.process(data, max_output_length=room + 1))
            while len(out) <= room and not self._obj.can_accept_more_data():
                more = self._obj.process(b"", max_output_length=room + 1 - len(out))
                if not more:
                    break
                out += more
        except self._error:
            raise _CorruptError from None
        return bytes(out)

    def flush(self, room: int) -> bytes:
        return b""


@cache
def _brotli_module() -> Any:
    """The brotli module if installed and able to bound its output, else None."""
    try:
        import brotli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        brotli.Decompressor().process(b"", max_output_length=1)
        brotli.Decompressor().can_accept_more_data()
    except (TypeError, AttributeError):
        return None  # an unbounded decompressor would defeat the size cap
    return brotli


def _accept_encoding() -> str:
    return "gzip, deflate, br" if _brotli_module() is not None else "gzip, deflate"


def _decoder_for(encoding: str, url: str) -> _Decoder | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return _ZlibDecoder(gzip=True)
    if encoding == "deflate":
        return _ZlibDecoder(gzip=False)
    module = _brotli_module()
    if encoding == "br" and module is not None:
        return _BrotliDecoder(module)
    raise ContentDecodeError(url, encoding)


# --- content type and charset ---------------------------------------------------------


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """Split a Content-Type header into (bare media type, charset parameter or None)."""
    if not value:
        return "", None
    media, _, rest = value.partition(";")
    charset = None
    for param in rest.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").strip() or None
    return media.strip().lower(), charset


def sniff_content_type(body: bytes, accept: Collection[str]) -> str:
    """Guess a media type for a body sent without Content-Type ("" if it is not markup)."""
    head = body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n\f").lower()
    if head.startswith(b"<?xml") and "application/xml" in accept:
        return "application/xml"
    if head.startswith(b"<"):
        return "text/html"
    return ""


def _codec(name: str | bytes | None) -> str | None:
    """Python codec name for a charset label, or None if unknown or not a text encoding."""
    if not name:
        return None
    label = name.decode("ascii", "replace") if isinstance(name, bytes) else name
    try:
        info = codecs.lookup(label.strip())
        "".encode(info.name)  # rejects bytes-to-bytes codecs such as base64 or rot13
    except (LookupError, ValueError):
        return None
    # As browsers do: pages labelled latin-1 or ascii are really windows-1252.
    if info.name in ("iso8859-1", "ascii"):
        return "cp1252"
    return info.name


def decode_body(body: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode ``body``: BOM, then the header charset, then meta/XML declaration, then guess."""
    if not body:
        return "", _codec(declared)
    for bom, bom_codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            start = len(bom) if bom_codec == "utf-8" else 0
            return body[start:].decode(bom_codec, "replace"), bom_codec
    head = body[:_SNIFF_BYTES]
    in_page = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    meta_codec = _codec(in_page.group(1)) if in_page else None
    if meta_codec is not None and meta_codec.startswith("utf-16"):
        meta_codec = "utf-8"  # a declaration readable as ASCII cannot really mean UTF-16
    for codec in (_codec(declared), meta_codec):
        if codec is not None:
            try:
                return body.decode(codec, "replace"), codec
            except (LookupError, UnicodeError):
                continue
    # Declarations were handled above; let the detector judge the bytes alone.
    best = from_bytes(body, preemptive_behaviour=False).best()
    if best is not None and best.encoding:
        codec = _codec(best.encoding) or "utf-8"
        return body.decode(codec, "replace"), codec
    return body.decode("utf-8", "replace"), "utf-8"


# --- fetching -------------------------------------------------------------------------


def _parse_url(text: str, original: str, *, redirect: bool = False) -> URL:
    """Validate an http(s) URL with a host; literal IPs must be well formed."""
    message = (
        "That link redirects to something that is not a web link."
        if redirect
        else "That doesn't look like a web link."
    )
    # Host names a resolver would refuse ("a..b", a 64-character label), ports outside
    # 1-65535, spaces, several links: refused here with the reason, never half-way in.
    problem = url_problem(text)
    if problem is not None:
        raise InvalidURLError(message if redirect else problem, original)
    try:
        url = URL(text.strip())
        host = url.host
        port = url.port
        url.raw_host  # noqa: B018 (IDNA-encodes the host now, not while connecting)
    except (ValueError, TypeError):
        raise InvalidURLError(message, original) from None
    if url.scheme not in ("http", "https") or not host or port == 0:
        raise InvalidURLError(message, original)
    # aiohttp treats digits-and-dots or anything with ':' as an IP and skips the resolver,
    # so such a host must be a real IP address that we can check here.
    if ":" in host or host.replace(".", "").isdigit():
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise InvalidURLError(message, original) from None
    # Credentials typed into a chat link are not ours to send anywhere.
    return url.with_user(None).with_fragment(None)


def _check_literal_address(url: URL, policy: FetchPolicy, original: str) -> None:
    host = url.host or ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: checked by the resolver when connecting
    if not policy.allows(host, url.port) and is_forbidden_address(ip):
        raise BlockedAddressError(original, host, str(ip))


class Fetcher:
    """Fetches pages within a FetchPolicy, through a session built by ``make_session``."""

    def __init__(self, session: aiohttp.ClientSession, policy: FetchPolicy) -> None:
        connector = session.connector
        # Without the guarded resolver, host names would skip the SSRF check.
        if not isinstance(connector, _GuardedConnector):
            raise ValueError("Fetcher needs a session built by bot.fetch.make_session()")
        if connector.policy.allow_hosts != policy.allow_hosts:
            raise ValueError("the session and the Fetcher must share the same allow_hosts")
        self._session = session
        self._policy = policy

    async def fetch(
        self,
        url: str,
        *,
        accept: Collection[str] = HTML_TYPES,
        headers: Mapping[str, str] | None = None,
    ) -> Page:
        """GET ``url`` following redirects; a 304 comes back as a Page with empty text."""
        try:
            target = _parse_url(url, url)
        except InvalidURLError:
            logger.debug("fetch refused: not a web link")
            raise
        host = target.host or ""
        try:
            async with asyncio.timeout(self._policy.timeout):
                page = await self._fetch(url, target, frozenset(a.lower() for a in accept), headers)
        except TimeoutError:
            logger.debug("fetch %s: timed out", host)
            raise FetchTimeoutError(url, self._policy.timeout) from None
        except FetchError as exc:
            logger.debug("fetch %s: %s", host, type(exc).__name__)
            raise
        logger.debug("fetch %s: HTTP %d, %d bytes", host, page.status, len(page.body))
        return page

    async def _fetch(
        self,
        original: str,
        target: URL,
        accept: frozenset[str],
        extra: Mapping[str, str] | None,
    ) -> Page:
        policy = self._policy
        base = {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"}
        for name, value in (extra or {}).items():
            if name.lower() not in _RESERVED_HEADERS:
                base[name] = value
        base["Accept-Encoding"] = _accept_encoding()
        first_host = target.host
        for _hop in range(policy.max_redirects + 1):
            _check_literal_address(target, policy, original)
            sent = base
            if target.host != first_host:
                sent = {k: v for k, v in base.items() if k.lower() not in _CREDENTIAL_HEADERS}
            next_target = await self._one_hop(original, target, accept, sent)
            if isinstance(next_target, Page):
                return next_target
            target = next_target
        raise TooManyRedirectsError(original, policy.max_redirects)

    async def _one_hop(
        self, original: str, target: URL, accept: frozenset[str], headers: dict[str, str]
    ) -> Page | URL:
        """One request: a Page, or the URL the response redirects to."""
        host = target.host or ""
        try:
            async with self._session.get(
                target, headers=headers, allow_redirects=False
            ) as resp:
                return await self._handle(original, target, accept, resp)
        except BlockedAddressError as exc:
            raise BlockedAddressError(original, exc.host, exc.address) from None
        except aiohttp.ConnectionTimeoutError:
            raise FetchTimeoutError(original, self._policy.connect_timeout) from None
        except TimeoutError:
            raise  # caught in fetch() with the overall number of seconds
        except aiohttp.ClientConnectorCertificateError:
            raise ConnectError(
                f"I couldn't reach {host} securely (bad certificate).", original
            ) from None
        except (aiohttp.InvalidURL, UnicodeError):
            # UnicodeError: a host name the resolver's IDNA codec refuses.
            raise InvalidURLError("That doesn't look like a web link.", original) from None
        except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError):
            raise ConnectError(f"I couldn't reach {host}.", original) from None
        except aiohttp.ClientError:
            raise ConnectError(f"The connection to {host} broke off.", original) from None

    async def _handle(
        self,
        original: str,
        target: URL,
        accept: frozenset[str],
        resp: aiohttp.ClientResponse,
    ) -> Page | URL:
        policy = self._policy
        status = resp.status
        if status in _REDIRECT_STATUSES and "Location" in resp.headers:
            try:
                location = target.join(URL(resp.headers["Location"]))
            except (ValueError, TypeError):
                raise InvalidURLError(
                    "That link redirects to something that is not a web link.", original
                ) from None
            logger.debug("fetch %s: HTTP %d redirect", target.host, status)
            return _parse_url(str(location), original, redirect=True)
        kept = {k: resp.headers[k] for k in _KEPT_HEADERS if k in resp.headers}
        raw_type = resp.headers.get("Content-Type")
        media, charset = parse_content_type(raw_type)
        if status == 304:
            return Page(str(target), original, 304, media, charset, "", b"", kept)
        if status >= 300:
            raise HTTPStatusError(original, status)
        if media and media not in accept:
            raise UnsupportedContentError(original, media)
        length = resp.content_length
        if length is not None and length > policy.max_bytes:
            raise TooLargeError(original, policy.max_bytes)
        body = await self._read_body(original, resp)
        if not media:
            media = sniff_content_type(body, accept)
            if media not in accept:
                raise UnsupportedContentError(original, media)
        text, used = decode_body(body, charset)
        return Page(str(target), original, status, media, used, text, body, kept)

    async def _read_body(self, original: str, resp: aiohttp.ClientResponse) -> bytes:
        """Stream the body, decompressing as we go, and stop at max_bytes of output."""
        limit = self._policy.max_bytes
        decoder = _decoder_for(resp.headers.get("Content-Encoding", ""), original)
        out = bytearray()
        raw = 0
        try:
            async for chunk in resp.content.iter_chunked(_CHUNK):
                raw += len(chunk)
                if raw > limit:
                    raise TooLargeError(original, limit)
                part = chunk if decoder is None else decoder.feed(chunk, limit - len(out))
                if len(out) + len(part) > limit:
                    raise TooLargeError(original, limit)
                out += part
            if decoder is not None:
                part = decoder.flush(limit - len(out))
                if len(out) + len(part) > limit:
                    raise TooLargeError(original, limit)
                out += part
        except _CorruptError:
            raise ContentDecodeError(original, resp.headers.get("Content-Encoding", "")) from None
        return bytes(out)


# --- pages from the command line: a URL, a local file or standard input -----------------

LOCAL_SUFFIXES = (".html", ".htm", ".txt", ".xhtml")


@dataclass(frozen=True, slots=True)
class Source:
    """A page's content and the URL it came from, when known."""

    content: str | bytes
    url: str | None


def is_url(source: str) -> bool:
    """True for an http(s) link (anything else is taken as a local path)."""
    return source.startswith(("http://", "https://"))


def read_local(source: str) -> Source:
    """Read ``-`` (stdin) or a local file; a clear error when it can't be read."""
    if source == "-":
        return Source(sys.stdin.buffer.read(), None)
    try:
        with open(source, "rb") as handle:
            return Source(handle.read(), None)
    except OSError as exc:
        raise CommandError(f"Can't read {source}: {exc.strerror or exc}") from None


async def read_source(source: str, fetcher: Fetcher | None) -> Source:
    """The page for ``source``: fetched when it is a URL and a fetcher is given, else read."""
    if is_url(source):
        if fetcher is None:
            raise CommandError("Fetching links is not possible here.")
        page = await fetcher.fetch(source)
        return Source(page.text, page.url)
    return read_local(source)
