"""One write at a time per contact, in this process (providers.locks)."""

from __future__ import annotations

import asyncio

from providers.locks import LocalContactLocks, contact_key


async def test_writes_of_one_contact_go_one_at_a_time_in_arrival_order() -> None:
    locks = LocalContactLocks()
    inside: list[str] = []
    events: list[str] = []

    async def write(name: str) -> None:
        async with locks.hold("ann@example.com"):
            inside.append(name)
            assert len(inside) == 1, inside  # never two at once
            events.append(f"{name} in")
            await asyncio.sleep(0.01)
            events.append(f"{name} out")
            inside.remove(name)

    await asyncio.gather(*(write(name) for name in "abc"))
    assert events == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert len(locks) == 0  # nothing kept once no one holds or waits


async def test_writes_of_different_contacts_go_side_by_side() -> None:
    locks = LocalContactLocks()
    both = asyncio.Event()
    entered = 0

    async def write(key: str) -> None:
        nonlocal entered
        async with locks.hold(key):
            entered += 1
            if entered == 2:
                both.set()
            await asyncio.wait_for(both.wait(), timeout=1)

    await asyncio.gather(write("a@example.com"), write("b@example.com"))


async def test_a_cancelled_waiter_leaves_the_lock_usable() -> None:
    locks = LocalContactLocks()
    async with locks.hold("k"):
        waiter = asyncio.create_task(locks.hold("k").__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
    async with asyncio.timeout(1), locks.hold("k"):
        pass
    assert len(locks) == 0


def test_the_key_ignores_case() -> None:
    assert contact_key("Ann@Example.com") == contact_key("ann@example.com")
