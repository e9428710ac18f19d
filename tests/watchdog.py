"""A test that hangs says where: every thread's and every asyncio task's stack.

pytest-timeout ends a hung test, but its stack shows only the event loop waiting in
``select``: the coroutine that waits forever is in a task. Before the timeout, this
watchdog writes every thread's stack and, through the session's event loop when it still
turns, every task's stack, to the real stderr (past pytest's capture).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from typing import TextIO


class Watchdog:
    """Dumps stacks once when one test (set-up, call and tear-down) runs past ``after`` s."""

    def __init__(self, after: float, out: TextIO) -> None:
        self.after = after
        self.out = out
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dumps = 0
        self._current: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="test-watchdog", daemon=True)

    def start(self) -> None:
        """Begin watching (a daemon thread)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()

    def test_started(self, nodeid: str) -> None:
        """A test begins its set-up."""
        with self._lock:
            self._current = (nodeid, time.monotonic())

    def test_ended(self) -> None:
        """The test's tear-down is over."""
        with self._lock:
            self._current = None

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                current = self._current
                overdue = current is not None and time.monotonic() - current[1] > self.after
                if overdue:
                    self._current = None  # once per test
            if overdue and current is not None:
                self.dump(current[0])

    def dump(self, nodeid: str) -> None:
        """Write every thread's stack now, and every task's stack from the loop."""
        self.dumps += 1
        print(f"\n=== {nodeid} has run over {self.after:.0f} s: threads ===",
              file=self.out, flush=True)
        names = {t.ident: t.name for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            print(f"--- thread {names.get(ident, ident)}", file=self.out)
            traceback.print_stack(frame, file=self.out)
        self.out.flush()
        loop = self.loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self._dump_tasks, nodeid)

    def _dump_tasks(self, nodeid: str) -> None:
        print(f"=== {nodeid}: asyncio tasks ===", file=self.out, flush=True)
        for task in asyncio.all_tasks():
            print(repr(task), file=self.out)
            task.print_stack(file=self.out)
        self.out.flush()
