"""Pages built to be expensive to read, and what bounds them: CPU and memory per page, and
the cost of the parse pool (start, restart, a worker killed at the deadline and replaced).

Usage: python bench/hostile.py [--quick] [--limit-s S]

Each page shape is parsed by ``parse_article`` in a child process of its own (so its peak
RSS is its own), given at most ``--limit-s`` seconds of wall time (a shape still running
then is reported as ``"> S"``). Then the pool: ``ParsePool.start()`` cold (the fork server
imports the parser) and warm (a second pool), and a page stuck past a 1 s deadline
followed by a normal page (the worker killed and a new one forked). The last line of
output is a JSON object: ``shapes`` (per shape: cpu_s, peak_rss_mb, outcome), the
slowest shape's CPU seconds, and the pool's figures in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE = "<title>Markets rally as rates fall again</title>"

SHAPES: dict[str, Callable[[], str]] = {
    "40k inline tags": lambda: "<p>" + "<b>x</b> " * 40_000 + "</p>",
    "40k inline numbers": lambda: TITLE + "<p>" + "<b>12</b> " * 40_000 + "</p>",
    "40k initials": lambda: TITLE + "<p>" + "<b>A.</b> " * 40_000 + "</p>",
    "4.5 MB of inline tags": lambda: "<p>" + "<b>x</b> " * 500_000 + "</p>",
    "4.8 MB of inline numbers": lambda: TITLE + "<p>" + "<b>12</b> " * 480_000 + "</p>",
    "nested 100k divs": lambda: TITLE + "<div>" * 100_000 + "deep" + "</div>" * 100_000,
    "nested 100k paragraphs": lambda: TITLE + "<p>" * 100_000 + "deep" + "</p>" * 100_000,
    "5 MB single line of numbers": lambda: TITLE + "<p>" + "12 " * 1_600_000 + "</p>",
    "5 MB single line of words": lambda: TITLE + "<p>" + "word " * 1_000_000 + "</p>",
}
QUICK = ("40k inline tags", "40k inline numbers", "nested 100k divs")


def child(shape: str) -> None:
    """Parse one shape and print cpu_s, peak_rss_mb and the outcome as JSON."""
    sys.path.insert(0, str(ROOT))
    from bot import parse_article
    from bot.errors import NewsbotError

    page = SHAPES[shape]()
    started = time.process_time()
    try:
        parse_article(page, "https://example.com/a")
        outcome = "card"
    except NewsbotError as exc:
        outcome = type(exc).__name__
    cpu = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cpu_s": round(cpu, 2), "peak_rss_mb": round(peak), "outcome": outcome}))


def measure(shape: str, limit_s: float) -> dict[str, object]:
    """One shape in its own process."""
    try:
        res = subprocess.run([sys.executable, __file__, "--child", shape],
                             capture_output=True, text=True, timeout=limit_s, check=True)
    except subprocess.TimeoutExpired:
        return {"cpu_s": f"> {limit_s:g}", "peak_rss_mb": None, "outcome": "still running"}
    result: dict[str, object] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


async def pool_figures() -> dict[str, float]:
    """Seconds to start a pool cold and warm, and to recover from a page past the deadline."""
    sys.path.insert(0, str(ROOT))
    from bot.article import ParsePool
    from bot.errors import ParseTimeoutError
    from tests.stall import STALL, parse_or_misbehave

    page = (ROOT / "tests" / "pages" / "jsonld_full_en.html").read_text(encoding="utf-8")
    figures: dict[str, float] = {}
    started = time.monotonic()
    async with ParsePool(workers=1, timeout_s=1, function=parse_or_misbehave) as pool:
        figures["pool_start_cold_s"] = round(time.monotonic() - started, 3)
        started = time.monotonic()
        await pool.parse(page)
        figures["first_page_s"] = round(time.monotonic() - started, 3)
        started = time.monotonic()
        with contextlib.suppress(ParseTimeoutError):
            await pool.parse(page + STALL)
        figures["deadline_hit_s"] = round(time.monotonic() - started, 3)
        started = time.monotonic()
        await pool.parse(page)
        figures["next_page_after_kill_s"] = round(time.monotonic() - started, 3)
    started = time.monotonic()
    async with ParsePool(workers=2, chat_lane=True):
        figures["pool_start_warm_s"] = round(time.monotonic() - started, 3)
    return figures


def main() -> None:
    """Measure every shape, then the pool; print a table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="three shapes only")
    parser.add_argument("--limit-s", type=float, default=120.0, help="wall time per shape")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    names = QUICK if args.quick else tuple(SHAPES)
    shapes = {}
    for name in names:
        shapes[name] = measure(name, args.limit_s)
        row = shapes[name]
        print(f"{name:<30} {row['cpu_s']!s:>8} s  {row['peak_rss_mb']!s:>6} MB  "
              f"{row['outcome']}", flush=True)
    pool = asyncio.run(pool_figures())
    for key, value in pool.items():
        print(f"{key:<30} {value:>8} s")
    numeric = [float(r["cpu_s"]) for r in shapes.values() if isinstance(r["cpu_s"], float | int)]
    print(json.dumps({"shapes": shapes, "slowest_cpu_s": max(numeric, default=None), **pool}))


if __name__ == "__main__":
    main()
