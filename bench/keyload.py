"""Which keys every link touches: Redis commands per link by key family, and their slots.

One worker process (as in ``bench/scale.py``) reads links from a local harness on one
Valkey while ``MONITOR`` records every command; each command's keys are sorted into
families (the ingest stream, a tenant's keys, the dedupe keys, ...). A family whose
commands all land in one slot is what one node of a cluster serves for every link: the
hot spots to look at. Links are spread over ``TENANTS`` tenants (a channel each), so that
per-tenant keys show as spread.

Usage: ``python bench/keyload.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import World, start_worker  # noqa: E402
from bot.chat import Destination  # noqa: E402
from bot.keys import DEAD_LETTER_STREAM, key_slot  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.pipeline.ingest import Ingest  # noqa: E402
from bot.redis_server import EmbeddedValkey, redis_client  # noqa: E402
from bot.subscriptions import SubscriptionStore  # noqa: E402
from tests.fakes import article_html, story  # noqa: E402

TENANTS = 4
_NO_KEY = {"MULTI", "EXEC", "PING", "HELLO", "CLIENT", "INFO", "SCRIPT", "COMMAND",
           "SELECT", "WAIT"}
_VARIABLE = [
    (re.compile(r"\{t:[^}]*\}"), "{t:<tenant>}"),
    (re.compile(r"\{dl:[^}]*\}"), "{dl:<shard>}"),
    (re.compile(r"\{newsbot:[^}]*\}"), "{<key>}"),
]


def command_keys(args: list[str]) -> list[str]:
    """The keys of one monitored command (the commands the pipeline uses)."""
    name = args[0].upper()
    if name in _NO_KEY or len(args) < 2:
        return []
    if name in ("EVALSHA", "EVAL"):
        return args[3:3 + int(args[2])]
    if name in ("XREADGROUP", "XREAD"):
        upper = [a.upper() for a in args]
        rest = args[upper.index("STREAMS") + 1:]
        return rest[: len(rest) // 2]
    if name in ("DEL", "UNLINK", "EXISTS", "MGET"):
        return args[1:]
    return [args[1]]


def family(key: str) -> str:
    """``newsbot:{t:discord:g1}:sub:12`` -> ``newsbot:{t:<tenant>}:sub``,
    ``newsbot:posted:<key>`` -> ``newsbot:posted``."""
    for pattern, name in _VARIABLE:
        key = pattern.sub(name, key)
    parts = key.split(":")
    # A hash tag, then the key's kind; or, untagged, the kind and then an id.
    return ":".join(parts[:3] if parts[1].startswith("{") else parts[:2])


def monitor(url: str, seen: list[list[str]], stop: threading.Event) -> None:
    """Record every command the server runs until ``stop``."""
    client = redis.Redis.from_url(url, decode_responses=True)
    with client.monitor() as m:  # type: ignore[no-untyped-call]
        for event in m.listen():
            command = event.get("command", "")
            if command:
                seen.append(command.split())
            if stop.is_set():
                break
    client.close()


async def run(url: str, links: int) -> dict[str, Any]:
    """Links through one worker; commands per link by key family."""
    r = redis_client(url)
    await r.flushdb()
    store = SubscriptionStore(r, max_per_user=1000)
    for i in range(TENANTS):
        tenant = f"discord:scale{i}"
        await store.add(tenant, "admin", Destination(tenant, "channel", "c0"), "syria")
    world = await World().start()
    worker = await start_worker(url, world, 1, None, None)
    seen: list[list[str]] = []
    stop = threading.Event()
    thread = threading.Thread(target=monitor, args=(url, seen, stop), daemon=True)
    ingest = Ingest(r, Metrics(), maxlen=100_000)
    try:
        for i in range(links):
            world.add_page(f"/k/{i}", article_html(
                f"Syria {i}", story(20_000 + i, "Syria", paragraphs=25), chrome=i % 7))
        thread.start()
        await asyncio.sleep(0.5)
        first = len(seen)
        for i in range(links):
            await ingest.submit(f"{world.base_url}/k/{i}", origin="bench")
        await world.wait_for(links * TENANTS, lambda: r.xlen(DEAD_LETTER_STREAM), TENANTS,
                             timeout=600)
        await asyncio.sleep(0.5)
        commands = seen[first:]
    finally:
        stop.set()
        await r.ping()  # one more command wakes the monitor up to see the stop
        worker.terminate()
        await worker.wait()
        await world.stop()
        await r.aclose()
    calls: Counter[str] = Counter()
    slots: dict[str, set[int]] = defaultdict(set)
    for args in commands:
        for key in command_keys([a.strip('"') for a in args]):
            calls[family(key)] += 1
            slots[family(key)].add(key_slot(key))
    families = {
        name: {"per_link": round(count / links, 2), "slots": len(slots[name])}
        for name, count in calls.most_common()
    }
    return {"links": links, "posts_per_link": TENANTS,
            "commands_per_link": round(len(commands) / links, 1),
            "keyed_commands_per_link": round(sum(calls.values()) / links, 1),
            "families": families}


def main() -> int:
    """On an embedded Valkey in a temp dir."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsbot-keyload-") as tmp:
        server = EmbeddedValkey(Path(tmp) / "single")
        server.start()
        try:
            figures = asyncio.run(run(server.url, 20 if args.quick else 100))
        finally:
            server.stop()
    figures["wall_s"] = round(time.monotonic() - started, 1)
    for name, f in figures["families"].items():
        one = "ONE slot" if f["slots"] == 1 else f"{f['slots']} slots"
        print(f"{name:40} {f['per_link']:6} per link   {one}")
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
