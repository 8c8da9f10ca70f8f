"""Pacing spreads each budget evenly (GCRA, a small burst), so that no window of the provider's
period ever holds more than the budget; FIFO; on a fake clock or the loop's own, fast-forwarded."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from providers.resilience.pacing import (
    LATE_SLACK,
    WINDOW_MARGIN,
    Gcra,
    GcraPacer,
    PacingExceeded,
    Rate,
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


@pytest.mark.parametrize(
    ("rate", "margin", "interval", "burst"),
    [
        (Rate(500, 60.0), 0.0, 60 * WINDOW_MARGIN / 500, 4),  # Heymarket's: every 122 ms
        (Rate(100, 1.0), 0.0, WINDOW_MARGIN / 100, 1),  # CampaignLark's, no margin: no room
        (Rate(100, 1.0), 0.02, (WINDOW_MARGIN + 0.02) / 100, 1),  # ... the default margin
        (Rate(100, 1.0), 0.05, (WINDOW_MARGIN + 0.05) / 100, 3),
        (Rate(100, 1.0), 0.1, (WINDOW_MARGIN + 0.1) / 100, 5),
        (Rate(1, 1.0), 0.0, WINDOW_MARGIN, 1),
    ],
)
def test_the_schedule_of_a_budget(rate: Rate, margin: float, interval: float, burst: int) -> None:
    schedule = Gcra.of(rate, margin)
    assert schedule.interval == pytest.approx(interval)
    assert schedule.burst == burst


async def test_a_budget_goes_out_evenly_after_a_small_burst() -> None:
    # 500 a minute was sent as ~300 in the first second and nothing for 59 (issue 14).
    clock = FakeClock()
    pacer = GcraPacer(Rate(500, 60.0), clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(10):
        await pacer.acquire()
        sent.append(clock.now)
    interval = 60 * WINDOW_MARGIN / 500
    assert sent[:4] == [sent[0]] * 4  # the burst
    gaps = [b - a for a, b in itertools.pairwise(sent[3:])]
    assert gaps == pytest.approx([interval] * 6)


async def test_a_waiter_woken_a_little_late_keeps_the_schedule() -> None:
    # A busy event loop wakes a sleeper late. With a burst of 1 each late wake-up pushed the
    # schedule back for good: 3 % of a 100/second budget on a loaded machine. A slot taken
    # less than LATE_SLACK of an interval late is still the slot that was due.
    clock = FakeClock()
    late = 0.003  # of the 10.4 ms interval

    async def oversleep(seconds: float) -> None:
        await clock.sleep(seconds + late)

    pacer = GcraPacer(Rate(100, 1.0), margin=0.02, clock=clock, sleep=oversleep)
    assert pacer.schedule.burst == 1
    start = clock.now
    for _ in range(1_000):
        await pacer.acquire()
    interval = (WINDOW_MARGIN + 0.02) / 100
    # 1,000 slots in 999 intervals plus the last one's lateness: when each late wake-up moved
    # the schedule, they took 999 x (interval + 3 ms), 29 % longer.
    assert clock.now - start == pytest.approx(999 * interval + late, abs=1e-6)


async def test_a_caller_long_after_its_slot_starts_the_schedule_again() -> None:
    # Later than LATE_SLACK of an interval the pacer was idle: no catching up in a burst.
    clock = FakeClock()
    pacer = GcraPacer(Rate(100, 1.0), margin=0.02, clock=clock, sleep=clock.sleep)
    interval = pacer.schedule.interval
    await pacer.acquire()
    clock.now += interval * (1 + LATE_SLACK) + 0.001  # past the slot and its slack
    assert await pacer.acquire() == 0
    started = clock.now
    await pacer.acquire()
    assert clock.now - started == pytest.approx(interval)


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("rate", "margin"),
    [(Rate(10, 1.0), 0.0), (Rate(100, 1.0), 0.05), (Rate(100, 1.0), 0.1), (Rate(500, 60.0), 0.0)],
)
async def test_no_window_ever_holds_more_than_the_budget_under_concurrency(
    rate: Rate, margin: float
) -> None:
    loop = asyncio.get_running_loop()
    pacer = GcraPacer(rate, margin=margin)  # the loop's own clock and sleep, fast-forwarded
    sent: list[float] = []
    count = 3 * rate.requests + 5

    async def request() -> None:
        await pacer.acquire()
        sent.append(loop.time())

    await asyncio.gather(*(request() for _ in range(count)))
    assert len(sent) == count
    sent.sort()
    for i, start in enumerate(sent):
        in_window = [t for t in sent[i:] if t < start + rate.period]
        assert len(in_window) <= rate.requests
    # ... and it is not slower than it must be: the burst, then one per interval.
    schedule = pacer.schedule
    assert sent[-1] - sent[0] == pytest.approx((count - schedule.burst) * schedule.interval)


async def test_callers_are_served_in_arrival_order() -> None:
    clock = FakeClock()
    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def request(n: int) -> None:
        await pacer.acquire()
        order.append(n)

    await asyncio.gather(*(request(n) for n in range(6)))
    assert order == list(range(6))


async def test_a_caller_woken_late_does_not_bunch_the_next_ones() -> None:
    clock = FakeClock()
    late = {"once": True}

    async def sleep(seconds: float) -> None:
        if late.pop("once", False):
            seconds += 5.0  # a busy event loop: the wake-up comes long after the due time
        await clock.sleep(seconds)

    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=sleep)
    sent = []
    for _ in range(4):
        await pacer.acquire()
        sent.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps[0] == pytest.approx(WINDOW_MARGIN + 5.0)
    assert gaps[1:] == pytest.approx([WINDOW_MARGIN] * 2)  # spaced from when it really went


async def test_a_caller_that_cannot_wait_so_long_is_told_how_long_and_spends_nothing() -> None:
    clock = FakeClock()
    pacer = GcraPacer(Rate(2, 60.0), clock=clock, sleep=clock.sleep)
    interval = pacer.schedule.interval  # 30.6 s: one request every half period
    await pacer.acquire()
    with pytest.raises(PacingExceeded) as caught:
        await pacer.acquire(max_wait=5.0)
    assert caught.value.wait == pytest.approx(interval)
    clock.now += interval
    assert await pacer.acquire(max_wait=0.0) == 0.0  # the refused caller took no slot


async def test_the_wait_announced_counts_the_callers_ahead() -> None:
    clock = FakeClock()
    time_passes = asyncio.Event()

    async def sleep(seconds: float) -> None:  # time stands still until the test lets it go
        await time_passes.wait()
        await clock.sleep(seconds)

    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=sleep)
    await pacer.acquire()
    ahead = [asyncio.create_task(pacer.acquire()) for _ in range(3)]
    await asyncio.sleep(0)  # they queue: the first waits for its turn, two behind it
    with pytest.raises(PacingExceeded) as caught:
        await pacer.acquire(max_wait=1.0)
    assert caught.value.wait == pytest.approx(4 * WINDOW_MARGIN)
    time_passes.set()
    await asyncio.gather(*ahead)


async def test_a_caller_that_gives_up_while_waiting_takes_nothing() -> None:
    clock = FakeClock()
    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    gone = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    clock.now += WINDOW_MARGIN
    assert await pacer.acquire(max_wait=0.0) == 0.0


async def test_no_rate_means_no_pacing() -> None:
    pacer = make_pacer(None)
    assert [await pacer.acquire() for _ in range(1_000)] == [0.0] * 1_000
