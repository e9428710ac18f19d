"""Rate budgets shared through Redis by several processes (two clients stand in)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from bot.chat.contract import Destination
from bot.pipeline.ratelimit import (
    Budget,
    Permit,
    PlatformBudgets,
    RateLimiter,
    budgets_from_settings,
)
from bot.settings import load_settings

C1 = Destination("discord:g", "channel", "c1")
C2 = Destination("discord:g", "channel", "c2")


def _max_in_window(times: list[float], period: float) -> int:
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_default_budgets() -> None:
    budgets = budgets_from_settings(load_settings())
    assert budgets["discord"].destination == Budget(5, 5.0)
    assert budgets["discord"].overall == Budget(45, 1.0)  # Discord: 50/s, a tenth kept
    assert budgets["slack"].destination == Budget(1, 1.0)
    assert budgets["slack"].overall is None


async def test_destination_budget_says_how_long_to_wait(redis: aioredis.Redis) -> None:
    limiter = RateLimiter(redis, {"discord": PlatformBudgets(None, Budget(2, 1.0))}, margin_s=0)
    assert isinstance(await limiter.try_acquire("discord", C1), Permit)
    assert isinstance(await limiter.try_acquire("discord", C1), Permit)
    wait = await limiter.try_acquire("discord", C1)
    assert isinstance(wait, float) and 0.5 < wait <= 1.0
    # another channel has its own budget; a platform without budgets never waits
    assert isinstance(await limiter.try_acquire("discord", C2), Permit)
    assert await limiter.try_acquire("console", C1) == Permit()


async def test_two_processes_share_the_budgets(
    redis: aioredis.Redis, redis_factory: Callable[[], Awaitable[aioredis.Redis]]
) -> None:
    budgets = {"discord": PlatformBudgets(Budget(10, 0.5), Budget(3, 0.5))}
    limiters = [RateLimiter(redis, budgets, margin_s=0.01),
                RateLimiter(await redis_factory(), budgets, margin_s=0.01)]
    sent: dict[str, list[float]] = {"c1": [], "c2": [], "c3": [], "c4": [], "c5": []}

    async def send(limiter: RateLimiter, channel: str) -> None:
        permit, _ = await limiter.acquire("discord", Destination("discord:g", "channel", channel))
        # When the server granted it (its clock, in the window's own log): the time this
        # coroutine resumes would add the machine's scheduling delays, and bunch sends
        # together that the limiter in fact spaced out.
        score = await redis.zscore(permit.keys[0], permit.member)
        assert score is not None
        sent[channel].append(score / 1000)

    await asyncio.gather(*(send(limiters[i % 2], f"c{1 + i % 5}") for i in range(40)))
    everything = [t for times in sent.values() for t in times]
    assert len(everything) == 40
    assert _max_in_window(everything, 0.5) <= 10
    for times in sent.values():
        assert _max_in_window(times, 0.5) <= 3
    # 40 sends at 10 per 0.5 s need at least 1.5 s.
    assert max(everything) - min(everything) >= 1.5


async def test_settle_spaces_later_sends_from_the_end_of_a_slow_request(
    redis: aioredis.Redis,
) -> None:
    limiter = RateLimiter(redis, {"discord": PlatformBudgets(None, Budget(1, 0.3))}, margin_s=0)
    permit = await limiter.try_acquire("discord", C1)
    assert isinstance(permit, Permit)
    await asyncio.sleep(0.2)  # the request takes 0.2 s
    await limiter.settle(permit)
    wait = await limiter.try_acquire("discord", C1)
    assert isinstance(wait, float) and wait > 0.25


async def test_a_fast_request_keeps_its_slot_from_the_send(redis: aioredis.Redis) -> None:
    """Settling a request answered within the margin does not push the window later."""
    limiter = RateLimiter(redis, {"discord": PlatformBudgets(None, Budget(1, 0.3))},
                          margin_s=0.1)
    permit = await limiter.try_acquire("discord", C1)
    assert isinstance(permit, Permit)
    key = permit.keys[0]
    sent = float(await redis.zscore(key, permit.member) or 0)
    await asyncio.sleep(0.05)  # answered well within the margin
    await limiter.settle(permit)
    assert float(await redis.zscore(key, permit.member) or 0) == sent


async def test_a_slow_request_is_recorded_at_its_answer_less_the_margin(
    redis: aioredis.Redis,
) -> None:
    limiter = RateLimiter(redis, {"discord": PlatformBudgets(None, Budget(1, 0.3))},
                          margin_s=0.05)
    permit = await limiter.try_acquire("discord", C1)
    assert isinstance(permit, Permit)
    key = permit.keys[0]
    sent = float(await redis.zscore(key, permit.member) or 0)
    await asyncio.sleep(0.25)
    await limiter.settle(permit)
    moved = float(await redis.zscore(key, permit.member) or 0)
    assert moved >= sent + 190  # ms: 0.25 s later, less the 0.05 s margin
