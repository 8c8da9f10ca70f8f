"""What the shared provider layer reports about itself, to whoever is listening.

providers/ must not know the gateway's metrics, so it reports through this Protocol; the
gateway implements it (Prometheus) and hands it in. Every method has a no-op default, so a
caller that was given nothing reports to `NO_OBSERVER` and carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from providers.errors import ProviderError
from providers.model import ProviderName
from providers.resilience.breaker import CircuitState
from providers.resilience.guard import CallGuard
from providers.resilience.pacing import Pacer

T = TypeVar("T")


class ProviderObserver(Protocol):
    def retry_scheduled(self, provider: ProviderName, reason: str, wait: float) -> None:
        """One more attempt will be made after `wait` seconds; `reason` is the ErrorCode value."""
        ...

    def pacing_waited(self, provider: ProviderName, seconds: float) -> None:
        """A request waited this long for a slot in the provider's request budget."""
        ...

    def circuit_changed(self, provider: ProviderName, state: CircuitState) -> None:
        """The circuit breaker for this provider account moved to `state`."""
        ...


class NoObserver:
    def retry_scheduled(self, provider: ProviderName, reason: str, wait: float) -> None:
        return None

    def pacing_waited(self, provider: ProviderName, seconds: float) -> None:
        return None

    def circuit_changed(self, provider: ProviderName, state: CircuitState) -> None:
        return None


NO_OBSERVER: ProviderObserver = NoObserver()


class ObservedPacer:
    """A Pacer that reports every wait it imposes; wraps the real one without changing it."""

    def __init__(self, inner: Pacer, provider: ProviderName, observer: ProviderObserver) -> None:
        self.inner = inner
        self.provider = provider
        self.observer = observer

    @property
    def rate(self) -> object:
        return getattr(self.inner, "rate", None)

    async def acquire(self, max_wait: float | None = None) -> float:
        waited = await self.inner.acquire(max_wait)
        if waited > 0:
            self.observer.pacing_waited(self.provider, waited)
        return waited


@dataclass
class ObservedCallGuard(CallGuard):
    """A CallGuard that reports each re-send, with the failure that caused it.

    It counts the attempts that reach `send`, so a retry refused by an open circuit or an
    exhausted budget is not counted as a call made. Once the retry layer reports to an
    observer itself, this subclass can go.
    """

    observer: ProviderObserver = NO_OBSERVER

    async def run(self, send: Callable[[], Awaitable[T]], *, idempotent: bool = True) -> T:
        attempts = 0
        reason = "unknown"
        failed_at = 0.0

        async def observed_send() -> T:
            nonlocal attempts, reason, failed_at
            attempts += 1
            if attempts > 1:
                waited = asyncio.get_running_loop().time() - failed_at
                self.observer.retry_scheduled(self.provider, reason, max(0.0, waited))
            try:
                return await send()
            except ProviderError as error:
                reason = error.failure.code.value
                failed_at = asyncio.get_running_loop().time()
                raise

        return await super().run(observed_send, idempotent=idempotent)


def observed(guard: CallGuard, observer: ProviderObserver) -> ObservedCallGuard:
    """The same guard (policy, breaker, limits), reporting its re-sends and pacing waits."""
    return ObservedCallGuard(
        guard.provider,
        policy=guard.policy,
        pacer=ObservedPacer(guard.pacer, guard.provider, observer),
        breaker=guard.breaker,
        max_concurrency=guard.max_concurrency,
        observer=observer,
    )
