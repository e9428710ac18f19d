"""Stopping a background task that swallows its first cancellation still stops it."""

from __future__ import annotations

import asyncio
import contextlib

from bot.background import cancel_and_wait


async def test_a_task_that_swallows_a_cancellation_is_still_stopped() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as a library might, once
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task, retry_s=0.05), timeout=5)
    assert task.cancelled() and swallowed == 1


async def test_an_error_of_the_task_is_raised() -> None:
    async def broken() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with contextlib.suppress(ValueError):
        await cancel_and_wait(task)
        raise AssertionError("the task's error was swallowed")
