"""The consumer-group loop shared by pipeline workers and senders.

Reads new entries (and, every half lease, entries a dead consumer left pending: XAUTOCLAIM
with a min-idle time of one lease), runs up to ``concurrency`` of them at once, keeps the
ones in progress fresh so nobody else claims them, and acknowledges an entry only when
its handler says the work is done. Stopping finishes the entries in progress within a
grace period and leaves the rest pending for another consumer; nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.background import cancel_and_wait
from bot.metrics import Metrics
from bot.pipeline import streams

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
    ) -> None:
        self.redis = redis
        self.metrics = metrics
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.block_ms = block_ms
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

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

    async def _loop(self) -> None:
        next_reclaim = 0.0
        while not self._stopping:
            try:
                room = self.concurrency - len(self._inflight)
                if room <= 0:
                    await asyncio.wait(
                        list(self._inflight.values()), return_when=asyncio.FIRST_COMPLETED
                    )
                    continue
                entries: list[Entry] = []
                now = time.monotonic()
                if now >= next_reclaim:
                    next_reclaim = now + max(0.2, self.lease_s / 2)
                    entries = await streams.reclaim(
                        self.redis, self.stream, self.group, self.consumer,
                        min_idle_ms=int(self.lease_s * 1000), count=room,
                    )
                    entries = [e for e in entries if e.id not in self._inflight]
                    if entries:
                        self.metrics.reclaimed.labels(stream=self.stream).inc(len(entries))
                        log.info("%s: took over %d pending entries", self.consumer, len(entries))
                if not entries:
                    block = min(self.block_ms, max(1, int((next_reclaim - now) * 1000)))
                    entries = await streams.read(
                        self.redis, self.stream, self.group, self.consumer,
                        count=room, block_ms=block,
                    )
                for entry in entries:
                    if entry.id not in self._inflight:
                        self._inflight[entry.id] = asyncio.create_task(self._run(entry))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("%s: Redis error, retrying in 1 s: %s", self.consumer, exc)
                await asyncio.sleep(1.0)

    async def _run(self, entry: Entry) -> None:
        try:
            done = await self.handle(entry)
            if done:
                await streams.ack(self.redis, self.stream, self.group, entry.id)
        except asyncio.CancelledError:
            raise
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
            except (RedisError, OSError) as exc:
                log.warning("%s: could not refresh entries in progress: %s", self.consumer, exc)
