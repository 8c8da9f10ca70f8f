"""A circuit breaker per provider account: stop calling a provider that keeps failing.

closed --(threshold consecutive failures)--> open --(reset_seconds)--> half-open
half-open lets exactly one probe through: success closes, failure opens again.
Only failures that say the provider is unwell count (5xx, timeouts, connection errors);
a 4xx is the request's fault and a 429 is handled by pacing and retries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from providers.resilience.pacing import Clock, loop_time


class CircuitState(enum.Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True, slots=True)
class CircuitSnapshot:
    state: CircuitState
    consecutive_failures: int
    retry_after: float | None  # seconds until a probe may go through, while open


class CircuitOpen(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open; next probe in {retry_after:.1f}s")
        self.retry_after = retry_after


class CircuitBreaker(Protocol):
    def before_call(self) -> None:
        """Raise CircuitOpen when no call may go out now."""
        ...

    def record_success(self) -> None: ...

    def record_failure(self) -> None: ...

    def snapshot(self) -> CircuitSnapshot: ...


class LocalCircuitBreaker:
    def __init__(
        self, threshold: int = 5, reset_seconds: float = 30.0, *, clock: Clock = loop_time
    ) -> None:
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    def before_call(self) -> None:
        if self._opened_at is None:
            return
        remaining = self._opened_at + self.reset_seconds - self._clock()
        if remaining > 0:
            raise CircuitOpen(remaining)
        if self._probing:  # half-open: one probe at a time
            raise CircuitOpen(min(1.0, self.reset_seconds))
        self._probing = True

    def record_success(self) -> None:
        self._failures, self._opened_at, self._probing = 0, None, False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            self._opened_at = self._clock()
        self._probing = False

    def trip(self, retry_after: float, failures: int) -> None:
        """Open now for `retry_after` seconds on another process' evidence (see RedisBreaker)."""
        until = self._clock() + retry_after
        if self._opened_at is None or self._opened_at + self.reset_seconds < until:
            self._opened_at = until - self.reset_seconds
        self._failures = max(self._failures, failures)

    def forget_failures(self, down_to: int) -> None:
        """Another process' success broke the run of failures this one counted."""
        if self._opened_at is None:
            self._failures = min(self._failures, down_to)

    def snapshot(self) -> CircuitSnapshot:
        if self._opened_at is None:
            return CircuitSnapshot(CircuitState.CLOSED, self._failures, None)
        remaining = self._opened_at + self.reset_seconds - self._clock()
        if remaining > 0:
            return CircuitSnapshot(CircuitState.OPEN, self._failures, remaining)
        return CircuitSnapshot(CircuitState.HALF_OPEN, self._failures, 0.0)
