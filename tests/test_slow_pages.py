"""Pages that are expensive to read never stall the bot.

Links being read by the pipeline do not delay a person's chat command; a page past the
parse deadline is dead-lettered with a reason a person can read; and SIGTERM during such
reading still stops ``newsbot run`` at once (it used to wait for minutes of parsing).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from bot import keys
from bot.article import ParsePool
from bot.chat import Request
from bot.service import Newsbot
from tests.fakes import PageServer, article_html, story
from tests.pipeline_helpers import TOKEN, drained, pipeline_settings, stream_entries
from tests.stall import STALL, parse_or_misbehave

ROOT = Path(__file__).resolve().parent.parent
TITLE = "<title>Markets rally as rates fall again</title>"
# 40,000 inline numbers: minutes of CPU for the parser this bot had (quadratic key
# figures), about two seconds now.
HOSTILE = TITLE + "<p>" + "<b>12</b> " * 40_000 + "</p>"
# A 4.8 MB page of the same shape (under the 5 MB fetch cap).
HOSTILE_BIG = TITLE + "<p>" + "<b>12</b> " * 480_000 + "</p>"
G = "discord:g1"
SHUTDOWN_CEILING_S = 30.0


async def until(check: Callable[[], object], within: float = 30.0) -> None:
    """Wait until ``check()`` is truthy."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


def _executor_threads() -> int:
    """Threads of asyncio's default executor (where parsing used to run)."""
    return min(32, (os.cpu_count() or 1) + 4)


async def test_chat_answers_while_expensive_pages_are_being_read(
        redis: aioredis.Redis, pages: PageServer) -> None:
    pages.pages["/normal"] = article_html("Tram line opens to the docks", story(1, "tram"))
    slow = _executor_threads()
    for i in range(slow):
        pages.pages[f"/hostile-{i}"] = HOSTILE
    settings = pipeline_settings(workers=1, worker_concurrency=slow, parse_timeout_s=120)
    async with Newsbot(settings, redis=redis, block_ms=100) as bot:
        for i in range(slow):
            await bot.submit(pages.url(f"/hostile-{i}"), origin="api")
        await until(lambda: any(pages.hits.get(f"/hostile-{i}") for i in range(slow)))
        await asyncio.sleep(0.3)  # fetched: being parsed now
        # Expensive pages in flight, yet a person is answered at once.
        reply = await asyncio.wait_for(
            bot.handle(Request(G, "u1", "c1", False, text="help")), 1.0)
        assert reply.ok
        reply = await asyncio.wait_for(
            bot.handle(Request(G, "u1", "c1", False,
                               text=f"summarize {pages.url('/normal')}")), 1.0)
        assert reply.ok and reply.card is not None, reply.text
        assert reply.card.headline == "Tram line opens to the docks"


async def test_a_page_past_the_parse_deadline_is_dead_lettered_with_its_reason(
        redis: aioredis.Redis, pages: PageServer) -> None:
    pages.pages["/stall"] = article_html("Never read", story(2, "tram")) + STALL
    pages.pages["/fine"] = article_html("Read at once", story(3, "tram"))
    parser = ParsePool(workers=1, timeout_s=1, function=parse_or_misbehave)
    async with Newsbot(pipeline_settings(), redis=redis, block_ms=100, http=False,
                       parser=parser) as bot:
        await bot.submit(pages.url("/stall"), origin="api")
        await bot.submit(pages.url("/fine"), origin="api")
        await drained(redis, platforms=())
        dead = await stream_entries(redis, keys.DEAD_LETTER_STREAM)
        assert [(d["url"], d["reason"]) for _, d in dead] == [
            (pages.url("/stall"), "That page is too complex to read in 1 s.")]
        failed = bot.metrics.links_failed.labels(reason="ParseTimeoutError")._value.get()
        assert failed == 1
        assert bot.metrics.cards._value.get() == 1  # the next page was read


async def test_shutdown_gives_up_pages_being_read_and_leaves_their_links_pending(
        redis: aioredis.Redis, pages: PageServer) -> None:
    pages.pages["/stall"] = article_html("Never read", story(5, "tram")) + STALL
    parser = ParsePool(workers=1, timeout_s=120, function=parse_or_misbehave)
    bot = Newsbot(pipeline_settings(), redis=redis, block_ms=100, http=False, parser=parser)
    await bot.start()
    try:
        await bot.submit(pages.url("/stall"), origin="api")
        await until(lambda: pages.hits.get("/stall"))
        await asyncio.sleep(0.3)  # fetched: being parsed now
    finally:
        # A grace far longer than the test's patience: the parse is given up at once.
        await asyncio.wait_for(bot.close(grace_s=60), 10)
    assert await redis.xlen(keys.INGEST_STREAM) == 1  # pending for the next process
    assert await redis.xlen(keys.DEAD_LETTER_STREAM) == 0


async def test_sigterm_while_pages_are_being_read_stops_run(
        tmp_path: Path, pages: PageServer) -> None:
    for i in range(4):
        pages.pages[f"/hostile-{i}"] = HOSTILE_BIG
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("NEWSBOT_")}
    env.update(
        PYTHONPATH=str(ROOT), NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_HTTP_HOST="127.0.0.1", NEWSBOT_HTTP_PORT="0", NEWSBOT_INGEST_TOKEN=TOKEN,
        NEWSBOT_FETCH_ALLOW_HOSTS="127.0.0.1", NEWSBOT_LOG_FORMAT="json",
        NEWSBOT_LOG_LEVEL="INFO", NEWSBOT_PARSE_TIMEOUT_S="120",
    )
    # The console adapter on a pipe that stays open: the bot runs until the signal.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.guarded_run", cwd=workdir, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        base = None
        async with asyncio.timeout(60):
            while base is None:
                line = (await proc.stderr.readline()).decode(errors="replace")
                assert line, "\n".join(lines)
                lines.append(line.rstrip("\n"))
                found = re.search(r"HTTP on (http://127\.0\.0\.1:\d+)", line)
                base = found.group(1) if found else None
        reader = asyncio.create_task(_collect(proc.stderr, lines))
        async with aiohttp.ClientSession() as session:
            for i in range(4):
                async with session.post(
                    f"{base}/v1/links", json={"url": pages.url(f"/hostile-{i}")},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ) as resp:
                    assert resp.status == 202, await resp.text()
        await until(lambda: pages.hits.get("/hostile-1"))
        await asyncio.sleep(0.3)  # fetched: being parsed now

        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        # Designed for well under 5 s (the pages being read are given up at once); the
        # ceiling only tells "exits" from "waits for minutes of parsing", as it used to.
        returncode = await asyncio.wait_for(proc.wait(), SHUTDOWN_CEILING_S)
        took = time.monotonic() - started
        await asyncio.wait_for(reader, 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = "\n".join(lines)
    assert returncode == 0, f"shutdown took {took:.1f} s\n{log}"
    assert "Traceback" not in log, log
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [r for r in records if r.get("level") in ("error", "critical")], log
    assert records[-1]["message"] == "embedded Valkey stopped", log


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace").rstrip("\n"))
