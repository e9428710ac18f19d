"""Parsing is bounded: each page is read in a worker process within a deadline and a
memory cap, and pages built to be expensive end as a card or a readable ParseError.

The bounds are enforced by the pool (a worker past the deadline is killed and replaced),
so these tests assert what comes back, never how long it took. Misbehaving parsers
(spinning, sleeping, crashing, hoarding memory) come from ``tests/stall.py``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.article import ParsePool
from bot.card import Card
from bot.errors import NotAnArticleError, ParseError, ParseMemoryError, ParseTimeoutError
from tests.stall import CRASH, GREEDY, SLEEP, STALL, parse_or_misbehave

PAGE = (Path(__file__).parent / "pages" / "jsonld_full_en.html").read_text(encoding="utf-8")
HEADLINE = "Council backs tram extension to the eastern docks"
TITLE = "<title>Markets rally as rates fall again</title>"

# Pages built to be expensive (each took from seconds to minutes, some over 1 GB, before
# parsing was made linear for them; the pool bounds whatever is left). More shapes, with
# their CPU time and peak memory, in bench/hostile.py.
HOSTILE: dict[str, Callable[[], str]] = {
    "40k inline tags": lambda: "<p>" + "<b>x</b> " * 40_000 + "</p>",
    "40k inline numbers": lambda: TITLE + "<p>" + "<b>12</b> " * 40_000 + "</p>",
    "4.5 MB of inline tags": lambda: "<p>" + "<b>x</b> " * 500_000 + "</p>",
    "nested 100k divs": lambda: TITLE + "<div>" * 100_000 + "deep" + "</div>" * 100_000,
    "5 MB single line of numbers": lambda: TITLE + "<p>" + "12 " * 1_600_000 + "</p>",
    "5 MB single line, plain text": lambda: "Markets rally\n\n" + "12 " * 1_600_000,
}


@pytest.fixture
async def pool() -> AsyncIterator[ParsePool]:
    """The bot's default bounds: one worker, 5 s and 1 GB per page."""
    async with ParsePool(workers=1) as running:
        yield running


async def outcome(pool: ParsePool, page: str) -> Card | ParseError:
    try:
        return await pool.parse(page, "https://example.com/a")
    except ParseError as exc:
        return exc


@pytest.mark.parametrize("shape", list(HOSTILE))
async def test_an_expensive_page_ends_as_a_card_or_a_readable_error(
        pool: ParsePool, shape: str) -> None:
    result = await outcome(pool, HOSTILE[shape]())
    assert isinstance(result, Card | ParseError), result
    if isinstance(result, ParseError):
        assert result.user_message.endswith("."), result.user_message
        assert "Traceback" not in result.user_message
    # The worker that read it is fit for the next page.
    assert (await pool.parse(PAGE)).headline == HEADLINE


async def test_an_expensive_page_within_a_small_memory_cap() -> None:
    async with ParsePool(workers=1, memory_mb=200) as small:
        result = await outcome(small, HOSTILE["4.5 MB of inline tags"]())
        assert isinstance(result, Card | ParseError), result
        assert (await small.parse(PAGE)).headline == HEADLINE


async def test_a_page_past_the_deadline_stops_its_worker_and_says_so() -> None:
    async with ParsePool(workers=1, timeout_s=1, function=parse_or_misbehave) as pool:
        for marker in (STALL, SLEEP):  # a loop in Python, and a call that never returns
            with pytest.raises(ParseTimeoutError) as caught:
                await pool.parse(PAGE + marker)
            assert caught.value.user_message == "That page is too complex to read in 1 s."
            # The one worker was killed and replaced: the next page is read.
            assert (await pool.parse(PAGE)).headline == HEADLINE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
async def test_a_page_past_the_memory_cap_fails_in_its_worker() -> None:
    async with ParsePool(workers=1, memory_mb=300, timeout_s=60,
                         function=parse_or_misbehave) as pool:
        with pytest.raises(ParseMemoryError) as caught:
            await pool.parse(PAGE + GREEDY)
        assert caught.value.user_message == (
            "That page is too complex to read within 300 MB of memory.")
        assert (await pool.parse(PAGE)).headline == HEADLINE


async def test_a_parse_error_arrives_whole_from_its_worker(pool: ParsePool) -> None:
    wall = (Path(__file__).parent / "pages" / "cookie_wall.html").read_text(encoding="utf-8")
    with pytest.raises(NotAnArticleError) as caught:
        await pool.parse(wall, "https://example.com/a")
    assert caught.value.kind == "consent"  # the subclass and its data, not just a message


async def test_a_worker_that_dies_is_replaced() -> None:
    async with ParsePool(workers=1, function=parse_or_misbehave) as pool:
        with pytest.raises(ParseError, match="crashed"):
            await pool.parse(PAGE + CRASH)
        assert (await pool.parse(PAGE)).headline == HEADLINE


async def test_a_parse_given_up_on_stops_its_worker() -> None:
    # A deadline far away: only killing the spinning worker frees the pool's one process.
    async with ParsePool(workers=1, timeout_s=120, function=parse_or_misbehave) as pool:
        spinning = asyncio.create_task(pool.parse(PAGE + STALL))
        await asyncio.sleep(0.5)
        spinning.cancel()
        with pytest.raises(asyncio.CancelledError):
            await spinning
        card = await asyncio.wait_for(pool.parse(PAGE), 30)
        assert card.headline == HEADLINE


async def test_chat_has_a_lane_of_its_own() -> None:
    async with ParsePool(workers=1, chat_lane=True, timeout_s=120,
                         function=parse_or_misbehave) as pool:
        assert pool.processes == 2
        # The pipeline's process is stuck on a page, and more pages wait behind it...
        stuck = [asyncio.create_task(pool.parse(PAGE + STALL)) for _ in range(3)]
        await asyncio.sleep(0.5)
        # ...yet a person asking for a summary is answered by the process kept for chat.
        card = await asyncio.wait_for(pool.parse(PAGE, chat=True), 30)
        assert card.headline == HEADLINE
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)


async def test_stopping_the_pipeline_gives_up_its_pages_at_once_but_not_chat() -> None:
    async with ParsePool(workers=1, chat_lane=True, timeout_s=120,
                         function=parse_or_misbehave) as pool:
        spinning = asyncio.create_task(pool.parse(PAGE + STALL))
        await asyncio.sleep(0.5)
        pool.stop_pipeline()
        # Cancelled, as work cut off by a shutdown is: the link stays pending, no error.
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(spinning, 10)
        with pytest.raises(asyncio.CancelledError):
            await pool.parse(PAGE)
        assert (await asyncio.wait_for(pool.parse(PAGE, chat=True), 30)).headline == HEADLINE


async def test_closing_ends_pages_in_progress_with_a_readable_error() -> None:
    pool = ParsePool(workers=1, timeout_s=120, function=parse_or_misbehave)
    await pool.start()
    sleeping = asyncio.create_task(pool.parse(PAGE + SLEEP))
    await asyncio.sleep(0.5)
    await asyncio.wait_for(pool.close(), 10)
    with pytest.raises(ParseError, match="shutting down"):
        await sleeping
    with pytest.raises(ParseError, match="shutting down"):
        await pool.parse(PAGE)


def test_default_workers_follow_the_cpus_this_process_may_use() -> None:
    """A process pinned to one core (a worker per core, a container's cpuset) parses in
    one pipeline process, not one per core of the machine."""
    import os

    from bot.article import default_workers

    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert default_workers(8) == 1
    finally:
        os.sched_setaffinity(0, allowed)
    assert default_workers(8) == min(len(allowed), 8)
    assert default_workers(1) == 1


async def test_a_pool_that_will_not_stop_does_not_hold_the_close(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """pebble's join waits without a timeout: a stuck one must not hold a shutdown."""
    import bot.article.pool as pool_module

    real_stop = pool_module._stop
    release = threading.Event()

    def stuck(pool: Any) -> None:
        release.wait(60)  # a join that never returns (until the test lets it go)

    monkeypatch.setattr(pool_module, "_stop", stuck)
    monkeypatch.setattr(pool_module, "STOP_WITHIN_S", 0.5)
    pool = ParsePool(workers=1)
    await pool.start()
    running = pool._pool
    assert running is not None
    try:
        await asyncio.wait_for(pool.close(), 10)
    finally:
        release.set()
        await asyncio.to_thread(real_stop, running)
    with pytest.raises(ParseError, match="shutting down"):
        await pool.parse(PAGE)
