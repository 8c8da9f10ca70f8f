"""Everything one provider call goes through: circuit, pacing, concurrency, retries, deadline.

One CallGuard per configured provider account, shared by every request in the process.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import stamina

from providers.errors import ErrorCode, Failure, Origin, ProviderError
from providers.model import ProviderName
from providers.observe import NO_OBSERVER, ProviderObserver
from providers.resilience.breaker import (
    CircuitBreaker,
    CircuitOpen,
    CircuitState,
    LocalCircuitBreaker,
)
from providers.resilience.pacing import (
    Clock,
    Pacer,
    PacingExceeded,
    Sleep,
    Unpaced,
    loop_time,
    make_pacer,
)
from providers.resilience.retry import RetryPolicy, is_provider_fault

if TYPE_CHECKING:
    from providers.settings import ProviderSettings

T = TypeVar("T")

# When the current provider operation must be over (event-loop time), set by within_deadline.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


def remaining_time() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - asyncio.get_running_loop().time()


async def within_deadline(
    seconds: float, provider: ProviderName, operation: Callable[[], Awaitable[T]]
) -> T:
    """Bound one provider operation (all its calls, waits and retries) by the deadline."""
    token = _deadline.set(asyncio.get_running_loop().time() + seconds)
    try:
        async with asyncio.timeout(seconds):
            return await operation()
    except TimeoutError:
        raise ProviderError(
            Failure(
                ErrorCode.TIMEOUT,
                f"{provider.label} did not finish within the {seconds:g}s deadline",
                provider=provider,
                origin=Origin.DEADLINE,
            )
        ) from None
    finally:
        _deadline.reset(token)


@dataclass
class CallGuard:
    provider: ProviderName
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pacer: Pacer = field(default_factory=Unpaced)
    breaker: CircuitBreaker = field(default_factory=LocalCircuitBreaker)
    max_concurrency: int = 64
    observer: ProviderObserver = NO_OBSERVER  # told of each re-send and pacing wait

    def __post_init__(self) -> None:
        self._gate = asyncio.Semaphore(self.max_concurrency)

    @classmethod
    def from_settings(
        cls,
        provider: ProviderName,
        settings: ProviderSettings,
        *,
        clock: Clock = loop_time,
        sleep: Sleep = asyncio.sleep,
        observer: ProviderObserver = NO_OBSERVER,
        pacer: Pacer | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> CallGuard:
        """The account's guard; a fleet passes the pacer and breaker it shares through Redis."""
        return cls(
            provider,
            policy=RetryPolicy(
                attempts=settings.retry_attempts,
                initial_wait=settings.retry_initial_wait,
                max_wait=settings.retry_max_wait,
            ),
            pacer=pacer or make_pacer(settings.rate_limit, clock=clock, sleep=sleep),
            breaker=breaker
            or LocalCircuitBreaker(
                settings.breaker_threshold, settings.breaker_reset_seconds, clock=clock
            ),
            max_concurrency=settings.max_concurrency,
            observer=observer,
        )

    async def run(self, send: Callable[[], Awaitable[T]], *, idempotent: bool = True) -> T:
        """`send` makes one attempt and raises ProviderError; retried as the policy allows."""
        # Most calls succeed at once: the first attempt runs outside stamina, whose set-up costs
        # more than the rest of the guard. A failure is replayed to stamina as its own first
        # attempt, so the retry decision and the backoff are unchanged.
        try:
            await self._admit()
        except ProviderError as refused:  # never sent: nothing to count as a re-send yet
            return await self._retry(send, refused, idempotent, sent=None)
        try:
            return await self._call(send)
        except ProviderError as error:
            return await self._retry(send, error, idempotent, sent=error)

    async def _retry(
        self,
        send: Callable[[], Awaitable[T]],
        first: ProviderError,
        idempotent: bool,
        *,
        sent: ProviderError | None,
    ) -> T:
        """The attempts after `first`. `sent` is the last failure of a request that went out:
        each later request that goes out is reported to the observer as a re-send, with it."""
        pending: ProviderError | None = first
        loop = asyncio.get_running_loop()
        failed_at = loop.time()
        async for attempt in stamina.retry_context(
            on=self.policy.decide(idempotent, remaining_time),
            attempts=self.policy.attempts,
            timeout=None,  # the deadline bounds the whole operation
            wait_initial=self.policy.initial_wait,
            wait_max=self.policy.max_wait,
            wait_jitter=self.policy.jitter,
        ):
            with attempt:
                if pending is not None:
                    replay, pending = pending, None
                    raise replay
                await self._admit()
                if sent is not None:
                    reason, waited = sent.failure.code.value, loop.time() - failed_at
                    self.observer.retry_scheduled(self.provider, reason, max(0.0, waited))
                try:
                    return await self._call(send)
                except ProviderError as error:
                    sent, failed_at = error, loop.time()
                    raise
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _admit(self) -> None:
        """Refuse (ProviderError, reached=False) when no call may go out now."""
        # An open circuit refuses at once, before any pacing wait or budget is spent.
        snapshot = self.breaker.snapshot()
        if snapshot.state is CircuitState.OPEN:
            raise self._circuit_open(snapshot.retry_after or 0.0)
        if not isinstance(self.pacer, Unpaced):  # which never waits: no coroutine to run
            try:
                waited = await self.pacer.acquire(max_wait=remaining_time())
            except PacingExceeded as exc:
                raise self._refusal(
                    ErrorCode.RATE_LIMITED,
                    f"{self.provider.label}'s request budget is spent for now",
                    Origin.PACING,
                    exc.wait,
                ) from None
            if waited > 0:
                self.observer.pacing_waited(self.provider, waited)
        try:
            self.breaker.before_call()
        except CircuitOpen as exc:
            raise self._circuit_open(exc.retry_after) from None

    async def _call(self, send: Callable[[], Awaitable[T]]) -> T:
        """One attempt that was let through: its outcome goes to the breaker."""
        try:
            async with self._gate:
                result = await send()
        except ProviderError as error:
            if is_provider_fault(error):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()  # the provider answered: it is alive
            raise
        except BaseException:
            self.breaker.record_failure()  # cancelled mid-call: free the half-open probe
            raise
        self.breaker.record_success()
        return result

    def _circuit_open(self, wait: float) -> ProviderError:
        return self._refusal(
            ErrorCode.UNAVAILABLE,
            f"{self.provider.label} is failing; the gateway stopped calling it for now",
            Origin.CIRCUIT,
            wait,
        )

    def _refusal(self, code: ErrorCode, message: str, origin: Origin, wait: float) -> ProviderError:
        return ProviderError(
            Failure(
                code, message, provider=self.provider, retry_after=round(wait, 3), origin=origin
            ),
            reached=False,
        )
