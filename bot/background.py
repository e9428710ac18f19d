"""Background tasks of long-running components (poller, digests, matcher sync, consumers)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None, *, retry_s: float = 0.5) -> None:
    """Cancel ``task`` (if any) and wait until it has really ended.

    A cancellation can be swallowed on its way through a library (Python 3.11's
    ``asyncio.timeout`` may take it for its own when both fire at once), leaving the task
    running, and whoever awaits it waiting forever: so ask again until it has ended.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_s)
    with contextlib.suppress(asyncio.CancelledError):
        await task
