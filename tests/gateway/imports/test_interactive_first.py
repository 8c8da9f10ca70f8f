"""Interactive upserts answer promptly while Heymarket imports fill the budget, through the real
app (lifespan, import worker, pacing) against the sandbox simulator: in one gateway (the
in-process pacer), and in two gateways sharing the budget through a real redis-server (the
fleet's pacer). A small budget (1,200 a minute: a slot every ~51 ms) so seconds show it; real
time, generous bounds. Without the preference each upsert waits ~25 slots in one gateway and
~54 in two (bench/interactive_share.py measures both)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from gateway.config import Config, GatewaySettings
from gateway.sandbox import Sandbox
from providers.heymarket.sandbox import HeymarketSimulator
from providers.model import ProviderName
from providers.resilience.pacing import Gcra, Rate
from tests.gateway.imports.support import START, started
from tests.redis_server import RedisServer
from tests.support import UPSERT, GatewayClient, serve

BUDGET = "1200/minute"
AREAS = (212, 213, 214, 215)  # one import job's phones each


def heymarket_only(sandbox: Sandbox, settings: GatewaySettings) -> Config:
    config = sandbox.config(settings)
    heymarket = config.providers[ProviderName.HEYMARKET].model_copy(update={"rate_limit": BUDGET})
    return Config(config.gateway, {ProviderName.HEYMARKET: heymarket}, sandbox=True)


async def upserts_while_importing(
    gateways: list[GatewayClient], simulator: HeymarketSimulator
) -> tuple[list[float], int, float]:
    """Two import jobs on each gateway, then eight interactive upserts on the first, one every
    half second: their answer times, the import's provider requests meanwhile, the seconds."""
    areas = iter(AREAS)
    for client in gateways:
        for _ in range(2):
            area = next(areas)
            contacts = [{"phone": f"+1{area}555{n:04d}"} for n in range(400)]
            response = await client.post(START, {"provider": "HEYMARKET", "contacts": contacts})
            started(response)
    await asyncio.sleep(1.5)  # the imports fill the budget
    before, since = len(simulator.requests), time.monotonic()
    answers: list[float] = []

    async def upsert(n: int) -> None:
        sent = time.monotonic()
        data = await gateways[0].data(
            UPSERT, {"provider": "HEYMARKET", "contact": {"phone": f"+1650555{n:04d}"}}
        )
        assert data["upsertContact"]["__typename"] == "UpsertContactSuccess", data
        answers.append(time.monotonic() - sent)

    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(upsert(n)))
        await asyncio.sleep(0.5)
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - since
    import_requests = len(simulator.requests) - before - 2 * len(answers)  # a look-up, a create
    return answers, import_requests, elapsed


async def test_interactive_upserts_answer_within_a_few_slots_while_an_import_fills_the_budget(
    tmp_path: Path,
) -> None:
    simulator = HeymarketSimulator(rate_limit=10**6)
    sandbox = Sandbox(heymarket=simulator)
    config = heymarket_only(sandbox, GatewaySettings(data_dir=tmp_path))
    async with serve(config, sandbox=sandbox) as gateway:
        answers, import_requests, elapsed = await upserts_while_importing([gateway], simulator)
    interval = Gcra.of(Rate.parse(BUDGET), 0.05).interval
    # Two calls each, each let go ahead of the waiting imports: ~2 slots (25 in arrival order).
    assert max(answers) <= 10 * interval, [round(a / interval, 1) for a in answers]
    # ... and the imports kept the rest of the budget busy.
    assert import_requests >= 0.5 * elapsed / interval, import_requests


async def test_interactive_upserts_answer_promptly_while_a_fleets_imports_fill_the_shared_budget(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    simulator = HeymarketSimulator(rate_limit=10**6)
    sandbox = Sandbox(heymarket=simulator)
    shared: dict[str, Any] = {
        "redis_url": SecretStr(redis_server.url),
        "redis_namespace": f"share{uuid.uuid4().hex[:8]}",
        "fleet_processes": 2,
    }
    async with contextlib.AsyncExitStack() as stack:
        gateways = [
            await stack.enter_async_context(
                serve(
                    heymarket_only(sandbox, GatewaySettings(data_dir=tmp_path / name, **shared)),
                    sandbox=sandbox,
                )
            )
            for name in ("one", "two")
        ]
        answers, import_requests, elapsed = await upserts_while_importing(gateways, simulator)
    interval = Gcra.of(Rate.parse(BUDGET), 0.1).interval
    # Each call reserves behind at most the imports' horizon (4 slots): ~10 slots an upsert
    # (54 in arrival order, behind everything the two gateways' imports had reserved).
    assert max(answers) <= 25 * interval, [round(a / interval, 1) for a in answers]
    assert import_requests >= 0.5 * elapsed / interval, import_requests
    # Never over the shared budget: what the simulator served in the window, burst aside.
    assert import_requests + 2 * len(answers) <= elapsed / interval + 30
