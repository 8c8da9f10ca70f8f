"""A Pacer whose budget every worker and host of one provider account shares, through Redis.

The same schedule as GcraPacer (pacing.py: one request every `interval`, a small burst), kept
in Redis as one number, the account's theoretical time of its next request, and advanced
atomically by a script on Redis' own clock (hosts with skewed clocks still agree). Each caller
is handed the moment its request fits the schedule, which is reserved before anyone else can
take it, and sleeps until then: the fleet's callers are served in arrival order and never race
for one moment. Then the request passes this process' own GcraPacer at the same schedule,
which costs nothing unless the event loop woke several reserved callers late, together: it
spreads them again.

Why a script of our own and not `limits`' moving window: its Redis script sets whole-second
expiries, so it cannot pace on the provider's window plus the transit margin (WINDOW_MARGIN);
it answers "hit or not" instead of a reservation, so waiting workers would poll and race; and
it timestamps with each host's clock.

When Redis fails, requests go on under a local GcraPacer with a fair share of the budget
(limit / the number of processes sharing it), so the fleet as a whole stays under it.
"""

from __future__ import annotations

import asyncio

from providers.model import ProviderName
from providers.resilience.pacing import (
    Clock,
    Gcra,
    GcraPacer,
    PacingExceeded,
    Rate,
    Sleep,
    loop_time,
)
from providers.resilience.redis_link import DOWN, RedisLink

# KEYS[1]: the account's theoretical time of its next request (ms, Redis clock).
# ARGV: interval, tolerance (ms), the longest wait the caller accepts in ms (-1: any).
# Returns {granted (1/0), wait in ms (a string: Redis would truncate a number)}.
RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if max_wait >= 0 and wait > max_wait then
  return {0, tostring(wait)}
end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
return {1, tostring(wait)}
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
        # A key of its own: the sliding-window pacer this replaced kept a list under "pacing".
        self.key = link.key(provider, account, "pacing:gcra")
        # Several processes (and hosts) between the budget and the provider add more jitter in
        # transit than one process does: `margin` seconds more on top of the proportional one.
        self.schedule = Gcra.of(rate, margin)
        self._sleep = sleep
        self._script = link.client.register_script(RESERVE)
        self.spread = GcraPacer(rate, margin=margin, clock=clock, sleep=sleep)
        self.local = GcraPacer(fair_share(rate, processes), margin=margin, clock=clock, sleep=sleep)

    async def acquire(self, max_wait: float | None = None) -> float:
        limit_ms = -1 if max_wait is None else max(0.0, max_wait * 1000)
        interval_ms = self.schedule.interval * 1000
        tolerance_ms = self.schedule.tolerance * 1000
        answer = await self.link.attempt(
            lambda: self._script(keys=[self.key], args=[interval_ms, tolerance_ms, limit_ms])
        )
        if answer is DOWN:
            self.link.stats.local_grants[self.provider] += 1
            return await self.local.acquire(max_wait)
        granted, wait_ms = answer
        wait = float(wait_ms) / 1000
        if not int(granted):
            raise PacingExceeded(wait)
        self.link.stats.waited(self.provider, wait)
        if wait > 0:
            await self._sleep(wait)
        return wait + await self.spread.acquire()
