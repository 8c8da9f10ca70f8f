"""A cancelled caller of Redis stops, whatever redis-py does with the cancellation.

On Python 3.11, redis-py's write (`asyncio.wait_for` under `socket_timeout`) swallows a cancel
that comes as the write ends (CPython gh-86296); RedisLink raises it again. Without that, an
import's slot-takers in tests/fleet/test_priority.py outlived their cancellation and the test
hung until its timeout (CI, stop 21)."""

from __future__ import annotations

import asyncio
import random

import pytest
import redis.asyncio as aioredis

from providers.resilience.redis_link import DOWN, RedisLink
from tests.fleet.conftest import LinkFactory


async def test_a_cancel_swallowed_inside_a_redis_call_is_raised_when_it_returns() -> None:
    link = RedisLink(aioredis.Redis())  # never connects: the operations below are stand-ins
    entered = asyncio.Event()

    async def swallows() -> str:
        # What wait_for does on 3.11 when the cancel and the write's end meet.
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "the write's result"
        return "not cancelled"

    task = asyncio.create_task(link.attempt(swallows))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def fails() -> str:
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise ConnectionError("the read that followed failed") from None
        return "not cancelled"

    entered.clear()
    task = asyncio.create_task(link.attempt(fails))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await link.aclose()


async def test_a_timeout_around_a_swallowed_cancel_is_still_a_timeout() -> None:
    link = RedisLink(aioredis.Redis())

    async def swallows() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "the write's result"
        return "not cancelled"

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await link.attempt(swallows)
    await link.aclose()


async def test_a_cancel_asked_before_the_call_is_not_raised_again() -> None:
    """A caller that took a cancel in and went on (it did not uncancel) is not cancelled anew
    by its next Redis call: only a cancel asked during the call counts."""
    link = RedisLink(aioredis.Redis())
    gone_on = asyncio.Event()

    async def caller() -> object:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            gone_on.set()  # deliberately went on, cancelling() stays 1

        async def answers() -> str:
            return "ok"

        return await link.attempt(answers)

    task = asyncio.create_task(caller())
    await asyncio.sleep(0)
    task.cancel()
    assert await task == "ok"
    assert gone_on.is_set()
    await link.aclose()


async def test_callers_cancelled_mid_call_against_a_real_redis_all_stop(
    links: LinkFactory,
) -> None:
    """Tight loops of Redis calls, cancelled at random moments: every one stops. Without the
    re-raise, most of them went on (1,800 of 2,400 in 300 such rounds on Python 3.11)."""
    link = links()
    rng = random.Random(7)

    async def calls() -> None:
        while True:
            assert await link.attempt(lambda: link.client.get("nothing")) is not DOWN

    for _ in range(20):
        tasks = [asyncio.create_task(calls()) for _ in range(8)]
        await asyncio.sleep(rng.random() * 0.005)
        for task in tasks:
            task.cancel()
        done, going_on = await asyncio.wait(tasks, timeout=2)
        for task in going_on:  # stop them for good, then fail
            while not task.done():
                task.cancel()
                await asyncio.sleep(0.01)
        assert not going_on, f"{len(going_on)} of 8 callers went on after their cancel"
        assert all(task.cancelled() for task in done)
