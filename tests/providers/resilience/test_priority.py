"""Interactive traffic first, in one process (GcraPacer): interactive callers jump ahead of
background ones, background callers get their share of the slots while both wait and all of them
alone, each priority is served in arrival order, and a caller that gives up leaves nothing
behind. On a fake clock that moves only when the test lets it."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from providers.resilience.pacing import WINDOW_MARGIN, GcraPacer, PacingExceeded, Rate
from providers.resilience.priority import (
    INTERACTIVE_BURST,
    InteractiveCredit,
    Priority,
    background,
    check_share,
    current_priority,
)
from tests.support import FakeClock

FG, BG = Priority.INTERACTIVE, Priority.BACKGROUND


class HeldClock(FakeClock):
    """A fake clock whose sleepers wait until the test lets time pass: callers queue first."""

    def __init__(self) -> None:
        super().__init__()
        self.passes = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        await self.passes.wait()
        await super().sleep(seconds)


class Served:
    """Who got each slot, and when."""

    def __init__(self, pacer: GcraPacer, clock: FakeClock) -> None:
        self.pacer = pacer
        self.clock = clock
        self.order: list[str] = []
        self.at: dict[str, float] = {}

    async def one(self, name: str, priority: Priority) -> None:
        asked = self.clock.now
        waited = await self.pacer.acquire(priority=priority)
        self.order.append(name)
        self.at[name] = asked + waited  # when the slot was granted (the waiter may run later)

    def start(self, name: str, priority: Priority) -> asyncio.Task[None]:
        return asyncio.create_task(self.one(name, priority))


async def queued(clock: HeldClock, share: float, arrivals: list[tuple[str, Priority]]) -> Served:
    """One slot spent, then `arrivals` queued in this order, then time let go."""
    pacer = GcraPacer(Rate(1, 1.0), share=share, clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    served = Served(pacer, clock)
    tasks = []
    for name, priority in arrivals:
        tasks.append(served.start(name, priority))
        await asyncio.sleep(0)  # each is in line before the next arrives
    clock.passes.set()
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks)
    return served


async def test_an_interactive_caller_takes_the_next_slot_ahead_of_waiting_imports() -> None:
    clock = HeldClock()
    arrivals = [(f"b{n}", BG) for n in range(5)] + [("i0", FG)]
    served = await queued(clock, 0.8, arrivals)
    assert served.order[0] == "i0"
    assert served.order[1:] == [f"b{n}" for n in range(5)]  # and the imports in their order
    assert served.at["i0"] == pytest.approx(1_000 + WINDOW_MARGIN)  # one interval, not six


@pytest.mark.parametrize(
    ("share", "pattern"),
    [(0.8, "BBBBI"), (0.5, "BI"), (0.75, "BBBI"), (0.2, "BIIII"), (1 / 3, "BII")],
)
async def test_while_both_wait_imports_get_their_share_of_the_slots(
    share: float, pattern: str
) -> None:
    clock = HeldClock()
    arrivals = [(f"b{n}", BG) for n in range(150)] + [(f"i{n}", FG) for n in range(150)]
    served = await queued(clock, share, arrivals)
    kinds = "".join(name[0].upper() for name in served.order)
    # Interactive callers pass the waiting imports a few times at once (an upsert's look-up
    # and write; longer when their share is large: passes are earned meanwhile), then the
    # share holds, slot after slot:
    assert kinds.startswith("I" * INTERACTIVE_BURST)
    steady = kinds[50 : 50 + 10 * len(pattern)]
    assert steady.count("B") / len(steady) == pytest.approx(share, abs=1e-9)
    assert steady in pattern * 11  # evenly: never a long run of one priority


async def test_a_share_of_one_serves_everybody_in_arrival_order() -> None:
    clock = HeldClock()
    arrivals = [(f"b{n}", BG) for n in range(5)] + [(f"i{n}", FG) for n in range(3)]
    arrivals.insert(2, ("i-early", FG))
    served = await queued(clock, 1.0, arrivals)
    assert served.order == [name for name, _ in arrivals]


async def test_interactive_callers_never_wait_longer_than_arrival_order_would_make_them() -> None:
    clock = HeldClock()
    arrivals = [(f"i{n}", FG) for n in range(6)] + [(f"b{n}", BG) for n in range(6)]
    served = await queued(clock, 0.8, arrivals)
    assert served.order == [name for name, _ in arrivals]


async def test_imports_alone_take_the_whole_budget_at_its_pace() -> None:
    clock = FakeClock()
    pacer = GcraPacer(Rate(10, 1.0), share=0.5, clock=clock, sleep=clock.sleep)
    served = Served(pacer, clock)
    await asyncio.gather(*(served.start(f"b{n}", BG) for n in range(30)))
    assert served.order == [f"b{n}" for n in range(30)]
    times = [served.at[f"b{n}"] for n in range(30)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([pacer.schedule.interval] * 29)  # no slot kept for anyone


async def test_each_priority_is_served_in_arrival_order_when_they_interleave() -> None:
    clock = HeldClock()
    arrivals = [(f"{kind}{n}", FG if kind == "i" else BG) for n in range(12) for kind in "bi"]
    served = await queued(clock, 0.6, arrivals)
    for kind in "ib":
        mine = [name for name in served.order if name[0] == kind]
        assert mine == [f"{kind}{n}" for n in range(12)]


async def test_an_interactive_caller_arriving_while_an_import_sleeps_to_its_slot_takes_it() -> None:
    clock = FakeClock()
    slept = asyncio.Event()
    wake = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.set()
        await wake.wait()
        await clock.sleep(seconds)

    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=sleep)
    await pacer.acquire()
    served = Served(pacer, clock)
    importing = served.start("b0", BG)
    await slept.wait()  # the import is the one keeping time, asleep until the slot is due
    interactive = served.start("i0", FG)
    await asyncio.sleep(0)
    wake.set()
    async with asyncio.timeout(5):
        await asyncio.gather(importing, interactive)
    assert served.order == ["i0", "b0"]


async def test_the_context_says_which_calls_are_background_tasks_started_inside_included() -> None:
    clock = HeldClock()
    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    order: list[str] = []

    async def call(name: str) -> None:
        await pacer.acquire()
        order.append(name)

    assert current_priority() is FG
    with background():
        assert current_priority() is BG
        imports = [asyncio.create_task(call(f"b{n}")) for n in range(3)]
    assert current_priority() is FG  # reset on the way out
    await asyncio.sleep(0)
    assert pacer.waiting(BG) == 3 and pacer.waiting(FG) == 0
    interactive = asyncio.create_task(call("i0"))
    await asyncio.sleep(0)
    clock.passes.set()
    async with asyncio.timeout(5):
        await asyncio.gather(*imports, interactive)
    assert order == ["i0", "b0", "b1", "b2"]


@pytest.mark.parametrize("who", ["interactive", "background", "timekeeper"])
async def test_a_caller_that_gives_up_while_waiting_leaves_no_trace(who: str) -> None:
    clock = HeldClock()
    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    served = Served(pacer, clock)
    timekeeper = served.start("b0", BG)  # the first in line keeps time
    await asyncio.sleep(0)
    others = [served.start("b1", BG), served.start("i0", FG), served.start("i1", FG)]
    await asyncio.sleep(0)
    gone = {"interactive": others[1], "background": others[0], "timekeeper": timekeeper}[who]
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert pacer.waiting(FG) + pacer.waiting(BG) == 3  # the one that left is out of line
    clock.passes.set()
    rest = [task for task in [timekeeper, *others] if task is not gone]
    async with asyncio.timeout(5):  # nobody is left waiting for a timekeeper that is gone
        await asyncio.gather(*rest)
    assert len(served.order) == 3
    assert pacer.waiting(FG) == pacer.waiting(BG) == 0
    # The slots went one an interval apart from the first, none kept for the one that left.
    times = sorted(served.at.values())
    assert times == pytest.approx([1_000 + WINDOW_MARGIN * n for n in (1, 2, 3)])
    # ... and the next caller, alone, waits for nobody.
    clock.now += WINDOW_MARGIN
    assert await pacer.acquire(max_wait=0.0) == 0.0


async def test_a_timekeeper_and_the_caller_it_hands_over_to_both_giving_up_strand_nobody() -> None:
    clock = HeldClock()
    pacer = GcraPacer(Rate(1, 1.0), clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    served = Served(pacer, clock)
    keeper, successor, last = (served.start(f"b{n}", BG) for n in range(3))
    await asyncio.sleep(0)
    keeper.cancel()  # it hands time-keeping to the successor...
    successor.cancel()  # ...which is gone before it can take it
    await asyncio.gather(keeper, successor, return_exceptions=True)
    clock.passes.set()
    async with asyncio.timeout(5):
        await last
    assert served.order == ["b2"]


async def test_the_wait_told_to_an_interactive_caller_counts_the_imports_its_share_lets_go() -> (
    None
):
    clock = HeldClock()
    pacer = GcraPacer(Rate(1, 1.0), share=0.8, clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    imports = [asyncio.create_task(pacer.acquire(priority=BG)) for _ in range(20)]
    await asyncio.sleep(0)
    # Behind 20 imports in arrival order it would wait 21 intervals; interactive, at most its
    # own turn and the four imports a share of 0.8 lets go before it.
    with pytest.raises(PacingExceeded) as caught:
        await pacer.acquire(max_wait=1.0, priority=FG)
    assert caught.value.wait == pytest.approx(5 * WINDOW_MARGIN)
    with pytest.raises(PacingExceeded) as caught:
        await pacer.acquire(max_wait=1.0, priority=BG)
    assert caught.value.wait == pytest.approx(21 * WINDOW_MARGIN)
    for task in imports:
        task.cancel()
    await asyncio.gather(*imports, return_exceptions=True)
    assert pacer.waiting(BG) == 0


@pytest.mark.parametrize("share", [0.0, -0.1, 1.01, float("nan")])
def test_a_share_must_be_a_fraction(share: float) -> None:
    with pytest.raises(ValueError, match="0 < share <= 1"):
        check_share(share)
    with pytest.raises(ValueError, match="0 < share <= 1"):
        GcraPacer(Rate(1, 1.0), share=share)


def test_interactive_passes_come_in_a_small_burst_then_at_the_share_left_to_them() -> None:
    credit = InteractiveCredit(0.8, interval=1.0)
    passes = [credit.take(now=float(slot)) for slot in range(14)]
    assert passes[:INTERACTIVE_BURST] == [True] * INTERACTIVE_BURST
    assert (
        passes[INTERACTIVE_BURST:] == [False, True, False, False, False, False, True] + [False] * 3
    )  # a fifth of the slots: one pass earned every five intervals
    # A quiet spell refills it, to the burst and no more.
    assert [credit.take(now=1_000.0 + n * 1e-6) for n in range(6)] == [True] * 4 + [False] * 2
    # No preference: no passes.
    assert not InteractiveCredit(1.0, interval=1.0).take(now=0.0)
