"""The consumer-group loop shared by pipeline workers and senders.

Reads new entries (and, every half lease, entries a dead consumer left pending: XAUTOCLAIM
with a min-idle time of one lease), runs up to ``concurrency`` of them at once, keeps the
ones in progress fresh so nobody else claims them, and acknowledges an entry only when
its handler says the work is done. Stopping finishes the entries in progress within a
grace period and leaves the rest pending for another consumer; nothing is lost.

Redis going away is survived: a handler that failed on a Redis error leaves its entry
pending, and once Redis answers again the consumer takes up its own pending entries at
once (XREADGROUP ``0``) instead of waiting a lease for somebody to reclaim them. A Redis
that came back empty (restarted without persistence, FLUSHALL) answers NOGROUP: the group
is created again. ``healthy`` says whether the last read worked. Now and then, consumers
of dead processes (idle for ``forget_after_s``, nothing pending) are removed from the group.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.background import cancel_and_wait
from bot.metrics import Metrics
from bot.pipeline import streams
from bot.redis_server import REDIS_ERRORS

from .streams import Entry

log = logging.getLogger(__name__)


class StreamConsumer(ABC):
    """One consumer of a stream's consumer group; subclasses implement ``handle``."""

    def __init__(
        self,
        redis: aioredis.Redis,
        metrics: Metrics,
        *,
        stream: str,
        group: str,
        consumer: str,
        concurrency: int,
        lease_s: float,
        block_ms: int = 1000,
        forget_after_s: float = 3600.0,
    ) -> None:
        self.redis = redis
        self.metrics = metrics
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.block_ms = block_ms
        self.forget_after_s = forget_after_s
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        #: why the last read failed (None: it worked)
        self.last_error: str | None = None
        # When to take up this consumer's own pending entries again (after a Redis error),
        # and how many handlers failed on Redis in a row (the wait doubles, up to a lease).
        self._recheck_at: float | None = None
        self._handler_failures = 0

    @abstractmethod
    async def handle(self, entry: Entry) -> bool:
        """Process one entry; True acknowledges it, False leaves it pending for a retry."""

    async def start(self) -> None:
        """Create the group and start consuming in the background."""
        await streams.ensure_group(self.redis, self.stream, self.group)
        self._task = asyncio.create_task(self._loop(), name=f"consume-{self.consumer}")
        self._heartbeat = asyncio.create_task(self._beat(), name=f"beat-{self.consumer}")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop reading, let entries in progress finish within ``grace_s``, leave the rest."""
        self._stopping = True
        for task in (self._task, self._heartbeat):
            await cancel_and_wait(task)
        pending = list(self._inflight.values())
        if pending:
            _done, late = await asyncio.wait(pending, timeout=grace_s)
            if late:
                await asyncio.gather(*(cancel_and_wait(task) for task in late))
                log.info("%s: left %d entries pending for another consumer",
                         self.consumer, len(late))

    @property
    def busy(self) -> int:
        """Entries in progress."""
        return len(self._inflight)

    @property
    def healthy(self) -> bool:
        """Running, and its last read of the stream worked."""
        task = self._task
        return task is not None and not task.done() and self.last_error is None

    def _recheck_soon(self, delay_s: float = 1.0) -> None:
        at = time.monotonic() + delay_s
        if self._recheck_at is None or at < self._recheck_at:
            self._recheck_at = at

    async def _next_entries(self, room: int, now: float, next_reclaim: float) -> list[Entry]:
        """Own pending entries after an error, else (now and then) reclaimed ones, else new."""
        if self._recheck_at is not None and now >= self._recheck_at:
            entries, whole = await streams.read_own(
                self.redis, self.stream, self.group, self.consumer,
                count=room + len(self._inflight))
            if whole:
                self._recheck_at = None
            entries = [e for e in entries if e.id not in self._inflight][:room]
            if entries:
                log.info("%s: taking up %d of its pending entries again",
                         self.consumer, len(entries))
                return entries
        if now >= next_reclaim:
            entries, vanished = await streams.reclaim(
                self.redis, self.stream, self.group, self.consumer,
                min_idle_ms=int(self.lease_s * 1000), count=room,
            )
            if vanished:
                self.metrics.entries_vanished.labels(stream=self.stream).inc(vanished)
            entries = [e for e in entries if e.id not in self._inflight]
            if entries:
                self.metrics.reclaimed.labels(stream=self.stream).inc(len(entries))
                log.info("%s: took over %d pending entries", self.consumer, len(entries))
                return entries
        block = min(self.block_ms, max(1, int((next_reclaim - now) * 1000)))
        if self._recheck_at is not None:
            block = min(block, max(1, int((self._recheck_at - now) * 1000)))
        return await streams.read(
            self.redis, self.stream, self.group, self.consumer, count=room, block_ms=block,
        )

    async def _forget_dead(self) -> None:
        removed = await streams.forget_idle(
            self.redis, self.stream, self.group, self.consumer,
            min_idle_ms=int(self.forget_after_s * 1000))
        if removed:
            log.info("%s: removed %d idle consumers of %s with nothing pending: %s",
                     self.consumer, len(removed), self.stream, ", ".join(removed[:5]))

    def _failed(self, exc: BaseException) -> None:
        first = self.last_error is None
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        if first:
            log.warning("%s: cannot read %s: %s", self.consumer, self.stream, self.last_error)

    async def _loop(self) -> None:
        next_reclaim = 0.0
        next_forget = time.monotonic() + min(300.0, self.forget_after_s / 2)
        while not self._stopping:
            try:
                room = self.concurrency - len(self._inflight)
                if room <= 0:
                    await asyncio.wait(
                        list(self._inflight.values()), return_when=asyncio.FIRST_COMPLETED
                    )
                    continue
                now = time.monotonic()
                reclaim_due = now >= next_reclaim
                entries = await self._next_entries(room, now, next_reclaim)
                if reclaim_due:
                    next_reclaim = now + max(0.2, self.lease_s / 2)
                if self.last_error is not None:
                    log.info("%s: reading %s again", self.consumer, self.stream)
                    self.last_error = None
                for entry in entries:
                    if entry.id not in self._inflight:
                        self._inflight[entry.id] = asyncio.create_task(self._run(entry))
                if now >= next_forget:
                    next_forget = now + min(300.0, self.forget_after_s / 2)
                    await self._forget_dead()
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                self._failed(exc)
                if streams.is_nogroup(exc):
                    await self._recreate_group()
                else:
                    await asyncio.sleep(1.0)
            except REDIS_ERRORS as exc:
                # Redis is away: our entries in progress may fail too; take them up again
                # as soon as it answers, not a lease later.
                self._failed(exc)
                self._recheck_soon(0.0)
                await asyncio.sleep(1.0)
            except Exception:
                # The loop must outlive anything (a client bug in a fail-over included):
                # a consumer that stops reading leaves its stream to pile up unseen.
                log.exception("%s: unexpected error reading; retrying in 1 s", self.consumer)
                await asyncio.sleep(1.0)

    async def _recreate_group(self) -> None:
        """The group is gone (Redis came back empty): create it again, from the start."""
        log.warning("%s: the consumer group %s of %s is gone (Redis restarted empty?); "
                    "creating it again", self.consumer, self.group, self.stream)
        try:
            await streams.ensure_group(self.redis, self.stream, self.group)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            await asyncio.sleep(1.0)

    async def _run(self, entry: Entry) -> None:
        try:
            done = await self.handle(entry)
            if done:
                await streams.ack(self.redis, self.stream, self.group, entry.id)
            self._handler_failures = 0
        except asyncio.CancelledError:
            raise
        except REDIS_ERRORS as exc:
            # No traceback: an outage is not a bug. The entry stays pending, ours.
            log.warning("%s: entry %s left pending: Redis error: %s", self.consumer,
                        entry.id, exc)
            self._handler_failures += 1
            self._recheck_soon(min(self.lease_s, 2.0 ** min(self._handler_failures - 1, 10)))
        except Exception:
            log.exception("%s: entry %s failed; left pending", self.consumer, entry.id)
        finally:
            self._inflight.pop(entry.id, None)

    async def _beat(self) -> None:
        interval = max(0.1, self.lease_s / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await streams.touch(
                    self.redis, self.stream, self.group, self.consumer, list(self._inflight)
                )
            except Exception as exc:  # never let the heartbeat die (see _loop)
                log.warning("%s: could not refresh entries in progress: %s", self.consumer, exc)
