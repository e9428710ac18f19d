"""The Redis a benchmark runs on: ``NEWSBOT_REDIS_URL`` when set, else an embedded Valkey.

One place for what five benchmarks did alike: the embedded server lives in a temporary
directory for the run and is stopped however the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bot.redis_server import EmbeddedValkey

T = TypeVar("T")


def run_on_redis(run: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(run(url))`` on the configured Redis, or on a fresh embedded Valkey."""
    configured = os.environ.get("NEWSBOT_REDIS_URL")
    if configured:
        return asyncio.run(run(configured))
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        server = EmbeddedValkey(Path(tmp))
        server.start()
        try:
            return asyncio.run(run(server.url))
        finally:
            with contextlib.suppress(Exception):  # the figures matter more than the stop
                server.stop()
