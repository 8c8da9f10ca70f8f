"""Timeouts, retries, pacing and circuit breaking, shared by every adapter through ProviderHttp."""

from providers.resilience.breaker import (
    CircuitBreaker,
    CircuitSnapshot,
    CircuitState,
    LocalCircuitBreaker,
)
from providers.resilience.guard import CallGuard, remaining_time, within_deadline
from providers.resilience.pacing import GcraPacer, Pacer, Rate, Unpaced, make_pacer
from providers.resilience.retry import RetryPolicy

__all__ = [
    "CallGuard",
    "CircuitBreaker",
    "CircuitSnapshot",
    "CircuitState",
    "GcraPacer",
    "LocalCircuitBreaker",
    "Pacer",
    "Rate",
    "RetryPolicy",
    "Unpaced",
    "make_pacer",
    "remaining_time",
    "within_deadline",
]
