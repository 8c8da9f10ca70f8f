"""The shared bulk fan-out (providers/bulk.py): its concurrency, alone and behind a shared gate."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from providers.bulk import fan_out, shared_gate
from providers.model import BulkResult, ContactDraft, IndexedContact, ProviderName


class Wire:
    """A send that holds each chunk a moment and records how many were on the wire at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    async def send(self, chunk: Sequence[IndexedContact]) -> BulkResult:
        self.now += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(0.01)
        self.now -= 1
        return BulkResult()


def chunks(count: int) -> list[list[IndexedContact]]:
    return [[IndexedContact(n, ContactDraft(phone=f"+1415555{n:04d}"))] for n in range(count)]


async def fan(wire: Wire, count: int, concurrency: int) -> BulkResult:
    return await fan_out(
        ProviderName.TRACKLY,
        chunks(count),
        wire.send,
        concurrency=concurrency,
        deadline_seconds=5.0,
    )


async def test_each_bulk_alone_keeps_its_own_concurrency() -> None:
    wire = Wire()
    await asyncio.gather(fan(wire, 6, 2), fan(wire, 6, 2))
    assert wire.most == 4  # two bulks, two requests each


async def test_bulks_behind_a_shared_gate_share_its_slots() -> None:
    # The import runner's chunks are bulks of their own; their requests share one gate.
    wire = Wire()
    gate = asyncio.Semaphore(3)
    with shared_gate(gate):
        await asyncio.gather(fan(wire, 6, 2), fan(wire, 6, 2), fan(wire, 6, 2))
    assert wire.most == 3
    # Outside the block, a bulk has its own gate again.
    wire.most = 0
    await fan(wire, 6, 2)
    assert wire.most == 2
