"""The test watchdog names the coroutine a hung test waits in."""

from __future__ import annotations

import asyncio
import io

from tests.watchdog import Watchdog


async def _waits_forever(event: asyncio.Event) -> None:
    await event.wait()


async def test_an_overdue_test_gets_its_tasks_stacks_written() -> None:
    out = io.StringIO()
    dog = Watchdog(after=0.2, out=out)
    dog.loop = asyncio.get_running_loop()
    never = asyncio.Event()
    task = asyncio.create_task(_waits_forever(never))
    dog.start()
    try:
        dog.test_started("tests/x.py::test_hangs")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if "asyncio tasks" in out.getvalue():
                break
        dog.test_ended()
    finally:
        dog.stop()
        task.cancel()
    text = out.getvalue()
    assert "tests/x.py::test_hangs has run over" in text
    assert "_waits_forever" in text  # the task's own frame, not only the loop's select
    assert dog.dumps == 1


async def test_a_test_that_ends_in_time_is_left_alone() -> None:
    out = io.StringIO()
    dog = Watchdog(after=5.0, out=out)
    dog.start()
    try:
        dog.test_started("tests/x.py::test_quick")
        await asyncio.sleep(0.6)
        dog.test_ended()
    finally:
        dog.stop()
    assert out.getvalue() == "" and dog.dumps == 0
