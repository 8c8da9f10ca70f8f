"""Client-side pacing: each account's budget spread evenly over its period, per account.

`Pacer` is the interface; `GcraPacer` keeps the schedule in this process. A shared store (Redis,
for several workers) is a second implementation of the same protocol (redis_pacer.py).

The schedule is GCRA (the generic cell rate algorithm): one request every `interval` seconds,
and after a quiet spell up to `burst` at once. A budget of 500 a minute goes out as one
request every 122 ms, not as 300 in the first second and nothing for 59 (which made every
waiting client wait 20 to 30 s, and which a provider may refuse); 100 a second, one every
10.7 ms. The interval is the period, stretched by WINDOW_MARGIN and `margin` seconds, over the
budget; the burst is half the room that stretch leaves in any window of the period, the other
half absorbing jitter between the moment a request is let go and the moment the provider
counts it. So no window of the provider's period can hold more than its budget.

Waiting callers are served in arrival order: one at a time they are let go at the moment the
schedule allows, judged on the clock at that moment (not on a slot reserved in advance), so a
caller that the event loop wakes late never makes the next ones bunch up behind it. A caller
whose turn is further away than it can wait is told at once (PacingExceeded, with the wait)
and takes nothing from the budget.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def loop_time() -> float:
    """The running event loop's clock: the one asyncio.sleep and asyncio.timeout use, so pacing,
    backoff and deadlines agree (and a test can fast-forward all of them together)."""
    return asyncio.get_running_loop().time()


_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(second|minute|hour)\s*$", re.I)
_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
# Requests leave us a little before they reach the provider: pace on a slightly longer window
# so jitter in transit cannot put N + 1 requests into the provider's own window.
WINDOW_MARGIN = 1.02


@dataclass(frozen=True, slots=True)
class Rate:
    requests: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """'500/minute', '100 per second' -> Rate."""
        found = _RATE.match(text)
        if not found or int(found.group(1)) < 1:
            raise ValueError(f"{text!r} is not a rate like '500/minute' or '100/second'")
        return cls(int(found.group(1)), _PERIODS[found.group(2).lower()])

    def __str__(self) -> str:
        unit = {v: k for k, v in _PERIODS.items()}.get(self.period, f"{self.period:g}s")
        return f"{self.requests}/{unit}"


class PacingExceeded(Exception):
    """The next slot is further away than the caller can wait."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"next request slot in {wait:.2f}s")
        self.wait = wait


class Pacer(Protocol):
    async def acquire(self, max_wait: float | None = None) -> float:
        """Wait for a slot and return the seconds waited; PacingExceeded past `max_wait`."""
        ...


class Unpaced:
    async def acquire(self, max_wait: float | None = None) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class Gcra:
    """A budget as an even schedule: one request per `interval` seconds, `burst` at once."""

    interval: float
    burst: int

    @classmethod
    def of(cls, rate: Rate, margin: float = 0.0) -> Gcra:
        stretched = rate.period * WINDOW_MARGIN + margin
        # Any window of `period` seconds then holds at most burst + requests * period /
        # stretched: the room under the budget is what the stretch leaves.
        room = rate.requests * (1 - rate.period / stretched)
        return cls(stretched / rate.requests, max(1, math.floor(room / 2)))

    @property
    def tolerance(self) -> float:
        """How far ahead of its theoretical time a request may go: the burst's allowance."""
        return (self.burst - 1) * self.interval


class GcraPacer:
    """The schedule kept in this process, callers served in arrival order."""

    def __init__(
        self,
        rate: Rate,
        *,
        margin: float = 0.0,
        clock: Clock = loop_time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.schedule = Gcra.of(rate, margin)
        self._clock = clock
        self._sleep = sleep
        self._tat = -math.inf  # the theoretical time of the next request
        self._waiting = 0
        self._turn = asyncio.Lock()  # FIFO: waiters are woken in arrival order

    def wait_for(self, now: float, ahead: int = 0) -> float:
        """How long a caller with `ahead` callers before it would wait, from `now`."""
        schedule = self.schedule
        start = max(self._tat, now) + ahead * schedule.interval
        return max(0.0, start - schedule.tolerance - now)

    async def acquire(self, max_wait: float | None = None) -> float:
        started = self._clock()
        expected = self.wait_for(started, self._waiting)
        if max_wait is not None and expected > max_wait:
            raise PacingExceeded(expected)
        queued = self._turn.locked()  # someone is ahead of this caller
        self._waiting += 1
        try:
            async with self._turn:
                wait = self.wait_for(self._clock())
                if wait > 0:
                    await self._sleep(wait)
                # From the clock as it is now: woken late, the next callers keep their spacing.
                now = self._clock()
                self._tat = max(self._tat, now) + self.schedule.interval
        finally:
            self._waiting -= 1
        return now - started if queued or wait > 0 else 0.0


def make_pacer(
    rate: str | None,
    *,
    margin: float = 0.0,
    clock: Clock = loop_time,
    sleep: Sleep = asyncio.sleep,
) -> Pacer:
    if not rate:
        return Unpaced()
    return GcraPacer(Rate.parse(rate), margin=margin, clock=clock, sleep=sleep)
