"""Pacing keeps every window of the provider's period within its budget, FIFO, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from providers.resilience.pacing import (
    WINDOW_MARGIN,
    PacingExceeded,
    Rate,
    SlidingWindowPacer,
    make_pacer,
)
from tests.support import FakeClock


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("500/minute", Rate(500, 60.0)),
        ("100 per second", Rate(100, 1.0)),
        ("10/HOUR", Rate(10, 3600.0)),
    ],
)
def test_rates_are_written_as_people_say_them(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "500", "0/second", "5/fortnight", "-1/minute", "x/second"])
def test_a_rate_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        Rate.parse(text)


async def test_the_first_n_go_at_once_and_the_next_waits_for_the_window() -> None:
    clock = FakeClock()
    pacer = SlidingWindowPacer(Rate(3, 1.0), clock=clock, sleep=clock.sleep)
    waits = [await pacer.acquire() for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1.0 * WINDOW_MARGIN)


@pytest.mark.looptime
async def test_no_window_ever_holds_more_than_the_budget_under_concurrency() -> None:
    loop = asyncio.get_running_loop()
    rate = Rate(10, 1.0)
    pacer = SlidingWindowPacer(rate)  # the loop's own clock and sleep, fast-forwarded
    sent: list[float] = []

    async def request() -> None:
        await pacer.acquire()
        sent.append(loop.time())

    await asyncio.gather(*(request() for _ in range(95)))
    assert len(sent) == 95
    sent.sort()
    for i, start in enumerate(sent):
        in_window = [t for t in sent[i:] if t < start + rate.period]
        assert len(in_window) <= rate.requests
    # ... and it is not slower than it must be: 95 requests need 9 full windows.
    assert sent[-1] - sent[0] == pytest.approx(9 * WINDOW_MARGIN)


async def test_callers_are_served_in_arrival_order() -> None:
    clock = FakeClock()
    pacer = SlidingWindowPacer(Rate(1, 1.0), clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def request(n: int) -> None:
        await pacer.acquire()
        order.append(n)

    await asyncio.gather(*(request(n) for n in range(6)))
    assert order == list(range(6))


async def test_a_caller_that_cannot_wait_so_long_is_told_how_long_and_spends_nothing() -> None:
    clock = FakeClock()
    pacer = SlidingWindowPacer(Rate(2, 60.0), clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    await pacer.acquire()
    with pytest.raises(PacingExceeded) as caught:
        await pacer.acquire(max_wait=5.0)
    assert caught.value.wait == pytest.approx(60.0 * WINDOW_MARGIN)
    clock.now += 60.0 * WINDOW_MARGIN
    assert await pacer.acquire(max_wait=0.0) == 0.0  # the refused caller took no slot


async def test_no_rate_means_no_pacing() -> None:
    pacer = make_pacer(None)
    assert [await pacer.acquire() for _ in range(1_000)] == [0.0] * 1_000
