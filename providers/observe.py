"""What the shared provider layer reports about itself, to whoever is listening.

providers/ must not know the gateway's metrics, so it reports through this Protocol; the
gateway implements it (Prometheus) and hands it to each account's CallGuard. Every method has
a no-op default, so a guard that was given nothing reports to `NO_OBSERVER` and carries on.
"""

from __future__ import annotations

from typing import Protocol

from providers.model import ProviderName
from providers.resilience.breaker import CircuitState


class ProviderObserver(Protocol):
    def retry_scheduled(self, provider: ProviderName, reason: str, wait: float) -> None:
        """A request goes out again `wait` seconds after the failure (an ErrorCode value,
        `reason`) of the one before it; a retry refused before it was sent is not one."""
        ...

    def pacing_waited(self, provider: ProviderName, seconds: float) -> None:
        """A request waited this long for a slot in the provider's request budget."""
        ...

    def circuit_changed(self, provider: ProviderName, state: CircuitState) -> None:
        """The circuit breaker for this provider account moved to `state`."""
        ...

    def write_reached(self, provider: ProviderName) -> None:
        """A write request went out and its outcome does not prove the provider refused it
        (anything but no connection, a 429 or a 503): something may have been written."""
        ...


class NoObserver:
    def retry_scheduled(self, provider: ProviderName, reason: str, wait: float) -> None:
        return None

    def pacing_waited(self, provider: ProviderName, seconds: float) -> None:
        return None

    def circuit_changed(self, provider: ProviderName, state: CircuitState) -> None:
        return None

    def write_reached(self, provider: ProviderName) -> None:
        return None


NO_OBSERVER: ProviderObserver = NoObserver()
