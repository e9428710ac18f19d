"""Scale-out: links through the whole pipeline with 1 and 2 worker processes, then a cluster.

Each worker process is ``tests/crash_worker.py`` (what ``newsbot worker`` runs: pipeline
workers plus a sender, here posting to the harness's fake platform), pinned to a core of
its own (``--no-pin``: not): the unit of scale-out is a process per core, and a process
left free would spread its parse pool over both cores and leave a second process nothing
to add. The harness (article pages, the fake platform, the driver submitting the links)
is one minimal HTTP server in this process with every answer encoded before the clock
starts; the fake platform has no budgets, so fetch, parse, dedupe, match and delivery
are what is measured. A run submits every link at once and waits until every post
arrived; ``links_per_s`` is links over that wall time.

Runs: 1 process on one Valkey, 2 processes on one Valkey, 2 processes on a 3-primary
Valkey cluster (3 delivery shards). What each side used is measured beside the wall
clock: the workers' CPU (each process with its parse pool, from /proc), the harness's,
Redis's, and the Redis commands per link (per node on the cluster: a node that all
traffic hits shows there). The machine has 2 cores and may be shared with other work:
``links_per_cpu_s`` (links per CPU second of the workers) says whether a second process
costs more CPU per link when the wall clock cannot show it, and
``cpu_bound_speedup_2_vs_1`` (twice the ratio of the two) is the speed-up two processes
give when each has a core to itself.

Usage: ``python bench/scale.py [--quick] [--links N] [--no-pin]``; the last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.chat import Destination  # noqa: E402
from bot.keys import DEAD_LETTER_STREAM  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.pipeline.ingest import Ingest  # noqa: E402
from bot.redis_cluster import LocalCluster  # noqa: E402
from bot.redis_server import EmbeddedValkey, redis_client  # noqa: E402
from bot.subscriptions import SubscriptionStore  # noqa: E402
from tests.fakes import article_html, story  # noqa: E402

# Each post goes to a channel of its own guild: per-tenant keys spread over a cluster.
TENANTS = [f"discord:scale{i}" for i in range(4)]
CHANNELS = 4
_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # gone meanwhile


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (from /proc)."""
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / _TICK


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (its parse pool: fork server and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of a process itself and of everything under it, reaped children
    included (a parse worker that was replaced counts in its parent's cutime/cstime)."""
    def total(p: int) -> float:
        fields = _stat(p)
        if fields is None:
            return 0.0
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / _TICK
    own = cpu_seconds(pid)
    return own, total(pid) - own + sum(total(child) for child in descendants(pid))


def waited_for_core(pid: int) -> float:
    """Seconds the threads of a process and of everything under it spent runnable but
    waiting for a core (``run_delay`` of /proc/<tid>/schedstat): a loaded machine shows
    here, a worker waiting on Redis or the harness does not."""
    total = 0
    for proc in [pid, *descendants(pid)]:
        try:
            tasks = list(Path(f"/proc/{proc}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


class Harness(asyncio.Protocol):
    """The bench's whole outside world in one minimal HTTP/1.1 server: article pages
    (``GET``, answers rendered and encoded before the clock starts) and the chat
    platform (``POST /messages``, records each message once per nonce).

    Written on a bare ``asyncio.Protocol`` because the harness shares the machine's two
    cores with the workers it measures: with the tests' aiohttp fakes the harness took
    0.17 CPU s per 120 links, with this 0.10 (the driver's submissions included).
    Keep-alive, ``Content-Length`` bodies only (what aiohttp's client sends).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.world.transports.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.world.transports.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4:end], self.buffer[end:]
            method, path = head.split(" ", 2)[:2]
            assert self.transport is not None
            self.transport.write(self.world.answer(method, path, body))


class World:
    """What the harness serves and what it was sent."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.messages: dict[str, tuple[str, str]] = {}  # nonce -> (channel, headline)
        self.posts = 0
        self.changed = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.transports: set[asyncio.Transport] = set()
        self.port = 0

    @staticmethod
    def response(status: str, content_type: str, body: bytes) -> bytes:
        """A whole HTTP/1.1 response."""
        return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    def add_page(self, path: str, html: str) -> None:
        """Serve ``html`` at ``path`` (encoded now, not per request)."""
        self.pages[path] = self.response("200 OK", "text/html; charset=utf-8",
                                         html.encode())

    def answer(self, method: str, path: str, body: bytes) -> bytes:
        """The response to one request."""
        if method == "POST" and path == "/messages":
            data = json.loads(body)
            self.posts += 1
            nonce = str(data["nonce"])
            self.messages.setdefault(nonce, (str(data["channel"]), str(data["headline"])))
            self.changed.set()
            return self.response("200 OK", "application/json",
                                 json.dumps({"id": nonce}).encode())
        page = self.pages.get(path)
        if page is None:
            return self.response("404 Not Found", "text/plain", b"not found")
        return page

    async def start(self) -> World:
        """Listen on a free port of 127.0.0.1."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Harness(self), "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Stop listening and drop the connections."""
        if self.server is not None:
            self.server.close()
            for transport in list(self.transports):
                transport.close()
            await self.server.wait_closed()

    async def wait_for(self, n: int, dead: Callable[[], Awaitable[int]], per_dead: int,
                       timeout: float) -> int:  # noqa: ASYNC109
        """Wait until ``n`` distinct messages arrived, ``per_dead`` fewer for each entry
        ``dead()`` counts (links dead-lettered); how many were dead-lettered."""
        deadline = time.monotonic() + timeout
        failed = 0
        while len(self.messages) + per_dead * failed < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.messages)} of {n} messages after {timeout} s")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                # Quiet for a moment: only then ask Redis (not once per message).
                failed = int(await dead())
        return failed


def redis_calls(nodes: list[Any]) -> list[int]:
    """Commands each server has run so far (INFO commandstats)."""
    out = []
    for node in nodes:
        stats = node.info("commandstats")
        out.append(sum(int(v["calls"]) for v in stats.values()))
    return out


async def start_worker(redis_url: str, platform: World, shards: int,
                       core: int | None, parse_workers: int | None,
                       ) -> asyncio.subprocess.Process:
    """One bot process (2 pipeline workers, a sender); waits until it is consuming.

    ``core``: the process and everything it starts (its parse pool) run on that CPU only.
    """
    env = {**os.environ, "NEWSBOT_REDIS_URL": redis_url,
           "NEWSBOT_FETCH_ALLOW_HOSTS": "127.0.0.1", "NEWSBOT_LOG_LEVEL": "WARNING",
           "NEWSBOT_DISCORD_GLOBAL_RATE": "0", "NEWSBOT_DISCORD_CHANNEL_RATE": "0",
           "NEWSBOT_DELIVERY_SHARDS": str(shards), "NEWSBOT_WORKERS": "2",
           "NEWSBOT_WORKER_CONCURRENCY": "8"}
    if parse_workers is not None:
        env["NEWSBOT_PARSE_WORKERS"] = str(parse_workers)

    def pin() -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_worker", platform.base_url, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, preexec_fn=pin,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.strip() != b"ready":
        raise RuntimeError(f"worker did not start: {line!r}")
    return proc


def _cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


async def one_run(redis_url: str, processes: int, links: int, shards: int,
                  label: str, servers: tuple[list[int], list[Any]], *, pin: bool,
                  parse_workers: int | None) -> dict[str, Any]:
    """Submit ``links`` at once to ``processes`` workers; wall time until every post.

    ``servers``: the Redis servers' pids (for their CPU) and a plain client on each (for
    the commands each ran: a node all traffic goes to shows there).
    """
    redis_pids, nodes = servers
    redis = redis_client(redis_url)
    await redis.flushdb()
    store = SubscriptionStore(redis, max_per_user=1000)
    for i in range(CHANNELS):
        tenant = TENANTS[i % len(TENANTS)]
        await store.add(tenant, "admin", Destination(tenant, "channel", f"c{i}"), "syria")
    world = await World().start()
    cores = _cores()
    workers = [await start_worker(redis_url, world, shards,
                                  cores[i % len(cores)] if pin else None, parse_workers)
               for i in range(processes)]
    ingest = Ingest(redis, Metrics(), maxlen=100_000)
    try:
        for i in range(links):
            world.add_page(f"/{label}/{i}", article_html(
                f"Syria {label} {i}", story(10_000 + i, "Syria", paragraphs=25), chrome=i % 7))
        expected = links * CHANNELS
        trees0 = [tree_cpu(p.pid) for p in workers]
        delay0 = sum(waited_for_core(p.pid) for p in workers)
        own0 = time.process_time()
        redis0 = sum(cpu_seconds(pid) for pid in redis_pids)
        calls0 = redis_calls(nodes)
        load0 = os.getloadavg()[0]
        started = time.monotonic()
        for i in range(links):
            await ingest.submit(f"{world.base_url}/{label}/{i}", origin="bench")
        # A page the parser takes for no article is dead-lettered: its posts never come.
        not_read = await world.wait_for(
            expected, lambda: redis.xlen(DEAD_LETTER_STREAM), CHANNELS, timeout=600)
        wall = time.monotonic() - started
        trees1 = [tree_cpu(p.pid) for p in workers]
        delay = sum(waited_for_core(p.pid) for p in workers) - delay0
        own = time.process_time() - own0
        redis_cpu = sum(cpu_seconds(pid) for pid in redis_pids) - redis0
        calls = [b - a for a, b in zip(calls0, redis_calls(nodes), strict=True)]
        load1 = os.getloadavg()[0]
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            await proc.wait()
            if proc.stdout is not None:
                await proc.stdout.read()  # to its end: the pipe closes with the loop running
        # Dropped while the loop runs: a process object collected after asyncio.run
        # returned would complain that the loop is closed.
        workers.clear()
        gc.collect()
        await world.stop()
        await redis.aclose()
    main_cpu = sum(b[0] - a[0] for a, b in zip(trees0, trees1, strict=True))
    pool_cpu = sum(b[1] - a[1] for a, b in zip(trees0, trees1, strict=True))
    per_process = [round(b[0] + b[1] - a[0] - a[1], 2)
                   for a, b in zip(trees0, trees1, strict=True)]
    cpu = main_cpu + pool_cpu
    return {
        "processes": processes, "links": links, "posts": world.posts,
        "expected": expected, "duplicates": world.posts - len(world.messages),
        "links_not_read": not_read,
        "wall_s": round(wall, 2), "links_per_s": round(links / wall, 2),
        "worker_cpu_s": round(cpu, 2), "worker_main_cpu_s": round(main_cpu, 2),
        "parse_pool_cpu_s": round(pool_cpu, 2), "cpu_per_worker_process": per_process,
        "links_per_cpu_s": round(links / cpu, 2),
        "cores_used_by_workers": round(cpu / wall, 2),
        # Runnable but without a core (threads of the workers and their parse pools).
        "workers_waited_for_a_core_s": round(delay, 2),
        "harness_cpu_s": round(own, 2),
        "redis_cpu_s": round(redis_cpu, 2),
        "redis_commands_per_link": round(sum(calls) / links, 1),
        "redis_commands_per_node": calls,
        "load_before": round(load0, 2), "load_after": round(load1, 2),
    }


async def run(quick: bool, single: tuple[str, tuple[list[int], list[Any]]],
              cluster: tuple[str, tuple[list[int], list[Any]]], *, pin: bool,
              parse_workers: int | None, links: int | None) -> dict[str, Any]:
    """The three runs; the figures."""
    links = links or (120 if quick else 1200)
    opts: dict[str, Any] = {"pin": pin, "parse_workers": parse_workers}
    one = await one_run(single[0], 1, links, 1, "one", single[1], **opts)
    two = await one_run(single[0], 2, links, 1, "two", single[1], **opts)
    on_cluster = await one_run(cluster[0], 2, links, 3, "cluster", cluster[1], **opts)
    return {
        "quick": quick, "cores": os.cpu_count(), "pin": pin,
        "links_per_s_1": one["links_per_s"],
        "links_per_s_2": two["links_per_s"],
        "speedup_2_vs_1": round(two["links_per_s"] / one["links_per_s"], 2),
        "cluster_links_per_s": on_cluster["links_per_s"],
        "links_per_cpu_s_1": one["links_per_cpu_s"],
        "links_per_cpu_s_2": two["links_per_cpu_s"],
        "cpu_efficiency_2_vs_1": round(two["links_per_cpu_s"] / one["links_per_cpu_s"], 2),
        # What 2 processes give over 1 when each has a core of its own: the wall clock
        # shows it only on an idle machine; CPU per link shows it on a shared one.
        "cpu_bound_speedup_2_vs_1": round(2 * two["links_per_cpu_s"] / one["links_per_cpu_s"], 2),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "runs": {"one": one, "two": two, "cluster": on_cluster},
    }


def main() -> int:
    """Run on an embedded Valkey and a local 3-primary cluster, both in temp dirs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument(
        "--links", type=int, default=None,
        help="links per run (default 1,200: long enough that start-up and the last "
             "stragglers weigh little; 480 gave 1.54-1.87x on a quiet machine)")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let each worker process use every core")
    parser.add_argument("--parse-workers", type=int, default=None,
                        help="NEWSBOT_PARSE_WORKERS of each worker (default: its CPUs)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsbot-scale-") as tmp:
        server = EmbeddedValkey(Path(tmp) / "single")
        server.start()
        cluster = LocalCluster(primaries=3, base_dir=Path(tmp) / "cluster").start()
        try:
            cluster_url = cluster.url.replace("redis://", "redis+cluster://", 1)
            assert server.pid is not None
            single = ([server.pid], [redis.Redis.from_url(server.url, decode_responses=True)])
            on_cluster = ([n.process.pid for n in cluster.nodes if n.process is not None],
                          [n.client() for n in cluster.nodes])
            figures = asyncio.run(run(args.quick, (server.url, single),
                                      (cluster_url, on_cluster), pin=args.pin,
                                      parse_workers=args.parse_workers, links=args.links))
        finally:
            cluster.stop()
            server.stop()
    figures["wall_s"] = round(time.monotonic() - started, 1)
    for name, r in figures["runs"].items():
        print(f"{name}: {r['processes']} process(es), {r['links']} links, {r['posts']} posts "
              f"({r['expected']} expected, {r['duplicates']} duplicates, "
              f"{r['links_not_read']} links not read) in {r['wall_s']} s = "
              f"{r['links_per_s']} links/s; worker CPU {r['worker_cpu_s']} s "
              f"(main {r['worker_main_cpu_s']}, parse pool {r['parse_pool_cpu_s']}; "
              f"{r['links_per_cpu_s']} links per CPU s, {r['cores_used_by_workers']} cores; "
              f"waited {r['workers_waited_for_a_core_s']} s for a core); "
              f"harness CPU {r['harness_cpu_s']} s, Redis CPU {r['redis_cpu_s']} s; "
              f"per process {r['cpu_per_worker_process']}; Redis commands per link "
              f"{r['redis_commands_per_link']} (per node {r['redis_commands_per_node']}); "
              f"load {r['load_before']} -> {r['load_after']}")
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
