"""What the shared provider layer reports about itself, to whoever is listening.

providers/ must not know the gateway's metrics, so it reports through this Protocol; the
gateway implements it (Prometheus) and hands it in. Every method has a no-op default, so a
caller that was given nothing reports to `NO_OBSERVER` and carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from providers.errors import ProviderError
from providers.model import ProviderName
from providers.resilience.breaker import CircuitState
from providers.resilience.guard import CallGuard
from providers.resilience.pacing import Pacer, Unpaced

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
        # The first attempt has nothing to report unless it fails: only then does the call get
        # an observed sender, told whether (and how) that attempt failed at the provider.
        try:
            await self._admit()
        except ProviderError as refused:
            return await self._retry(_ObservedSend(self, send), refused, idempotent)
        try:
            return await self._call(send)
        except ProviderError as error:
            return await self._retry(_ObservedSend(self, send, error), error, idempotent)


class _ObservedSend(Generic[T]):
    """`send` for the attempts after the first, reporting each re-send to the observer."""

    def __init__(
        self,
        guard: ObservedCallGuard,
        send: Callable[[], Awaitable[T]],
        sent_and_failed: ProviderError | None = None,
    ) -> None:
        self.guard = guard
        self.send = send
        self.attempts = 0
        self.reason = "unknown"
        self.failed_at = 0.0
        if sent_and_failed is not None:  # the first attempt reached the provider
            self.attempts = 1
            self.failed(sent_and_failed)

    def failed(self, error: ProviderError) -> None:
        self.reason = error.failure.code.value
        self.failed_at = asyncio.get_running_loop().time()

    async def __call__(self) -> T:
        self.attempts += 1
        if self.attempts > 1:
            waited = asyncio.get_running_loop().time() - self.failed_at
            self.guard.observer.retry_scheduled(self.guard.provider, self.reason, max(0.0, waited))
        try:
            return await self.send()
        except ProviderError as error:
            self.failed(error)
            raise


def observed(guard: CallGuard, observer: ProviderObserver) -> ObservedCallGuard:
    """The same guard (policy, breaker, limits), reporting its re-sends and pacing waits."""
    # Unpaced never waits, so it has nothing to report, and the guard skips it when bare.
    pacer = guard.pacer
    if not isinstance(pacer, Unpaced):
        pacer = ObservedPacer(pacer, guard.provider, observer)
    return ObservedCallGuard(
        guard.provider,
        policy=guard.policy,
        pacer=pacer,
        breaker=guard.breaker,
        max_concurrency=guard.max_concurrency,
        observer=observer,
    )
