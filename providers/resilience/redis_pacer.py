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

Interactive traffic first, across the fleet (priority.py says what it means). Reservations
cannot be taken back, so the fleet's imports must not hold many: several processes' imports
would otherwise reserve slots up to their deadline ahead (tens of seconds), and an interactive
call of any process, reserving after them, would wait that long. So:
- a background call reserves only a slot within `horizon` (HORIZON_SLOTS slots, at least
  MIN_HORIZON) of now; further, Redis answers "ask again in t", t being when the schedule's
  end comes within the horizon. An interactive call reserves at once, wherever the schedule
  ends: it finds at most the horizon's worth of imports' reservations before it;
- while interactive calls wait (KEYS[2], the moment the last interactive reservation goes, is
  still ahead: a time, not a counter, so a process that dies or a caller cancelled leaves
  nothing to clean up, and it ends by itself), background calls may reserve beyond the
  horizon, but only while they keep to `share` of the slots reserved since interactive calls
  began waiting (KEYS[3], reset by the first interactive reservation of a new spell, expiring
  with the schedule): the share the in-process pacer gives them too, so an import still moves
  while the front-end is busy;
- a process' background callers ask one at a time (a local lock, in arrival order), so a busy
  budget costs Redis one call per process and per pause, not one per waiting call.
Within a priority the fleet's callers are served in the order they reserve; background callers
of different processes race for a slot as it comes within the horizon (each process' own in
arrival order). An interactive call that gives up keeps its reservation, as before: the slot
goes unused, the marker ends with it.

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
from providers.resilience.priority import (
    DEFAULT_BACKGROUND_SHARE,
    Priority,
    check_share,
    current_priority,
)
from providers.resilience.redis_link import DOWN, Down, RedisLink

# KEYS[1]: the account's theoretical time of its next request (ms, Redis clock).
# KEYS[2]: the moment the account's last interactive reservation goes (ms): while it is ahead,
#          interactive calls are waiting. KEYS[3]: the slots reserved since they began waiting,
#          and how many of them background calls took (a hash: slots, background).
# ARGV: interval, tolerance (ms), the longest wait the caller accepts in ms (-1: any),
#       1 for a background call, the background share, the background horizon (ms; -1: none).
# Returns {1 (reserved) / 0 (further than the caller can wait) / 2 (background: ask again),
#          wait in ms (a string: Redis would truncate a number)}.
RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local background = ARGV[4] == '1'
local share = tonumber(ARGV[5])
local horizon = tonumber(ARGV[6])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local waiting = tonumber(redis.call('GET', KEYS[2]) or '0') > now
if background then
  if waiting then
    local slots = tonumber(redis.call('HGET', KEYS[3], 'slots') or '0')
    local taken = tonumber(redis.call('HGET', KEYS[3], 'background') or '0')
    if taken + 1 > share * (slots + 1) + 1e-9 then
      return {2, tostring(interval)}
    end
  elseif horizon >= 0 and wait > horizon then
    return {2, tostring(wait - horizon)}
  end
end
if max_wait >= 0 and wait > max_wait then
  return {0, tostring(wait)}
end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
-- Count the slots of a spell of interactive waiting: it begins with an interactive call that
-- has to wait (no key is touched while nobody waits).
if waiting or (not background and wait > 0) then
  if not waiting then redis.call('DEL', KEYS[3]) end
  redis.call('HINCRBY', KEYS[3], 'slots', 1)
  if background then redis.call('HINCRBY', KEYS[3], 'background', 1) end
  redis.call('PEXPIRE', KEYS[3], math.ceil(tat - now) + 1000)
end
if not background and wait > 0 then
  local until_ms = now + wait
  local last = tonumber(redis.call('GET', KEYS[2]) or '0')
  if until_ms > last then
    redis.call('SET', KEYS[2], tostring(until_ms), 'PX', math.ceil(wait) + 1000)
  end
end
return {1, tostring(wait)}
"""
# How far ahead of now background calls may reserve slots while no interactive call waits: so
# an interactive call that arrives finds at most this much of an import's reservations before
# it, never the tens of seconds (up to the deadline) several processes' imports would
# otherwise have reserved. A few slots, so the budget stays busy between two processes'
# reservations; never under 0.1 s, for the jitter of a busy event loop.
HORIZON_SLOTS = 4
MIN_HORIZON = 0.1


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
        share: float = DEFAULT_BACKGROUND_SHARE,
        clock: Clock = loop_time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.link = link
        self.provider = provider
        self.rate = rate
        self.share = check_share(share)
        # A key of its own: the sliding-window pacer this replaced kept a list under "pacing".
        self.key = link.key(provider, account, "pacing:gcra")
        self.interactive_key = link.key(provider, account, "pacing:interactive")
        self.contention_key = link.key(provider, account, "pacing:contention")
        # Several processes (and hosts) between the budget and the provider add more jitter in
        # transit than one process does: `margin` seconds more on top of the proportional one.
        self.schedule = Gcra.of(rate, margin)
        # share 1: no preference, so no horizon either: every caller reserves as it comes.
        self.horizon: float | None = (
            max(HORIZON_SLOTS * self.schedule.interval, MIN_HORIZON) if share < 1 else None
        )
        self._clock = clock
        self._sleep = sleep
        self._script = link.client.register_script(RESERVE)
        # This process' background callers ask Redis one at a time, in arrival order: one
        # poller per process while the shared budget is busy, not one per waiting call.
        self._background_turn = asyncio.Lock()
        self.spread = GcraPacer(rate, margin=margin, share=share, clock=clock, sleep=sleep)
        self.local = GcraPacer(
            fair_share(rate, processes), margin=margin, share=share, clock=clock, sleep=sleep
        )

    async def acquire(
        self, max_wait: float | None = None, *, priority: Priority | None = None
    ) -> float:
        priority = priority or current_priority()
        if priority is Priority.BACKGROUND:
            return await self._background(max_wait)
        answer = await self._reserve(max_wait, background=False)
        if answer is DOWN:
            self.link.stats.local_grants[self.provider] += 1
            return await self.local.acquire(max_wait, priority=priority)
        status, wait = answer
        if status == REFUSED:
            raise PacingExceeded(wait)
        return await self._go(wait, priority)

    async def _background(self, max_wait: float | None) -> float:
        """A background call: a reservation within the horizon (or its share while interactive
        calls wait), asked for again after the pause Redis names until it is granted."""
        started = self._clock()
        async with self._background_turn:
            while True:
                waited = self._clock() - started
                left = None if max_wait is None else max_wait - waited
                answer = await self._reserve(left, background=True)
                if answer is DOWN:
                    break
                status, wait = answer
                if status == RESERVED:
                    break
                if status == REFUSED or (left is not None and wait > left):
                    raise PacingExceeded(waited + wait)
                await self._sleep(wait)  # ASK_AGAIN: the horizon, or the share, is full
        # Out of the turn: the next background caller of this process may ask meanwhile.
        if answer is DOWN:
            self.link.stats.local_grants[self.provider] += 1
            return waited + await self.local.acquire(left, priority=Priority.BACKGROUND)
        return waited + await self._go(answer[1], Priority.BACKGROUND)

    async def _reserve(
        self, max_wait: float | None, *, background: bool
    ) -> tuple[int, float] | Down:
        limit_ms = -1 if max_wait is None else max(0.0, max_wait * 1000)
        args = [
            self.schedule.interval * 1000,
            self.schedule.tolerance * 1000,
            limit_ms,
            1 if background else 0,
            self.share,
            -1 if self.horizon is None else self.horizon * 1000,
        ]
        keys = [self.key, self.interactive_key, self.contention_key]
        answer = await self.link.attempt(lambda: self._script(keys=keys, args=args))
        if answer is DOWN:
            return DOWN
        status, wait_ms = answer
        return int(status), float(wait_ms) / 1000

    async def _go(self, wait: float, priority: Priority) -> float:
        """The slot reserved: sleep until it, then through this process' own spread."""
        self.link.stats.waited(self.provider, wait)
        if wait > 0:
            await self._sleep(wait)
        return wait + await self.spread.acquire(priority=priority)


REFUSED, RESERVED, ASK_AGAIN = 0, 1, 2
