"""A Pacer whose budget every worker and host of one provider account shares, through Redis.

The same reservation scheme as SlidingWindowPacer, made atomic by running it in Redis: a list
holds the last N granted slots; a caller is handed the earliest moment its request fits the
window (Redis' own clock, so hosts with skewed clocks still agree), the slot is recorded before
anyone else can take it, and the caller sleeps until then. Waiting callers of the whole fleet
are served in arrival order and never race for one slot.

Why a script of our own and not `limits`' moving window: its Redis script sets whole-second
expiries, so it cannot pace on the provider's window plus the transit margin (WINDOW_MARGIN);
it answers "hit or not" instead of a reservation, so waiting workers would poll and race at
every window edge; and it timestamps with each host's clock.

When Redis fails, requests go on under a local SlidingWindowPacer with a fair share of the
budget (limit / the number of processes sharing it), so the fleet as a whole stays under it.
"""

from __future__ import annotations

import asyncio
import math

from providers.model import ProviderName
from providers.resilience.pacing import (
    WINDOW_MARGIN,
    Clock,
    PacingExceeded,
    Rate,
    Sleep,
    SlidingWindowPacer,
    loop_time,
)
from providers.resilience.redis_link import DOWN, RedisLink

# KEYS[1]: the last `limit` granted slots (ms, Redis clock), oldest first.
# ARGV: limit, window in ms, the longest wait the caller accepts in ms (-1: any).
# Returns {granted (1/0), wait in ms}.
RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local slot = now
if redis.call('LLEN', KEYS[1]) >= limit then
  local oldest = tonumber(redis.call('LINDEX', KEYS[1], -limit))
  slot = math.max(now, oldest + window)
end
local wait = slot - now
if max_wait >= 0 and wait > max_wait then
  return {0, wait}
end
redis.call('RPUSH', KEYS[1], slot)
redis.call('LTRIM', KEYS[1], -limit, -1)
redis.call('PEXPIRE', KEYS[1], wait + window + 1000)
return {1, wait}
"""


def fair_share(rate: Rate, processes: int) -> Rate:
    """This process' part of the budget when it cannot coordinate with the others."""
    return Rate(max(1, rate.requests // max(1, processes)), rate.period)


class RedisPacer:
    def __init__(
        self,
        link: RedisLink,
        provider: ProviderName,
        account: str,
        rate: Rate,
        *,
        processes: int = 1,
        margin: float = 0.0,
        clock: Clock = loop_time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.link = link
        self.provider = provider
        self.rate = rate
        self.key = link.key(provider, account, "pacing")
        # Several processes (and hosts) between the budget and the provider add more jitter in
        # transit than one process does: `margin` seconds more on top of the proportional one.
        self._window_ms = math.ceil((rate.period * WINDOW_MARGIN + margin) * 1000)
        self._sleep = sleep
        self._script = link.client.register_script(RESERVE)
        self.local = SlidingWindowPacer(fair_share(rate, processes), clock=clock, sleep=sleep)

    async def acquire(self, max_wait: float | None = None) -> float:
        limit_ms = -1 if max_wait is None else max(0, math.floor(max_wait * 1000))
        answer = await self.link.attempt(
            lambda: self._script(
                keys=[self.key], args=[self.rate.requests, self._window_ms, limit_ms]
            )
        )
        if answer is DOWN:
            self.link.stats.local_grants[self.provider] += 1
            return await self.local.acquire(max_wait)
        granted, wait_ms = answer
        wait = int(wait_ms) / 1000
        if not int(granted):
            raise PacingExceeded(wait)
        self.link.stats.waited(self.provider, wait)
        if wait > 0:
            await self._sleep(wait)
        return wait
