"""CampaignLark's 100 requests/second per workspace: the simulator enforces it, the gateway paces
under it. Small budgets on virtual time (a fake clock, looptime): nothing waits for real time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.config import Config
from gateway.sandbox import Sandbox
from providers.campaignlark.sandbox import SANDBOX_API_KEY, CampaignLarkSimulator
from providers.model import ProviderName
from tests.support import BULK, FakeClock, GatewayClient, serve

HEADERS = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


async def test_simulator_answers_429_past_its_budget_and_recovers_after_the_window() -> None:
    clock = FakeClock()
    lark = CampaignLarkSimulator(rate_limit=3, clock=clock)
    transport = httpx.ASGITransport(app=lark.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lark") as client:
        first = [(await client.get("/v1/fields", headers=HEADERS)).status_code for _ in range(3)]
        refused = await client.get("/v1/fields", headers=HEADERS)
        clock.now += 0.5
        still = await client.get("/v1/fields", headers=HEADERS)
        clock.now += 0.6
        again = await client.get("/v1/fields", headers=HEADERS)
    assert first == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"error": {"message": "Too many requests. Please slow down."}}
    assert (still.status_code, again.status_code) == (429, 200)
    assert lark.rate_limited == 2


@contextlib.asynccontextmanager
async def _gateway(
    rate_limit: str | None, budget: int
) -> AsyncIterator[tuple[GatewayClient, CampaignLarkSimulator]]:
    """The sandbox gateway and simulator, both on the event loop's (virtual) clock."""
    loop = asyncio.get_running_loop()
    sandbox = Sandbox(campaignlark=CampaignLarkSimulator(rate_limit=budget, clock=loop.time))
    base = sandbox.config()
    settings = base.providers[ProviderName.CAMPAIGNLARK].model_copy(
        update={"rate_limit": rate_limit}
    )
    config = Config(base.gateway, {ProviderName.CAMPAIGNLARK: settings}, sandbox=True)
    async with serve(config, sandbox=sandbox) as gw:
        yield gw, sandbox.campaignlark


def _contacts(n: int) -> list[dict[str, Any]]:
    return [{"email": f"c{i}@example.com", "customFields": {"lead_source": "x"}} for i in range(n)]


@pytest.mark.looptime
async def test_bulk_paced_to_the_workspace_budget_never_meets_a_429() -> None:
    loop = asyncio.get_running_loop()
    async with _gateway("5/second", budget=5) as (gw, lark):
        start = loop.time()
        data = await gw.data(BULK, {"provider": "CAMPAIGNLARK", "contacts": _contacts(14)})
        waited = loop.time() - start
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (14, 0)
    assert lark.rate_limited == 0
    assert len(lark.requests) == 15  # the field catalogue, then one upsert per contact
    assert waited >= 2.0  # 15 requests at 5 a second: two full windows waited (virtual time)


@pytest.mark.looptime
async def test_unpaced_bulk_over_the_budget_gets_rate_limited_items_and_counts_add_up() -> None:
    async with _gateway(None, budget=5) as (gw, lark):
        data = await gw.data(BULK, {"provider": "CAMPAIGNLARK", "contacts": _contacts(8)})
    result = data["bulkUpsertContacts"]
    assert lark.rate_limited > 0
    assert result["successCount"] + result["errorCount"] == 8
    assert result["errorCount"] > 0
    assert {e["error"]["code"] for e in result["errors"]} == {"RATE_LIMITED"}
    assert all(e["error"]["retryable"] for e in result["errors"])
