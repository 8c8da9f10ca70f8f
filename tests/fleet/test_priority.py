"""Interactive traffic first across a fleet (RedisPacer), against a real redis-server: several
"processes" in one test, each its own RedisLink and pacer, as each worker has. Real time (Redis
keeps the schedule on its own clock), small budgets, generous bounds."""

from __future__ import annotations

import asyncio
import time

import pytest

from providers.model import ProviderName
from providers.resilience.pacing import Rate
from providers.resilience.priority import Priority
from providers.resilience.redis_pacer import MIN_HORIZON, RedisPacer
from tests.fleet.conftest import LinkFactory
from tests.redis_server import free_port

HM = ProviderName.HEYMARKET
FG, BG = Priority.INTERACTIVE, Priority.BACKGROUND


class Loopers:
    """Callers that take slot after slot, as an import's chunks (or a busy front-end) do."""

    def __init__(self) -> None:
        self.granted: list[tuple[float, Priority]] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, pacer: RedisPacer, priority: Priority, count: int) -> None:
        async def loop() -> None:
            while True:
                await pacer.acquire(priority=priority)
                self.granted.append((time.monotonic(), priority))

        self.tasks += [asyncio.create_task(loop()) for _ in range(count)]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        # Bounded: a caller that outlives its cancel (test_link.py) fails here, not by timeout.
        _, going_on = await asyncio.wait(self.tasks, timeout=5)
        for task in going_on:
            task.cancel()
        assert not going_on, f"{len(going_on)} callers went on after their cancel"

    def count(self, priority: Priority, since: float = 0.0) -> int:
        return sum(1 for at, p in self.granted if p is priority and at >= since)


@pytest.mark.parametrize("share", [0.8, 1.0])
async def test_an_interactive_call_waits_behind_at_most_the_horizon_of_other_processes_imports(
    links: LinkFactory, share: float
) -> None:
    rate = Rate(20, 1.0)  # one slot every 51 ms
    importers = [RedisPacer(links(), HM, "acct", rate, share=share) for _ in range(2)]
    front = RedisPacer(links(), HM, "acct", rate, share=share)
    loopers = Loopers()
    for pacer in importers:  # two processes' imports, asking for far more than the budget
        loopers.start(pacer, BG, 12)
    try:
        await asyncio.sleep(0.3)
        waited = await front.acquire(priority=FG)
    finally:
        await loopers.stop()
    interval = front.schedule.interval
    if share < 1:
        assert front.horizon is not None
        assert front.horizon == pytest.approx(max(4 * interval, MIN_HORIZON))
        assert waited <= front.horizon + 3 * interval
    else:
        # No preference: behind every reservation the imports made (24 at once, ~1.2 s).
        assert front.horizon is None
        assert waited > 0.6
    assert loopers.count(BG) > 0
    assert all(pacer.link.stats.redis_errors == 0 for pacer in [*importers, front])


async def test_while_interactive_calls_keep_waiting_imports_get_their_share_across_processes(
    links: LinkFactory,
) -> None:
    rate = Rate(50, 1.0)  # one slot every 20 ms
    importer = RedisPacer(links(), HM, "acct", rate, share=0.8)
    front = RedisPacer(links(), HM, "acct", rate, share=0.8)
    loopers = Loopers()
    loopers.start(importer, BG, 24)  # an import with more in flight than the front-end
    loopers.start(front, FG, 6)  # a front-end wanting the whole budget too
    try:
        await asyncio.sleep(0.5)
        since = time.monotonic()
        await asyncio.sleep(2.0)
    finally:
        await loopers.stop()
    background, interactive = loopers.count(BG, since), loopers.count(FG, since)
    total = background + interactive
    assert total <= 2.0 * rate.requests + 10  # never over the budget (its burst aside)
    # Imports keep moving, and take their share, no more (Redis counts the reservations since
    # interactive calls began waiting; a window of them may be a little off either way).
    assert 0.6 <= background / total <= 0.85, (background, interactive)
    assert interactive / total >= 0.15


async def test_imports_alone_keep_the_shared_budget_busy_and_never_over_it(
    links: LinkFactory,
) -> None:
    rate = Rate(20, 1.0)
    importers = [RedisPacer(links(), HM, "acct", rate, share=0.8) for _ in range(2)]
    loopers = Loopers()
    started = time.monotonic()
    for pacer in importers:
        loopers.start(pacer, BG, 4)
    try:
        while len(loopers.granted) < 45:
            await asyncio.sleep(0.02)
    finally:
        await loopers.stop()
    times = sorted(at for at, _ in loopers.granted)[:45]
    schedule = importers[0].schedule
    ideal = (45 - schedule.burst) * schedule.interval
    assert times[-1] - started <= 1.5 * ideal + 0.3  # the horizon costs the budget nothing
    for i, first in enumerate(times):
        assert len([t for t in times[i:] if t < first + rate.period]) <= rate.requests


async def test_an_interactive_call_that_gives_up_leaves_only_keys_that_end_by_themselves(
    links: LinkFactory,
) -> None:
    rate = Rate(10, 1.0)
    importer = RedisPacer(links(), HM, "acct", rate, share=0.8)
    front = RedisPacer(links(), HM, "acct", rate, share=0.8)
    for _ in range(3):
        await importer.acquire(priority=BG)  # the schedule is ahead of now: a caller waits
    gone = asyncio.create_task(front.acquire(priority=FG))
    await asyncio.sleep(0.05)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    client = front.link.client
    value = await client.get(front.interactive_key)
    assert value is not None
    marker = float(value)
    assert await client.exists(front.contention_key)
    keys = [key async for key in client.scan_iter(match=f"{front.link.namespace}:*")]
    assert set(keys) == {front.key, front.interactive_key, front.contention_key}
    for key in keys:  # every key expires: nothing outlives the schedule by more than a second
        assert 0 < await client.pttl(key) <= 2_500
    # Once the given-up call's slot has passed, imports reserve as if it had never come.
    seconds, micros = await client.time()
    await asyncio.sleep(max(0.0, marker / 1000 - (seconds + micros / 1e6)) + 0.05)
    assert importer.horizon is not None
    assert await importer.acquire(priority=BG) <= importer.horizon + importer.schedule.interval


async def test_background_calls_pace_on_the_local_share_while_redis_is_down(
    links: LinkFactory,
) -> None:
    link = links(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    pacer = RedisPacer(link, HM, "acct", Rate(10, 1.0), processes=2, share=0.8)
    assert await pacer.acquire(priority=BG) < 0.05  # the refused connection's time
    waited = await pacer.acquire(priority=BG)
    assert link.stats.down and link.stats.local_grants[HM] == 2
    assert waited == pytest.approx(pacer.local.schedule.interval, abs=0.1)  # 5 a second
