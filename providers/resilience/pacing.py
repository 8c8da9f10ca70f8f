"""Client-side pacing: at most N requests in any window of `period` seconds, per account.

`Pacer` is the interface; `SlidingWindowPacer` keeps the budget in this process. A shared store
(Redis, for several workers) is a second implementation of the same protocol.

The in-memory pacer hands out reservations in arrival order: each caller is given the earliest
moment its request fits the window and sleeps until then, so waiting callers never race for
the same slot and the provider never sees more than N requests in any window.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
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


class SlidingWindowPacer:
    def __init__(
        self, rate: Rate, *, clock: Clock = loop_time, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.rate = rate
        self.window = rate.period * WINDOW_MARGIN
        self._clock = clock
        self._sleep = sleep
        self._granted: deque[float] = deque(maxlen=rate.requests)

    async def acquire(self, max_wait: float | None = None) -> float:
        now = self._clock()
        slot = now
        if len(self._granted) == self.rate.requests:
            slot = max(now, self._granted[0] + self.window)
        wait = slot - now
        if max_wait is not None and wait > max_wait:
            raise PacingExceeded(wait)
        self._granted.append(slot)  # maxlen drops the oldest grant
        if wait > 0:
            await self._sleep(wait)
        return wait


def make_pacer(
    rate: str | None, *, clock: Clock = loop_time, sleep: Sleep = asyncio.sleep
) -> Pacer:
    return SlidingWindowPacer(Rate.parse(rate), clock=clock, sleep=sleep) if rate else Unpaced()
