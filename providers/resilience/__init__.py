"""Timeouts, retries, pacing and circuit breaking, shared by every adapter through ProviderHttp."""

from providers.resilience.breaker import (
    CircuitBreaker,
    CircuitSnapshot,
    CircuitState,
    LocalCircuitBreaker,
)
from providers.resilience.guard import CallGuard, remaining_time, within_deadline
from providers.resilience.pacing import Pacer, Rate, SlidingWindowPacer, Unpaced, make_pacer
from providers.resilience.retry import RetryPolicy

__all__ = [
    "CallGuard",
    "CircuitBreaker",
    "CircuitSnapshot",
    "CircuitState",
    "LocalCircuitBreaker",
    "Pacer",
    "Rate",
    "RetryPolicy",
    "SlidingWindowPacer",
    "Unpaced",
    "make_pacer",
    "remaining_time",
    "within_deadline",
]
