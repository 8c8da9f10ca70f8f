"""What a CallGuard tells its observer: each re-send, with the failure that caused it, and each
pacing wait; nothing more."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from providers.errors import ErrorCode, Failure, Origin, ProviderError
from providers.model import ProviderName
from providers.resilience import CallGuard, RetryPolicy
from providers.resilience.breaker import LocalCircuitBreaker
from providers.resilience.pacing import GcraPacer, Rate

T = ProviderName.TRACKLY


class Recorder:
    def __init__(self) -> None:
        self.retries: list[str] = []
        self.waits: list[float] = []

    def retry_scheduled(self, provider: ProviderName, reason: str, wait: float) -> None:
        self.retries.append(reason)

    def pacing_waited(self, provider: ProviderName, seconds: float) -> None:
        self.waits.append(seconds)

    def circuit_changed(self, provider: ProviderName, state: object) -> None:
        return None

    def write_reached(self, provider: ProviderName) -> None:
        return None


def busy() -> ProviderError:
    return ProviderError(Failure(ErrorCode.UNAVAILABLE, "busy", provider=T), status=503)


def script(*outcomes: ProviderError | str) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def send() -> str:
        calls.append(1)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome

    return calls, send


async def test_a_call_that_succeeds_at_once_reports_nothing() -> None:
    recorder = Recorder()
    calls, send = script("ok")
    assert await CallGuard(T, observer=recorder).run(send) == "ok"
    assert calls == [1] and recorder.retries == []


async def test_each_re_send_is_reported_with_the_failure_before_it() -> None:
    recorder = Recorder()
    calls, send = script(busy(), busy(), "ok")
    guard = CallGuard(T, RetryPolicy(attempts=4), observer=recorder)
    assert await guard.run(send) == "ok"
    assert len(calls) == 3 and recorder.retries == ["UNAVAILABLE", "UNAVAILABLE"]


async def test_a_call_the_open_circuit_refuses_is_neither_sent_nor_counted() -> None:
    recorder = Recorder()
    breaker = LocalCircuitBreaker(threshold=1, reset_seconds=60)
    breaker.record_failure()
    calls, send = script("ok")
    guard = CallGuard(T, RetryPolicy(attempts=4), breaker=breaker, observer=recorder)
    with pytest.raises(ProviderError) as refused:
        await guard.run(send)
    assert refused.value.failure.origin is Origin.CIRCUIT
    assert calls == [] and recorder.retries == []


@pytest.mark.looptime
async def test_only_a_real_wait_for_the_budget_is_reported() -> None:
    recorder = Recorder()
    pacer = GcraPacer(Rate.parse("1/second"))
    guard = CallGuard(T, pacer=pacer, observer=recorder)
    calls, send = script("ok")
    for _ in range(2):
        await guard.run(send)
    assert len(calls) == 2 and len(recorder.waits) == 1 and recorder.waits[0] > 0.9
