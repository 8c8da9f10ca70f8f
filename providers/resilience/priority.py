"""Who a provider call is for: someone waiting on the answer, or a job in the background.

Interactive traffic (a front-end's upsertContact, a bulkUpsertContacts, anything a client is
waiting on) and background traffic (an import's chunks) share each account's budget. A pacer
(pacing.py in this process, redis_pacer.py across a fleet) hands its slots out so that a
background job never starves the front-end: while interactive calls are waiting for a slot,
background calls get at most `share` of the slots (and interactive calls never wait longer than
arrival order alone would make them); when no interactive call is waiting, background calls
take all of them. `share` = 1 turns the preference off: every call in arrival order.

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
    "Contention",
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


@dataclass(slots=True)
class Contention:
    """The slots handed out since interactive calls began waiting behind background ones, and
    how many of them background calls took: a background call may take the next one only while
    that keeps its part at most `share`. The first contended slot therefore goes to the
    interactive call (it jumps ahead), then background and interactive calls alternate in the
    share's proportion (0.8: one interactive slot in five) for as long as both keep waiting.
    Counting starts afresh once no interactive call waits, so quiet spells earn no credit."""

    share: float
    slots: int = 0
    background: int = 0

    def background_may_go(self) -> bool:
        # The epsilon: 0.8 * 5 must allow the fourth background slot of five.
        return self.background + 1 <= self.share * (self.slots + 1) + 1e-9

    def count(self, priority: Priority) -> None:
        self.slots += 1
        self.background += priority is Priority.BACKGROUND

    def reset(self) -> None:
        self.slots = self.background = 0
