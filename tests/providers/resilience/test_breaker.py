"""The circuit breaker's states, on a fake clock."""

from __future__ import annotations

import pytest

from providers.resilience.breaker import CircuitOpen, CircuitState, LocalCircuitBreaker
from tests.support import FakeClock


def opened(clock: FakeClock) -> LocalCircuitBreaker:
    breaker = LocalCircuitBreaker(threshold=3, reset_seconds=10.0, clock=clock)
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    return breaker


def test_it_opens_after_threshold_consecutive_failures_only() -> None:
    clock = FakeClock()
    breaker = LocalCircuitBreaker(threshold=3, reset_seconds=10.0, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()  # a success in between resets the count
    for _ in range(2):
        breaker.record_failure()
    assert breaker.snapshot().state is CircuitState.CLOSED
    breaker.record_failure()
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.consecutive_failures) == (CircuitState.OPEN, 3)
    assert snapshot.retry_after == pytest.approx(10.0)


def test_while_open_calls_are_refused_with_the_time_left() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.now += 4.0
    with pytest.raises(CircuitOpen) as caught:
        breaker.before_call()
    assert caught.value.retry_after == pytest.approx(6.0)


def test_half_open_lets_one_probe_through_and_its_success_closes() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.now += 10.0
    assert breaker.snapshot().state is CircuitState.HALF_OPEN
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # nobody else while it is out
    breaker.record_success()
    assert breaker.snapshot().state is CircuitState.CLOSED
    breaker.before_call()


def test_a_failed_probe_opens_it_again_for_a_full_period() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.now += 10.0
    breaker.before_call()
    breaker.record_failure()
    snapshot = breaker.snapshot()
    assert snapshot.state is CircuitState.OPEN
    assert snapshot.retry_after == pytest.approx(10.0)
