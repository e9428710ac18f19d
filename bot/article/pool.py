"""``parse_article`` in worker processes, each page within a deadline and a memory cap.

Some pages cost far more to read than their size suggests, and a single one must never
stall the bot. Pages are parsed in a small pool of processes (pebble's ``ProcessPool``):
the event loop only waits on a future, a page past the deadline has its process killed
and replaced, and a page that needs more memory than the cap fails inside its process.
Either way the caller gets a ``ParseError`` with a line a person can read.

Workers are forked from a fork server that imported the parser once, so starting or
replacing one costs milliseconds instead of the import, and the bot's own process never
loads the extraction libraries at all. Chat requests have a lane of their own: links from
the pipeline may occupy every process but one, so a person asking for a summary never
waits behind a backlog of feed items.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from pebble import ProcessExpired, ProcessFuture, ProcessPool

from bot.card import Card
from bot.errors import ParseError, ParseMemoryError, ParseTimeoutError

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: What a pool runs: ``parse_article``'s signature (tests substitute a slower parser).
ParseFunction = Callable[[str | bytes, str | None], Card]

# What the fork server imports once, so that every worker starts with it loaded: the
# parser, and the program's main module (multiprocessing imports that into each worker
# otherwise; like any program using multiprocessing, it must guard its entry point).
_PRELOAD = ["__main__", "bot.article.parse"]


_SHUTTING_DOWN = "The bot is shutting down: try again in a moment."
_CRASHED = "I couldn't read that page: reading it crashed."
# Exit code of a worker that retires before reading a page (see parse_in_worker).
_RETIRED = 75
# Set in each worker process: its memory cap in bytes, and whether an earlier page left
# it near that cap.
_cap = 0
_retire = False
# How the last card was made (explain_article's account), for explain_in_worker.
_last_why: dict[str, Any] = {}


def parse_in_worker(content: str | bytes, url: str | None) -> Card:
    """``parse_article`` in a worker (through ``explain_article``, whose account of the
    card ``explain_in_worker`` hands back); a failure near the memory cap is a MemoryError.

    libxml2 reports a failed allocation as a syntax error ("unknown error"), so a failure
    after this page's peak memory came near the cap is reported as what it was. A worker
    that ran out leaves: the next page goes to a fresh process.
    """
    global _retire, _last_why
    if _retire:
        os._exit(_RETIRED)  # the pool gives the page to a fresh worker
    from .parse import explain_article

    _reset_peak_memory()
    try:
        card, _last_why = explain_article(content, url)
        return card
    except MemoryError:
        _retire = True
        raise
    except Exception:
        if _cap and _peak_memory() >= 0.8 * _cap:
            _retire = True
            raise MemoryError("the page needed more memory than the cap") from None
        raise


def explain_in_worker(content: str | bytes,
                      url: str | None) -> tuple[Card, dict[str, Any]]:
    """``explain_article`` in a worker: the card and how each field was chosen."""
    card = parse_in_worker(content, url)
    return card, _last_why


def _reset_peak_memory() -> None:
    # Linux: writing 5 resets VmHWM, the peak resident memory.
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _peak_memory() -> int:
    """This process's peak resident memory in bytes since the last reset (0 if unknown)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _start_worker(memory_bytes: int) -> None:
    """Prepare a fresh worker process: memory cap, plain SIGTERM, quiet logging."""
    global _cap
    # pebble's handler would only run between two bytecodes, and a worker may sit in one
    # long C call (a regex, lxml): the default action ends it at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if memory_bytes > 0:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
            _cap = memory_bytes
        except (ImportError, ValueError, OSError):
            pass  # no RLIMIT_AS here (not Linux/BSD): the deadline still bounds a page
    # What the libraries say about odd markup ("discarding data", "empty HTML tree") is
    # told by the ParseError; only the bot's own errors (a bug) are worth a line.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("parse worker: %(name)s: %(message)s"))
    handler.addFilter(lambda record: record.name.split(".")[0] == "bot")
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR)


def _ready() -> int:
    """A no-op task: answers once a worker is up."""
    return os.getpid()


def default_workers(consumers: int) -> int:
    """Pipeline processes when not configured: one per CPU this process may run on (a
    process pinned to one core, or a container's cpuset, gets one), at most one per
    consumer."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, consumers))


class ParsePool:
    """Parses pages in worker processes with a per-page deadline and memory cap."""

    def __init__(
        self,
        *,
        workers: int = 1,
        chat_lane: bool = False,
        timeout_s: float = 5.0,
        memory_mb: int = 1024,
        function: ParseFunction = parse_in_worker,
    ) -> None:
        self.workers = max(1, workers)
        self.chat_lane = chat_lane
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.function = function
        self._pool: ProcessPool | None = None
        self._pipeline: asyncio.Semaphore | None = None
        self._closed = False
        self._lock: asyncio.Lock | None = None
        self._closing: asyncio.Future[None] | None = None
        self._pipeline_stopped = False
        self._pipeline_waiters: set[asyncio.Future[Card]] = set()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, consumers: int, chat_lane: bool = False,
        function: ParseFunction = parse_in_worker,
    ) -> ParsePool:
        """A pool sized by ``NEWSBOT_PARSE_WORKERS`` (default: CPUs, at most ``consumers``)."""
        workers = settings.parse_workers or default_workers(consumers)
        return cls(workers=workers, chat_lane=chat_lane, timeout_s=settings.parse_timeout_s,
                   memory_mb=settings.parse_max_memory_mb, function=function)

    @property
    def processes(self) -> int:
        """How many worker processes the pool keeps."""
        return self.workers + (1 if self.chat_lane else 0)

    async def __aenter__(self) -> ParsePool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the worker processes and wait until one answers (the fork server is up)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._pipeline = asyncio.Semaphore(self.workers)
            self._closing = asyncio.get_running_loop().create_future()
        async with self._lock:
            if self._closed:
                raise ParseError(_SHUTTING_DOWN)
            if self._pool is not None and not self._pool.active:
                log.warning("the parse pool broke; starting a new one")
                broken, self._pool = self._pool, None
                await _stop_within(broken, STOP_WITHIN_S)
            if self._pool is None:
                # Forking may wait for the fork server's imports: never on the event loop.
                boot = asyncio.ensure_future(asyncio.to_thread(self._boot))
                try:
                    self._pool = await asyncio.shield(boot)
                except asyncio.CancelledError:
                    # The thread goes on: stop what it starts, or it would outlive us.
                    boot.add_done_callback(_stop_when_booted)
                    raise

    def _boot(self) -> ProcessPool:
        context: BaseContext
        if "forkserver" in multiprocessing.get_all_start_methods():
            forkserver = multiprocessing.get_context("forkserver")
            forkserver.set_forkserver_preload(_PRELOAD)
            context = forkserver
        else:
            context = multiprocessing.get_context("spawn")
        pool = ProcessPool(
            max_workers=self.processes,
            initializer=_start_worker,
            initargs=(self.memory_mb * 1024 * 1024,),
            context=context,
        )
        try:
            pool.schedule(_ready).result(timeout=60)
        except BaseException:
            _stop(pool)
            raise
        log.debug("parse pool up: %d processes", self.processes)
        return pool

    async def parse(self, content: str | bytes, url: str | None = None, *,
                    chat: bool = False) -> Card:
        """The card for a page, parsed in a worker (a ``ParseError`` if it can't be read).

        ``chat`` pages (a person waiting) may use every process; pipeline pages leave one
        free for them when the pool has a chat lane.
        """
        card: Card = await self._call(self.function, content, url, chat)
        return card

    async def explain(self, content: str | bytes,
                      url: str | None = None) -> tuple[Card, dict[str, Any]]:
        """The card and how each field was chosen (``explain_article``), for a person."""
        result: tuple[Card, dict[str, Any]] = await self._call(
            explain_in_worker, content, url, True)
        return result

    async def _call(self, function: Callable[..., Any], content: str | bytes,
                    url: str | None, chat: bool) -> Any:
        if self._pipeline is None:
            await self.start()
        assert self._pipeline is not None
        async with contextlib.nullcontext() if chat else self._pipeline:
            for _attempt in range(3):
                if not chat and self._pipeline_stopped:
                    raise asyncio.CancelledError  # see stop_pipeline
                if self._closed:
                    raise ParseError(_SHUTTING_DOWN)
                if self._pool is None or not self._pool.active:
                    await self.start()
                try:
                    return await self._run(function, content, url, chat)
                except ProcessExpired as exc:
                    if exc.exitcode != _RETIRED:
                        # Killed from outside (the kernel's OOM killer) or crashed in C.
                        log.warning("parse worker for %s died (exit code %s)", url,
                                    exc.exitcode)
                        raise ParseError(_CRASHED) from None
                except BrokenProcessPool:
                    log.warning("the parse pool broke while reading %s", url)
            raise ParseError(_CRASHED)

    def stop_pipeline(self) -> None:
        """Shutting down: the pipeline's pages in progress are given up at once, and new
        ones too, by cancelling whoever waits for them (so a link stays pending for the
        next process, as work cut off by shutdown does; nothing is dead-lettered). Their
        workers are stopped, which frees the CPU for the rest of the shutdown. Chat
        pages go on until ``close``."""
        self._pipeline_stopped = True
        for waiter in list(self._pipeline_waiters):
            waiter.cancel()

    async def _run(self, function: Callable[..., Any], content: str | bytes,
                   url: str | None, chat: bool) -> Any:
        assert self._pool is not None and self._closing is not None
        try:
            future: ProcessFuture[Any] = self._pool.schedule(
                function, (content, url), timeout=self.timeout_s)
        except RuntimeError:  # pebble: "The Pool is not active" (broken or stopping)
            raise BrokenProcessPool("the parse pool is not running") from None
        waiter = asyncio.wrap_future(future)
        if not chat:
            self._pipeline_waiters.add(waiter)
        try:
            either: set[asyncio.Future[Any]] = {waiter, self._closing}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                raise ParseError(_SHUTTING_DOWN)
            return waiter.result()
        except TimeoutError:
            log.info("parse of %s stopped after %g s", url, self.timeout_s)
            raise ParseTimeoutError(self.timeout_s) from None
        except MemoryError:
            log.info("parse of %s ran out of its %d MB", url, self.memory_mb)
            raise ParseMemoryError(self.memory_mb) from None
        finally:
            self._pipeline_waiters.discard(waiter)
            # Given up on (cancelled, or shutting down): pebble stops its process.
            if not waiter.done():
                waiter.cancel()

    async def close(self) -> None:
        """Stop every worker process; pages still being read fail with a ParseError."""
        self._closed = True
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        async with self._lock or contextlib.nullcontext():  # a start under way ends first
            pool, self._pool = self._pool, None
        if pool is not None:
            # Workers end on SIGTERM at once (see _start_worker): this takes milliseconds.
            await _stop_within(pool, STOP_WITHIN_S)


#: how long stopping the pool may take before its workers are killed and it is left behind
STOP_WITHIN_S = 10.0


def _stop(pool: ProcessPool) -> None:
    pool.stop()  # type: ignore[no-untyped-call]
    pool.join()


async def _stop_within(pool: ProcessPool, seconds: float) -> None:
    """Stop ``pool`` in a thread of its own, and wait for it ``seconds`` at most.

    pebble's ``join`` waits for its manager threads without a timeout; one stuck on a
    worker's pipe would otherwise hold a shutdown (and a test run) forever.
    """
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[None] = loop.create_future()

    def stop() -> None:
        try:
            _stop(pool)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(_settle, stopped)

    threading.Thread(target=stop, name="parse-pool-stop", daemon=True).start()
    try:
        await asyncio.wait_for(asyncio.shield(stopped), seconds)
    except TimeoutError:
        log.warning("the parse pool did not stop within %g s: its workers are killed", seconds)
        with contextlib.suppress(Exception):  # pebble's internals: best effort
            pool._pool_manager.worker_manager.force_stop_workers()  # type: ignore[no-untyped-call]


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _stop_when_booted(boot: asyncio.Future[ProcessPool]) -> None:
    if not boot.cancelled() and boot.exception() is None:
        threading.Thread(target=_stop, args=(boot.result(),), name="parse-pool-stop").start()
