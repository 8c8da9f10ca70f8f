"""What the shared provider layer reports about itself, to whoever is listening.

providers/ must not know the gateway's metrics, so it reports through this Protocol; the
gateway implements it (Prometheus) and hands it in. Every method has a no-op default, so a
caller that was given nothing reports to `NO_OBSERVER` and carries on.
"""

from __future__ import annotations

from typing import Protocol

from providers.model import ProviderName
from providers.resilience.breaker import CircuitState
from providers.resilience.pacing import Pacer


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
