"""What may be sent again, and after how long. The decision is a predicate, never "on Exception".

Retried: 429 and 503 (the provider refused the request, so even a create is safe), connection
failures before the request left (connect errors, pool timeouts), and, for idempotent requests
only, 502, 504, read timeouts and dropped connections (the provider may have acted on them).
A Retry-After the deadline cannot accommodate ends the retries at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from providers.errors import Origin, ProviderError

ALWAYS_RETRIED = frozenset({429, 503})
RETRIED_IF_IDEMPOTENT = frozenset({502, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # in all, the first one included
    initial_wait: float = 0.2
    max_wait: float = 5.0
    jitter: float = 0.5

    def decide(
        self, idempotent: bool, remaining: Callable[[], float | None]
    ) -> Callable[[Exception], bool | float]:
        """A stamina backoff hook: False = give up, True = back off, a float = wait that long."""

        def hook(exc: Exception) -> bool | float:
            if not isinstance(exc, ProviderError) or not should_retry(exc, idempotent):
                return False
            wait = exc.failure.retry_after
            if wait is None:
                return True
            left = remaining()
            return False if left is not None and wait >= left else wait

        return hook


def should_retry(error: ProviderError, idempotent: bool) -> bool:
    if error.status is not None:
        return error.status in ALWAYS_RETRIED or (
            idempotent and error.status in RETRIED_IF_IDEMPOTENT
        )
    if error.failure.origin in _GATEWAY_DECIDED:
        return False  # pacing, an open circuit, the deadline: trying again cannot help now
    return not error.reached or idempotent


def is_provider_fault(error: ProviderError) -> bool:
    """Evidence that the provider is unwell, for the circuit breaker."""
    if error.status is not None:
        return error.status >= 500
    return error.failure.origin not in _GATEWAY_DECIDED


# The gateway's own refusals around a call: no evidence about the provider either way.
_GATEWAY_DECIDED = frozenset({Origin.PACING, Origin.CIRCUIT, Origin.DEADLINE})
