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

Waiting callers are let go one at a time at the moment the schedule allows, judged on the clock
at that moment (not on a slot reserved in advance), so a caller that the event loop wakes late
never makes the next ones bunch up behind it. Interactive callers go first, background ones (an
import's) get at most their share of the slots while interactive ones wait (priority.py); within
a priority, in arrival order. A caller whose turn is further away than it can wait is told at
once (PacingExceeded, with the wait) and takes nothing from the budget.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from providers.resilience.priority import (
    DEFAULT_BACKGROUND_SHARE,
    InteractiveCredit,
    Priority,
    check_share,
    current_priority,
)

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
# A slot taken late by at most this share of an interval keeps the schedule (GcraPacer._advance).
LATE_SLACK = 0.5


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
    async def acquire(
        self, max_wait: float | None = None, *, priority: Priority | None = None
    ) -> float:
        """Wait for a slot and return the seconds waited; PacingExceeded past `max_wait`.
        `priority` None: the context's (priority.current_priority())."""
        ...


class Unpaced:
    async def acquire(
        self, max_wait: float | None = None, *, priority: Priority | None = None
    ) -> float:
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
        # Half of it is the burst; the rest absorbs jitter in transit, and LATE_SLACK.
        return cls(stretched / rate.requests, max(1, math.floor(room / 2)))

    @property
    def tolerance(self) -> float:
        """How far ahead of its theoretical time a request may go: the burst's allowance."""
        return (self.burst - 1) * self.interval


class _Waiter:
    """One caller waiting for a slot."""

    __slots__ = ("granted_at", "priority", "seq", "woken")

    def __init__(self, priority: Priority, seq: int) -> None:
        self.priority = priority
        self.seq = seq  # arrival order, across both priorities
        self.woken = asyncio.Event()
        self.granted_at: float | None = None


class GcraPacer:
    """The schedule kept in this process; interactive callers first (priority.py), each
    priority served in arrival order.

    One waiter at a time keeps time: it sleeps until the next slot is due and then hands that
    slot to whoever should have it at that moment (itself or another waiter, woken), and goes on
    until it is served itself; then the next waiter takes over. So the choice is made when the
    slot is due, on who is waiting then: an interactive caller that arrives while a background
    one sleeps towards a slot takes that slot.
    """

    def __init__(
        self,
        rate: Rate,
        *,
        margin: float = 0.0,
        share: float = DEFAULT_BACKGROUND_SHARE,
        clock: Clock = loop_time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.schedule = Gcra.of(rate, margin)
        self.share = check_share(share)
        self._clock = clock
        self._sleep = sleep
        self._tat = -math.inf  # the theoretical time of the next request
        self._queues: dict[Priority, deque[_Waiter]] = {p: deque() for p in Priority}
        self._arrivals = itertools.count()
        self._timekeeper: _Waiter | None = None
        self._credit = InteractiveCredit(self.share, self.schedule.interval)

    def wait_for(self, now: float, ahead: int = 0) -> float:
        """How long a caller with `ahead` callers before it would wait, from `now`."""
        schedule = self.schedule
        start = max(self._tat, now) + ahead * schedule.interval
        return max(0.0, start - schedule.tolerance - now)

    def waiting(self, priority: Priority) -> int:
        return len(self._queues[priority])

    def ahead_of(self, priority: Priority) -> int:
        """How many of the callers waiting now would go before a new caller of `priority` (for
        an interactive one, at most; a background one may also be passed by later arrivals)."""
        interactive = len(self._queues[Priority.INTERACTIVE])
        background = len(self._queues[Priority.BACKGROUND])
        if priority is Priority.BACKGROUND or self.share >= 1:
            return interactive + background
        # The interactive callers before it, and the background ones the share lets go first.
        let_through = math.ceil((interactive + 1) * self.share / (1 - self.share) - 1e-9)
        return interactive + min(background, let_through)

    async def acquire(
        self, max_wait: float | None = None, *, priority: Priority | None = None
    ) -> float:
        priority = priority or current_priority()
        started = self._clock()
        expected = self.wait_for(started, self.ahead_of(priority))
        if max_wait is not None and expected > max_wait:
            raise PacingExceeded(expected)
        if expected == 0 and not any(self._queues.values()):  # nobody waits, a slot is free
            self._advance(started)
            return 0.0
        me = _Waiter(priority, next(self._arrivals))
        self._queues[priority].append(me)
        try:
            while me.granted_at is None:
                if self._timekeeper is None:
                    self._timekeeper = me
                    await self._keep_time(me)
                else:
                    me.woken.clear()
                    await me.woken.wait()
        finally:
            if me.granted_at is None:  # cancelled, or gave up: it takes nothing
                self._queues[priority].remove(me)
            if self._timekeeper is me:
                self._timekeeper = None
            if self._timekeeper is None:
                # Someone else keeps time now; also when this caller, woken to do it, was
                # cancelled before it could.
                self._wake_one()
        granted_at: float = me.granted_at
        return granted_at - started

    async def _keep_time(self, me: _Waiter) -> None:
        while me.granted_at is None:
            wait = self.wait_for(self._clock())
            if wait > 0:
                await self._sleep(wait)
            now = self._clock()
            self._advance(now)
            chosen = self._choose(now)
            chosen.granted_at = now
            chosen.woken.set()

    def _advance(self, now: float) -> None:
        """Take the slot that is due at `now`.

        Taken a little late (the event loop was busy when the slot came due, or a caller came
        back from its request just after it), by at most LATE_SLACK of an interval, it is
        still the slot that was due, and the next one stays where it was: with a burst of 1
        (CampaignLark at 100/second) every late wake-up used to push the schedule back for
        good, 3 % of the budget on a busy machine. Later than that the pacer was idle, and the
        schedule starts again from now. No request ever goes before its slot's time less the
        burst's tolerance, so a window of the provider's period holds at most LATE_SLACK of a
        request more than the burst allows."""
        interval = self.schedule.interval
        if self._tat < now <= self._tat + LATE_SLACK * interval:
            self._tat += interval
        else:
            self._tat = max(self._tat, now) + interval

    def _choose(self, now: float) -> _Waiter:
        """Who gets the slot that is due: see priority.InteractiveCredit for the share."""
        interactive = self._queues[Priority.INTERACTIVE]
        background = self._queues[Priority.BACKGROUND]
        if not interactive or not background:  # nobody is passed over
            return (interactive or background).popleft()
        if interactive[0].seq < background[0].seq:
            return interactive.popleft()  # arrival order alone puts it first
        if self._credit.take(now):
            return interactive.popleft()
        return background.popleft()

    def _wake_one(self) -> None:
        """No one keeps time: the next waiting caller takes over (a spare wake-up is harmless:
        the caller finds a timekeeper and waits again)."""
        for queue in self._queues.values():
            if queue:
                queue[0].woken.set()
                return


def make_pacer(
    rate: str | None,
    *,
    margin: float = 0.0,
    share: float = DEFAULT_BACKGROUND_SHARE,
    clock: Clock = loop_time,
    sleep: Sleep = asyncio.sleep,
) -> Pacer:
    if not rate:
        return Unpaced()
    return GcraPacer(Rate.parse(rate), margin=margin, share=share, clock=clock, sleep=sleep)
