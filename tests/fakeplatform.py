"""Local stand-ins at the network boundary: a page server, a fake chat platform, an adapter.

* ``PageServer`` serves generated article pages on 127.0.0.1.
* ``FakePlatform`` records messages posted to it, enforces per-channel and global
  sliding-window budgets (429 + Retry-After when exceeded, counted), can answer 500s and
  404s (channel gone), and honours the nonce: a repeated nonce returns the first message.
* ``HttpAdapter`` is an ``Adapter`` that posts each ``Post`` as JSON to that platform.

Used by the pipeline tests, the crash test's worker process and ``bench/deliver.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.chat.contract import DestinationGoneError, Post, RateLimitedError, TransientPostError
from bot.httpserver import HttpServer

WORDS = (
    "government minister talks border city council report economy market energy price "
    "water school hospital court election vote police army region river harbour bridge "
    "factory farmers union strike budget tax museum festival weather storm rail airport "
    "contract company shares bank inflation housing rent doctors nurses teachers science"
).split()


def story(seed: int, topic: str, paragraphs: int = 6) -> list[str]:
    """Deterministic article paragraphs about ``topic`` (mentioned in the lead)."""
    rng = random.Random(seed)
    out = []
    for p in range(paragraphs):
        words = [rng.choice(WORDS) for _ in range(rng.randint(28, 40))]
        if p < 2:
            words.insert(3, topic)
        sentence = " ".join(words)
        out.append(sentence[0].upper() + sentence[1:] + f" (ref {seed}-{p}).")
    return out


def article_html(
    headline: str, paragraphs: list[str], *, site: str = "Example News", chrome: int = 0,
    canonical: str | None = None,
) -> str:
    """An article page; ``chrome`` varies the navigation, sidebar and footer around it."""
    nav = " ".join(f'<a href="/s{chrome}-{i}">Section {chrome}-{i}</a>' for i in range(6))
    side = "".join(
        f"<li><a href='/o{chrome}{i}'>Other story {chrome}{i}</a></li>" for i in range(5)
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(headline)} | {html.escape(site)}</title>"
        f"<meta property='og:site_name' content='{html.escape(site)}'>{link}</head><body>"
        f"<header><nav>{nav}</nav></header><main><article><h1>{html.escape(headline)}</h1>"
        f"{body}</article></main><aside><h2>Most read</h2><ul>{side}</ul></aside>"
        f"<footer>© {html.escape(site)} {chrome} · Contact · Privacy</footer></body></html>"
    )


class PageServer:
    """Serves ``pages[path]`` as text/html on 127.0.0.1; counts hits per path."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.hits: dict[str, int] = {}
        self.port = 0
        self._server: HttpServer | None = None

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    async def _page(self, request: web.Request) -> web.Response:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        text = self.pages.get(path)
        if text is None:
            return web.Response(status=404, text="not found")
        return web.Response(text=text, content_type="text/html")

    async def start(self) -> PageServer:
        """Start on a free port."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._page)
        self._server = HttpServer(app, "127.0.0.1", 0)
        self.port = await self._server.start()
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.stop()


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


class FakePlatform:
    """A chat platform's message endpoint with budgets, failures and nonce dedupe."""

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
        self.port = 0
        self._server: HttpServer | None = None
        self.changed = asyncio.Event()

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

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

    async def start(self) -> FakePlatform:
        """Start on a free port."""
        app = web.Application()
        app.router.add_post("/messages", self._post)
        self._server = HttpServer(app, "127.0.0.1", 0)
        self.port = await self._server.start()
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.stop()

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
        return str(data["id"])
