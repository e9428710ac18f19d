"""Scale-out: links through the whole pipeline with 1 and 2 worker processes, then a cluster.

Each worker process is ``tests/crash_worker.py`` (what ``newsbot worker`` runs: pipeline
workers plus a sender, here posting to a local fake platform). Pages come from a local
server; the fake platform has no budgets, so fetch, parse, dedupe, match and delivery are
what is measured. A run submits every link at once and waits until every post arrived;
``links_per_s`` is links over that wall time.

Runs: 1 process on one Valkey, 2 processes on one Valkey, 2 processes on a 3-primary
Valkey cluster (3 delivery shards). The machine has 2 cores and may be shared: the load
average and each run's worker CPU seconds are reported beside the wall-clock rates, and
``links_per_cpu_s`` (links per CPU second the workers used) says whether a second
process costs more CPU per link (it should not) when the wall clock cannot show it:
``cpu_bound_speedup_2_vs_1`` is twice the ratio of the two, the speed-up two processes
give when each has a core to itself. ``cpu_per_process`` (CPU seconds per wall second)
below 1 means the processes waited for a core (a loaded machine) or for I/O.

Usage: ``python bench/scale.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.chat import Destination  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.pipeline.ingest import Ingest  # noqa: E402
from bot.redis_cluster import LocalCluster  # noqa: E402
from bot.redis_server import EmbeddedValkey, redis_client  # noqa: E402
from bot.subscriptions import SubscriptionStore  # noqa: E402
from tests.fakes import FakePlatform, PageServer, article_html, story  # noqa: E402

TENANT = "discord:scale"
CHANNELS = 4
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


async def start_worker(redis_url: str, platform: FakePlatform,
                       shards: int) -> asyncio.subprocess.Process:
    """One bot process (2 pipeline workers, a sender); waits until it is consuming."""
    env = {**os.environ, "NEWSBOT_REDIS_URL": redis_url,
           "NEWSBOT_FETCH_ALLOW_HOSTS": "127.0.0.1", "NEWSBOT_LOG_LEVEL": "WARNING",
           "NEWSBOT_DISCORD_GLOBAL_RATE": "0", "NEWSBOT_DISCORD_CHANNEL_RATE": "0",
           "NEWSBOT_DELIVERY_SHARDS": str(shards), "NEWSBOT_WORKERS": "2",
           "NEWSBOT_WORKER_CONCURRENCY": "8"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_worker", platform.base_url, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.strip() != b"ready":
        raise RuntimeError(f"worker did not start: {line!r}")
    return proc


async def one_run(redis_url: str, processes: int, links: int, shards: int,
                  label: str, redis_pids: list[int]) -> dict[str, Any]:
    """Submit ``links`` at once to ``processes`` workers; wall time until every post."""
    redis = redis_client(redis_url)
    await redis.flushdb()
    store = SubscriptionStore(redis, max_per_user=1000)
    for i in range(CHANNELS):
        await store.add(TENANT, "admin", Destination(TENANT, "channel", f"c{i}"), "syria")
    pages = await PageServer().start()
    platform = await FakePlatform().start()
    workers = [await start_worker(redis_url, platform, shards) for _ in range(processes)]
    ingest = Ingest(redis, Metrics(), maxlen=100_000)
    try:
        for i in range(links):
            pages.pages[f"/{label}/{i}"] = article_html(
                f"Syria {label} {i}", story(10_000 + i, "Syria", paragraphs=25), chrome=i % 7)
        expected = links * CHANNELS
        cpu0 = sum(cpu_seconds(p.pid) for p in workers)
        own0 = time.process_time()
        redis0 = sum(cpu_seconds(pid) for pid in redis_pids)
        load0 = os.getloadavg()[0]
        started = time.monotonic()
        for i in range(links):
            await ingest.submit(pages.url(f"/{label}/{i}"), origin="bench")
        await platform.wait_for(expected, timeout=600)
        wall = time.monotonic() - started
        cpu = sum(cpu_seconds(p.pid) for p in workers) - cpu0
        own = time.process_time() - own0
        redis_cpu = sum(cpu_seconds(pid) for pid in redis_pids) - redis0
        load1 = os.getloadavg()[0]
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            await proc.wait()
        await platform.stop()
        await pages.stop()
        await redis.aclose()
    distinct = {(m.headline, m.channel) for m in platform.order}
    return {
        "processes": processes, "links": links, "posts": len(platform.order),
        "expected": expected, "duplicates": len(platform.order) - len(distinct),
        "wall_s": round(wall, 2), "links_per_s": round(links / wall, 2),
        "worker_cpu_s": round(cpu, 2), "links_per_cpu_s": round(links / cpu, 2),
        "cpu_per_process": round(cpu / wall / processes, 2),
        "bench_process_cpu_s": round(own, 2),
        "redis_cpu_s": round(redis_cpu, 2),
        "load_before": round(load0, 2), "load_after": round(load1, 2),
    }


async def run(quick: bool, single: tuple[str, list[int]],
              cluster: tuple[str, list[int]]) -> dict[str, Any]:
    """The three runs; the figures."""
    links = 60 if quick else 240
    one = await one_run(single[0], 1, links, 1, "one", single[1])
    two = await one_run(single[0], 2, links, 1, "two", single[1])
    on_cluster = await one_run(cluster[0], 2, links, 3, "cluster", cluster[1])
    return {
        "quick": quick, "cores": os.cpu_count(),
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
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsbot-scale-") as tmp:
        server = EmbeddedValkey(Path(tmp) / "single")
        server.start()
        cluster = LocalCluster(primaries=3, base_dir=Path(tmp) / "cluster").start()
        try:
            cluster_url = cluster.url.replace("redis://", "redis+cluster://", 1)
            assert server.pid is not None
            single_pids = [server.pid]
            cluster_pids = [n.process.pid for n in cluster.nodes if n.process is not None]
            figures = asyncio.run(run(args.quick, (server.url, single_pids),
                                      (cluster_url, cluster_pids)))
        finally:
            cluster.stop()
            server.stop()
    figures["wall_s"] = round(time.monotonic() - started, 1)
    for name, r in figures["runs"].items():
        print(f"{name}: {r['processes']} process(es), {r['links']} links, {r['posts']} posts "
              f"({r['expected']} expected, {r['duplicates']} duplicates) in {r['wall_s']} s = "
              f"{r['links_per_s']} links/s; worker CPU {r['worker_cpu_s']} s "
              f"({r['links_per_cpu_s']} links per CPU s, {r['cpu_per_process']} cores each); "
              f"Redis CPU {r['redis_cpu_s']} s; "
              f"load {r['load_before']} -> {r['load_after']}")
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
