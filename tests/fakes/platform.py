"""A fake chat platform at the network boundary, and the adapter that posts to it.

* ``FakePlatform`` records messages posted to it, enforces per-channel and global
  sliding-window budgets (429 + Retry-After when exceeded, counted), can answer 500s and
  404s (channel gone), and honours the nonce: a repeated nonce returns the first message.
* ``HttpAdapter`` is an ``Adapter`` that posts each ``Post`` as JSON to that platform.

Used by the pipeline tests, the crash test's worker process and ``bench/deliver.py``
(article pages for them come from ``tests.fakes.pages``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.chat.contract import (
    DestinationGoneError,
    MessageGoneError,
    Post,
    RateLimitedError,
    TransientPostError,
)

from .base import LocalServer


@dataclass
class Window:
    """A sliding window: at most ``count`` arrivals in any ``period`` seconds."""

    count: int
    period: float
    times: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """0 if one more arrival fits now, else seconds until it would."""
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.count:
            return 0.0
        return self.times[-self.count] + self.period - now

    def add(self, now: float) -> None:
        """Record an arrival."""
        self.times.append(now)


@dataclass
class Message:
    """One created message."""

    nonce: str
    channel: str
    at: float
    ready_at: float | None
    headline: str | None
    note: str | None
    also: list[str]
    #: edits applied (PATCH), and the revision the last one showed
    edits: int = 0
    revision: int = 0


class FakePlatform(LocalServer):
    """A chat platform's ``POST /messages`` with budgets, failures and nonce dedupe."""

    def __init__(
        self,
        *,
        channel_budget: tuple[int, float] | None = None,
        global_budget: tuple[int, float] | None = None,
        fail_rate: float = 0.0,
        always_fail: set[str] | None = None,
        gone: set[str] | None = None,
        delay_s: float = 0.0,
        seed: int = 1,
    ) -> None:
        super().__init__()
        self.channel_budget = channel_budget
        self.global_budget = global_budget
        self.fail_rate = fail_rate
        self.always_fail = always_fail or set()
        self.gone = gone or set()
        self.delay_s = delay_s
        self.rng = random.Random(seed)
        self.messages: dict[str, Message] = {}
        self.order: list[Message] = []
        self.requests = 0
        self.replays = 0
        self.http_429 = 0
        self.http_429_global = 0
        self.http_500 = 0
        self.budget_violations = 0
        self._windows: dict[str, Window] = {}
        self._global: Window | None = (
            Window(*global_budget) if global_budget is not None else None
        )
        self.changed = asyncio.Event()
        self.app.router.add_post("/messages", self._post)
        self.app.router.add_patch("/messages/{id}", self._edit)
        #: every edit request: (message id, revision, headline)
        self.edits: list[tuple[str, int, str | None]] = []

    def count(self, nonce_prefix: str = "") -> int:
        """Messages created (once per nonce) whose nonce starts with the prefix."""
        return sum(1 for n in self.messages if n.startswith(nonce_prefix))

    async def _post(self, request: web.Request) -> web.Response:
        self.requests += 1
        data: dict[str, Any] = await request.json()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        now = time.monotonic()
        channel = str(data["channel"])
        nonce = str(data["nonce"])
        if channel in self.gone:
            return web.json_response({"code": 10003, "message": "Unknown Channel"}, status=404)
        failing = nonce in self.always_fail or channel in self.always_fail
        if failing or (self.fail_rate and self.rng.random() < self.fail_rate):
            self.http_500 += 1
            return web.json_response({"message": "internal"}, status=500)
        existing = self.messages.get(nonce)
        if existing is not None:
            self.replays += 1
            return web.json_response({"id": nonce})
        window = None
        if self.channel_budget is not None:
            window = self._windows.setdefault(channel, Window(*self.channel_budget))
        channel_wait = window.wait(now) if window is not None else 0.0
        global_wait = self._global.wait(now) if self._global is not None else 0.0
        wait = max(channel_wait, global_wait)
        if wait > 0:
            self.http_429 += 1
            self.http_429_global += global_wait > 0
            return web.json_response(
                {"message": "rate limited", "retry_after": wait},
                status=429, headers={"Retry-After": f"{wait:.3f}"},
            )
        if window is not None:
            window.add(now)
        if self._global is not None:
            self._global.add(now)
        message = Message(
            nonce, channel, time.time(), data.get("ready_at"), data.get("headline"),
            data.get("note"), list(data.get("also") or []),
        )
        self.messages[nonce] = message
        self.order.append(message)
        self.changed.set()
        return web.json_response({"id": nonce})

    async def _edit(self, request: web.Request) -> web.Response:
        data: dict[str, Any] = await request.json()
        message = self.messages.get(request.match_info["id"])
        if message is None:
            return web.json_response({"code": 10008, "message": "Unknown Message"}, status=404)
        message.edits += 1
        message.revision = int(data.get("revision") or 0)
        message.headline = data.get("headline")
        self.edits.append((message.nonce, message.revision, message.headline))
        self.changed.set()
        return web.json_response({"id": message.nonce})

    async def wait_for(self, n: int, timeout: float, prefix: str = "") -> None:  # noqa: ASYNC109
        """Wait until at least ``n`` messages (with the nonce prefix) exist."""
        deadline = time.monotonic() + timeout
        while self.count(prefix) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.count(prefix)} of {n} messages after {timeout} s")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.2))


class HttpAdapter:
    """An Adapter that posts each Post as JSON to a FakePlatform (or any such endpoint)."""

    def __init__(self, platform: str, base_url: str, timeout_s: float = 10.0) -> None:
        self.platform = platform
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.session: aiohttp.ClientSession | None = None
        self.sent: list[Post] = []
        self._sent_changed = asyncio.Condition()

    @property
    def connected(self) -> bool:
        """True between start and close."""
        return self.session is not None

    async def start(self) -> None:
        """Open the HTTP session."""
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))

    async def close(self) -> None:
        """Close the HTTP session."""
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def post(self, post: Post) -> str:
        """POST the post; map 429/5xx/404 to the PostError subclasses."""
        if self.session is None:
            raise TransientPostError("not connected")
        payload = {
            "channel": str(post.destination),
            "nonce": post.key,
            "headline": post.card.headline if post.card is not None else None,
            "note": post.note,
            "also": list(post.also_reported_by),
            "ready_at": post.ready_at,
        }
        try:
            async with self.session.post(f"{self.base_url}/messages", json=payload) as resp:
                data: dict[str, Any] = await resp.json(content_type=None)
                if resp.status == 429:
                    raise RateLimitedError(float(resp.headers.get("Retry-After", "1")))
                if resp.status == 404:
                    raise DestinationGoneError(post.destination, "channel deleted")
                if resp.status >= 500:
                    raise TransientPostError(f"HTTP {resp.status}")
                if resp.status >= 400:
                    raise TransientPostError(f"HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientPostError(f"{type(exc).__name__}") from exc
        self.sent.append(post)
        async with self._sent_changed:
            self._sent_changed.notify_all()
        return str(data["id"])

    async def edit(self, post: Post, message_id: str) -> None:
        """PATCH the message; a 404 is a message gone."""
        if self.session is None:
            raise TransientPostError("not connected")
        payload = {"headline": post.card.headline if post.card is not None else None,
                   "revision": post.revision}
        try:
            async with self.session.patch(f"{self.base_url}/messages/{message_id}",
                                          json=payload) as resp:
                if resp.status == 404:
                    raise MessageGoneError("message deleted")
                if resp.status == 429:
                    raise RateLimitedError(float(resp.headers.get("Retry-After", "1")))
                if resp.status >= 400:
                    raise TransientPostError(f"HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientPostError(f"{type(exc).__name__}") from exc

    async def wait_sent(self, n: int, timeout: float = 30.0) -> list[Post]:  # noqa: ASYNC109
        """Wait until this client has seen ``n`` posts through (the platform records a
        message before the client has read its answer: wait on the side you read)."""

        async def enough() -> None:
            async with self._sent_changed:
                await self._sent_changed.wait_for(lambda: len(self.sent) >= n)

        await asyncio.wait_for(enough(), timeout)
        return self.sent
