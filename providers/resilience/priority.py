"""Who a provider call is for: someone waiting on the answer, or a job in the background.

Interactive traffic (a front-end's upsertContact, a bulkUpsertContacts, anything a client is
waiting on) and background traffic (an import's chunks) share each account's budget. A pacer
(pacing.py in this process, redis_pacer.py across a fleet) hands its slots out so that a
background job never starves the front-end: while interactive calls are waiting for a slot,
background calls get at most `share` of the slots (and interactive calls never wait longer than
arrival order alone would make them); when no interactive call is waiting, background calls
take all of them. `share` = 1 turns the preference off: every call in arrival order. How each
pacer keeps to it: InteractiveCredit below (in one process), redis_pacer.py (a fleet).

A call's priority is set by whoever starts the work, not by the adapters: the import runner
wraps its chunks in `background()`, and every provider call made inside (the tasks a bulk
starts included: they copy the context) is paced as background. Everything else is
interactive, the default. The mechanism is here once; no adapter knows of it.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "DEFAULT_BACKGROUND_SHARE",
    "INTERACTIVE_BURST",
    "InteractiveCredit",
    "Priority",
    "background",
    "check_share",
    "current_priority",
]

# The part of a budget background calls may take while interactive calls wait (the contract's
# `gateway.import_budget_share` default): a fifth of Heymarket's 500 a minute, 100 calls, stays
# for the front-end, about 50 upserts of a new contact a minute.
DEFAULT_BACKGROUND_SHARE = 0.8


class Priority(enum.Enum):
    INTERACTIVE = "interactive"
    BACKGROUND = "background"


_priority: contextvars.ContextVar[Priority] = contextvars.ContextVar(
    "pacing_priority", default=Priority.INTERACTIVE
)


def current_priority() -> Priority:
    return _priority.get()


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Pace every provider call made inside (tasks started inside included) as background."""
    token = _priority.set(Priority.BACKGROUND)
    try:
        yield
    finally:
        _priority.reset(token)


def check_share(share: float) -> float:
    if not 0 < share <= 1:
        raise ValueError(f"a background share is a fraction of the budget, 0 < share <= 1: {share}")
    return share


# Interactive calls one caller may send back to back ahead of waiting background ones before
# the share applies: an upsert's look-up and its write, an update's read and its write.
INTERACTIVE_BURST = 4


@dataclass(slots=True)
class InteractiveCredit:
    """How many waiting background callers interactive ones may still pass: a bucket of
    `burst` passes, refilled at (1 - share) of the budget's pace. While both keep waiting,
    interactive callers thus take 1 - share of the slots (0.8: one in five) and background
    ones the rest; an interactive caller that comes now and then (a look-up, then its write)
    finds the bucket full and takes the next slot. A share of 1 gives no passes at all."""

    share: float
    interval: float  # the budget's: seconds between two slots
    burst: int = INTERACTIVE_BURST
    tokens: float = -1.0  # -1: full, on first use
    at: float = 0.0

    def take(self, now: float) -> bool:
        """One pass, if there is one left: an interactive caller goes before a background one."""
        capacity = self.burst if self.share < 1 else 0
        if self.tokens < 0:
            self.tokens = capacity
        else:
            earned = (now - self.at) / self.interval * (1 - self.share)
            self.tokens = min(capacity, self.tokens + max(0.0, earned))
        self.at = now
        if self.tokens >= 1 - 1e-9:  # the epsilon: five fifths must make a whole pass
            self.tokens = max(0.0, self.tokens - 1)
            return True
        return False
