"""Posting budgets shared by every bot process: a per-platform and a per-destination window.

Each budget is a sliding-window log (a sorted set of send times) checked and updated in
one Lua call, on the server's clock, so any number of processes stay within it together.
A sliding window never lets more than ``count`` sends into any ``period``, which is
stricter than a token bucket (that allows a full burst plus refill inside one period).

A send is recorded when it is allowed, and every window is the budget's period plus a
margin. The platform counted the request at its arrival, somewhere between the send and
the answer; a window spaced from a record at most ``margin`` before that arrival keeps
every period of the platform's within the budget. So ``settle`` moves the record to
``answer − margin`` when that is later than the send (a slow request), and leaves it
where it is otherwise: a fast request (the usual case) costs its slot no more than the
period plus the margin, which is what lets delivery use the whole budget.
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

# KEYS: the budgets to check together.  ARGV: member, horizon ms, then (count, window ms)
# per key. The earliest moment ``at`` >= now that fits every window: at or after the
# count-th latest record plus the window (records may lie ahead: reservations). If it is
# within the horizon, the send is recorded at ``at`` in every window: {0, 0, at - now}
# (send in that many ms); else {ms to wait, index of the key that needs the longest wait}.
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = now
local which = 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i + 1])
  local win = tonumber(ARGV[2 * i + 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - win)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    local free = tonumber(oldest[2]) + win
    if free > at then at = free; which = i end
  end
end
if at - now > tonumber(ARGV[2]) then return {at - now, which} end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], at, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], at - now + tonumber(ARGV[2 * i + 2]))
end
return {0, 0, at - now}
"""


# KEYS: the budgets a permit was taken from.  ARGV: member, margin ms.  Moves the record
# to the server's now minus the margin, if that is later than where it is.
_SETTLE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', 'GT', now, ARGV[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Permit:
    """A send taken from the budgets; ``settle`` it once the request has finished."""

    keys: tuple[str, ...] = ()
    member: str = ""
    delay_s: float = 0.0  # the slot booked starts this long after it was granted


RESERVE_AHEAD_S = 0.25
"""How far ahead ``acquire`` books a slot that frees soon.

The send then waits for its slot outside the lock while the next one is booked, and the
slot is recorded at the moment it frees, not when this process got round to it: on a
busy machine the budget's cadence does not slip by each wake-up's delay.
"""


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
        got = await self._try(platform, destination, 0.0)
        return got if isinstance(got, Permit) else got[0]

    async def _try(
        self, platform: str, destination: Destination, ahead_s: float
    ) -> Permit | tuple[float, bool]:
        """A Permit, or the wait and whether the overall budget is what holds it back."""
        budgets = self.budgets.get(platform)
        if budgets is None:
            return Permit()
        names: list[str] = []
        member = uuid.uuid4().hex
        args: list[str | int] = [member, round(ahead_s * 1000)]
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
            return Permit(tuple(names), member, int(reply[2]) / 1000.0)
        overall = budgets.overall is not None and which == 1
        return wait_ms / 1000.0, overall

    async def acquire(self, platform: str, destination: Destination) -> tuple[Permit, float]:
        """Wait until a send fits (its booked slot has come); the permit and the wait."""
        lock = self._locks.setdefault(platform, asyncio.Lock())
        waited = 0.0
        permit: Permit | None = None
        while permit is None:
            async with lock:
                while True:
                    got = await self._try(platform, destination, RESERVE_AHEAD_S)
                    if isinstance(got, Permit):
                        permit = got
                        break
                    wait, overall = got
                    waited += wait
                    if not overall:
                        break
                    # Everyone here waits for the same budget: until its slot is bookable.
                    await asyncio.sleep(max(0.0, wait - RESERVE_AHEAD_S) + 0.001)
            if permit is None:
                await asyncio.sleep(wait)  # this destination's own budget: wait outside
        if permit.delay_s > 0:
            waited += permit.delay_s
            await asyncio.sleep(permit.delay_s)  # outside the lock: the next one books
        return permit, waited

    async def settle(self, permit: Permit) -> None:
        """Record that the send's request has finished (now), for the spacing of later ones.

        The platform counted it at most now; the record moves to now − margin if later.
        """
        if permit.keys:
            await self._settle(keys=list(permit.keys),
                               args=[permit.member, round(self.margin_s * 1000)])
