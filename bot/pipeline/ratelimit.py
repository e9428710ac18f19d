"""Posting budgets shared by every bot process: a per-platform and a per-destination window.

Each budget is a sliding-window log (a sorted set of send times) checked and updated in
one Lua call, on the server's clock, so any number of processes stay within it together.
A sliding window never lets more than ``count`` sends into any ``period``, which is
stricter than a token bucket (that allows a full burst plus refill inside one period).

A send is recorded when it is allowed and moved to when its request finished
(``settle``): the platform saw the request somewhere in between, so later sends are
spaced from the latest moment it could have counted it, whatever the delays on the way.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import Destination
from bot.settings import Settings

log = logging.getLogger(__name__)

# KEYS: the budgets to check together.  ARGV: member, then (count, window ms) per key.
# Returns {0, 0} (sent: recorded in every window) or {ms to wait, index of the key that
# needs the longest wait}.
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
local which = 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i])
  local win = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - win)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + win - now
    if w > wait then wait = w; which = i end
  end
end
if wait > 0 then return {wait, which} end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i + 1]))
end
return {0, 0}
"""


# KEYS: the budgets a permit was taken from.  ARGV: member.  Moves it to the server's now.
_SETTLE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Permit:
    """A send taken from the budgets; ``settle`` it once the request has finished."""

    keys: tuple[str, ...] = ()
    member: str = ""


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``count`` messages in any ``period_s`` seconds."""

    count: int
    period_s: float

    @property
    def rate(self) -> float:
        """The sustained rate in messages per second."""
        return self.count / self.period_s


@dataclass(frozen=True, slots=True)
class PlatformBudgets:
    """A platform's budgets: for the whole bot, and for each destination (None = none)."""

    overall: Budget | None = None
    destination: Budget | None = None


def budgets_from_settings(settings: Settings) -> dict[str, PlatformBudgets]:
    """The Discord and Slack budgets from the settings (a count of 0 means no budget)."""

    def budget(count: int, period: float) -> Budget | None:
        return Budget(count, period) if count > 0 else None

    return {
        "discord": PlatformBudgets(
            budget(settings.discord_global_rate, settings.discord_global_period_s),
            budget(settings.discord_channel_rate, settings.discord_channel_period_s),
        ),
        "slack": PlatformBudgets(
            budget(settings.slack_global_rate, settings.slack_global_period_s),
            budget(settings.slack_channel_rate, settings.slack_channel_period_s),
        ),
    }


class RateLimiter:
    """``await acquire(platform, destination)`` returns once a send fits every budget.

    In each process one task at a time polls a platform's overall budget (the others
    queue on a lock, in order), so hundreds of waiting posts do not all wake and ask
    Redis each time a slot frees; a post held back by its own destination's budget
    sleeps outside the lock.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        budgets: Mapping[str, PlatformBudgets],
        *,
        margin_s: float = 0.02,
    ) -> None:
        self.redis = redis
        self.budgets = dict(budgets)
        self.margin_s = margin_s
        self._acquire = redis.register_script(_ACQUIRE_LUA)
        self._settle = redis.register_script(_SETTLE_LUA)
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_settings(cls, redis: aioredis.Redis, settings: Settings) -> RateLimiter:
        """A limiter with the budgets and margin from the settings."""
        return cls(redis, budgets_from_settings(settings), margin_s=settings.rate_margin_s)

    def _window_ms(self, budget: Budget) -> int:
        return round((budget.period_s + self.margin_s) * 1000)

    async def try_acquire(self, platform: str, destination: Destination) -> Permit | float:
        """Take a send from the budgets now (a Permit) or say how many seconds to wait."""
        got = await self._try(platform, destination)
        return got if isinstance(got, Permit) else got[0]

    async def _try(
        self, platform: str, destination: Destination
    ) -> Permit | tuple[float, bool]:
        """A Permit, or the wait and whether the overall budget is what holds it back."""
        budgets = self.budgets.get(platform)
        if budgets is None:
            return Permit()
        names: list[str] = []
        member = uuid.uuid4().hex
        args: list[str | int] = [member]
        if budgets.overall is not None:
            names.append(keys.ratelimit_key(platform, "all"))
            args += [budgets.overall.count, self._window_ms(budgets.overall)]
        if budgets.destination is not None:
            names.append(keys.ratelimit_key(platform, f"dest:{destination}"))
            args += [budgets.destination.count, self._window_ms(budgets.destination)]
        if not names:
            return Permit()
        reply = await self._acquire(keys=names, args=args)
        wait_ms, which = int(reply[0]), int(reply[1])
        if wait_ms <= 0:
            return Permit(tuple(names), member)
        overall = budgets.overall is not None and which == 1
        return wait_ms / 1000.0, overall

    async def acquire(self, platform: str, destination: Destination) -> tuple[Permit, float]:
        """Wait until a send fits; the permit and the seconds waited."""
        lock = self._locks.setdefault(platform, asyncio.Lock())
        waited = 0.0
        while True:
            async with lock:
                while True:
                    got = await self._try(platform, destination)
                    if isinstance(got, Permit):
                        return got, waited
                    wait, overall = got
                    waited += wait
                    if not overall:
                        break
                    await asyncio.sleep(wait)  # everyone here waits for the same budget
            await asyncio.sleep(wait)  # this destination's own budget: wait outside

    async def settle(self, permit: Permit) -> None:
        """Record that the send's request has finished (now), for the spacing of later ones."""
        if permit.keys:
            await self._settle(keys=list(permit.keys), args=[permit.member])
