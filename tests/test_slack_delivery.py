"""Slack deliveries through the real Sender and adapter against the fake Slack: every retry
inside the bot's budget, and once per destination even after a crash or a lost answer."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapters.slack import SlackAdapter
from bot import keys
from bot.chat.contract import Destination, Post, Reply, Request
from bot.metrics import Metrics
from bot.pipeline import Deduper, RateLimiter, Sender, enqueue
from bot.pipeline.ratelimit import Budget, PlatformBudgets
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack

TENANT = f"slack:{TEAM}"
CHANNEL = Destination(TENANT, "channel", "C1")


class _Core:
    async def handle(self, request: Request) -> Reply:
        raise AssertionError("no commands in this test")


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, SlackAdapter]]:
    fake = FakeSlack()
    await fake.start()
    settings = Settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                        slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url)
    adapter = SlackAdapter(settings, _Core())
    await adapter.start()
    try:
        yield fake, adapter
    finally:
        await adapter.close()
        await fake.stop()


def make_sender(redis: aioredis.Redis, adapter: SlackAdapter, name: str,
                **kw: Any) -> Sender:
    budgets = {"slack": PlatformBudgets(None, Budget(1, 1.0))}  # 1 a second per channel
    options: dict[str, Any] = {
        "consumer": name, "dead_letter_maxlen": 100, "done_ttl_s": 600,
        "backoff_base_s": 0.01, "backoff_max_s": 0.05, "lease_s": 0.5, "block_ms": 100,
        **kw,
    }
    return Sender(redis, Metrics(), adapter=adapter, store=SubscriptionStore(redis),
                  limiter=RateLimiter(redis, budgets), deduper=Deduper(redis, ttl_s=60),
                  **options)


async def queue(redis: aioredis.Redis, post: Post) -> None:
    pipe = redis.pipeline()
    enqueue(pipe, post)
    await pipe.execute()


async def until(check: Callable[[], Any], within: float = 15.0) -> None:
    """Wait until ``check()`` (a value or an awaitable) is true."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def drained(redis: aioredis.Redis) -> bool:
    return int(await redis.xlen(keys.delivery_stream("slack"))) == 0


async def test_a_429_is_retried_through_the_bots_budget(
        redis: aioredis.Redis, slack: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, adapter = slack
    fake.script("chat.postMessage", status=429, retry_after=0)  # Slack: "go on at once"
    sender = make_sender(redis, adapter, "s1")
    await sender.start()
    try:
        await queue(redis, Post(CHANNEL, "a1:C1", note="news"))
        await until(lambda: drained(redis))
    finally:
        await sender.stop()
    assert len(fake.calls_to("chat.postMessage")) == 2 and len(fake.posted["C1"]) == 1
    # The retry waited for the channel's budget (1 a second), not slack_sdk's own retry.
    assert sender.metrics.rate_limit_waits.labels(platform="slack")._value.get() == 1


async def test_a_crash_after_slack_accepted_does_not_post_twice(
        redis: aioredis.Redis, slack: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, adapter = slack
    answer = asyncio.Event()
    fake.holds["chat.postMessage"] = answer  # Slack has the message; the answer is late
    first = make_sender(redis, adapter, "s-first")
    await first.start()
    post = Post(CHANNEL, "a2:C1", note="news")
    await queue(redis, post)
    await until(lambda: fake.posted.get("C1"))
    await first.stop(grace_s=0.05)  # the process dies before it can record the post
    answer.set()
    second = make_sender(redis, adapter, "s-second")
    await second.start()
    try:
        await until(lambda: drained(redis))
    finally:
        await second.stop()
    assert len(fake.posted["C1"]) == 1
    assert len(fake.calls_to("conversations.history")) == 1
    state = await redis.get(keys.posted_key(post.key))
    assert state == f"done:{fake.posted['C1'][0]['ts']}"


async def test_a_lost_answer_is_not_posted_again(
        redis: aioredis.Redis, slack: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, adapter = slack
    answer = asyncio.Event()
    fake.holds["chat.postMessage"] = answer
    sender = make_sender(redis, adapter, "s1", post_timeout_s=0.3)
    await sender.start()
    try:
        await queue(redis, Post(CHANNEL, "a3:C1", note="news"))
        await until(lambda: fake.calls_to("conversations.history"))
        answer.set()
        await until(lambda: drained(redis))
        await asyncio.sleep(0.2)
    finally:
        await sender.stop()
    assert len(fake.posted["C1"]) == 1
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_without_the_history_scope_a_retry_posts_again(
        redis: aioredis.Redis, slack: tuple[FakeSlack, SlackAdapter]) -> None:
    """Cannot tell: at least once (a repeat) rather than a loss."""
    fake, adapter = slack
    fake.script("conversations.history", error="missing_scope")
    fake.script("chat.postMessage", status=500, error="internal_error")
    sender = make_sender(redis, adapter, "s1")
    await sender.start()
    try:
        await queue(redis, Post(CHANNEL, "a4:C1", note="news"))
        await until(lambda: drained(redis))
    finally:
        await sender.stop()
    assert len(fake.posted["C1"]) == 1
    assert len(fake.calls_to("chat.postMessage")) == 2
