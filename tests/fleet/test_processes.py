"""The fleet with real processes on 127.0.0.1: gateway processes (one with --workers 2) sharing
one Redis in front of one simulator that refuses, strictly, more than 100 requests a second."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from tests.fleet.procs import (
    Process,
    all_ready,
    campaignlark_account,
    start_gateway,
    start_simulator,
    trackly_account,
)
from tests.fleet.procs import write_config as write_gateway_config
from tests.redis_server import RedisServer
from tests.support import BULK, UPSERT

LIMIT = 100
PROVIDERS = "{ providers { provider health { circuit shared } } }"


def write_config(
    tmp: Path, sim: Process, redis_url: str, provider: str = "trackly", **gateway: Any
) -> Path:
    rate = f"{LIMIT}/second"
    accounts = {
        "campaignlark": campaignlark_account(sim, rate_limit=rate),
        "trackly": trackly_account(
            sim, rate_limit=rate, breaker_threshold=2, breaker_reset_seconds=60
        ),
    }
    settings = {
        "redis_url": redis_url,
        "redis_namespace": f"t{uuid.uuid4().hex[:8]}",
        "fleet_processes": 3,
        **gateway,
    }
    return write_gateway_config(tmp, {provider: accounts[provider]}, **settings)


async def upserts(url: str, first: int, count: int, concurrency: int = 30) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def one(n: int) -> dict[str, Any]:
            contact = {"phone": f"+1415555{2000 + n:04d}", "customFields": {"n": str(n)}}
            async with gate:
                response = await http.post(
                    "/graphql",
                    json={
                        "query": UPSERT,
                        "variables": {"provider": "TRACKLY", "contact": contact},
                    },
                )
            assert response.status_code == 200, response.text
            return response.json()["data"]["upsertContact"]  # type: ignore[no-any-return]

        return list(await asyncio.gather(*(one(n) for n in range(first, first + count))))


BULK_SIZE = 150


async def lark_bulk(url: str, name: str, count: int) -> dict[str, Any]:
    contacts = [
        {"email": f"{name}{n}@example.com", "customFields": {"lead_source": "fleet"}}
        for n in range(count)
    ]
    variables = {"provider": "CAMPAIGNLARK", "contacts": contacts}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        response = await http.post("/graphql", json={"query": BULK, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()["data"]["bulkUpsertContacts"]  # type: ignore[no-any-return]


def health(url: str) -> dict[str, Any]:
    body = httpx.post(url + "/graphql", json={"query": PROVIDERS}, timeout=5).json()
    (trackly,) = [p for p in body["data"]["providers"] if p["provider"] == "TRACKLY"]
    return trackly["health"]  # type: ignore[no-any-return]


def audit(sim: Process) -> dict[str, Any]:
    return httpx.get(sim.url + "/_audit", timeout=5).json()  # type: ignore[no-any-return]


def busiest_window(arrivals: list[float], period: float = 1.0) -> int:
    times = sorted(arrivals)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def eventually(check: Any, seconds: float = 10.0) -> None:
    """Poll a condition that another process makes true; bounded, never a timing assertion."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


async def test_the_fleet_shares_one_budget_and_stays_under_the_limit(
    tmp_path: Path, redis_server: RedisServer, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, LIMIT, provider="campaignlark")
    processes.append(sim)
    config = write_config(tmp_path, sim, redis_server.url, provider="campaignlark")
    two_workers, single = start_gateway(config, workers=2), start_gateway(config)
    processes += [two_workers, single]
    all_ready(sim, two_workers, single)

    results = await asyncio.gather(
        lark_bulk(two_workers.url, "two", BULK_SIZE), lark_bulk(single.url, "one", BULK_SIZE)
    )
    for result in results:
        assert result["__typename"] == "BulkUpsertContactsSuccess", result
        assert (result["successCount"], result["errorCount"]) == (BULK_SIZE, 0), result
    seen = audit(sim)
    assert seen["rejected"] == 0  # not one 429
    assert len(seen["arrivals"]) >= 2 * BULK_SIZE  # one upsert per contact, and the catalogue
    assert busiest_window(seen["arrivals"]) <= LIMIT  # in every one-second window


async def test_a_circuit_opened_by_one_process_is_open_in_the_other(
    tmp_path: Path, redis_server: RedisServer, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, LIMIT)
    processes.append(sim)
    config = write_config(tmp_path, sim, redis_server.url)
    first, second = start_gateway(config), start_gateway(config)
    processes += [first, second]
    all_ready(sim, first, second)
    fault = {"status": 500, "times": None, "body": {"error": "down"}}
    assert httpx.post(sim.url + "/_sandbox/faults", json=fault).status_code < 300

    for n in range(2):  # the threshold: two provider faults, seen by `first` only
        (answer,) = await upserts(first.url, n, 1)
        assert answer["code"] == "PROVIDER_ERROR", answer
    reached = len(audit(sim)["arrivals"])
    eventually(lambda: health(second.url)["circuit"] == "OPEN")

    (refused,) = await upserts(second.url, 10, 1)
    assert refused["__typename"] == "ProviderUnavailableError"
    assert (refused["origin"], refused["providerCode"]) == ("CIRCUIT", None)
    assert len(audit(sim)["arrivals"]) == reached  # `second` never called the provider


async def test_redis_stopped_mid_run_falls_back_and_comes_back(
    tmp_path: Path, own_redis: RedisServer, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, LIMIT)
    processes.append(sim)
    config = write_config(tmp_path, sim, own_redis.url, redis_retry_seconds=0.3)
    first, second = start_gateway(config), start_gateway(config)
    processes += [first, second]
    all_ready(sim, first, second)
    await upserts(first.url, 0, 5)
    assert health(first.url)["shared"] is True

    own_redis.stop()
    results = await asyncio.gather(upserts(first.url, 100, 40), upserts(second.url, 200, 40))
    assert [a["__typename"] for batch in results for a in batch] == ["UpsertContactSuccess"] * 80
    assert health(first.url)["shared"] is False
    assert health(second.url)["shared"] is False
    assert audit(sim)["rejected"] == 0

    own_redis.start()  # empty: nothing of the old shared state survives

    deadline = time.monotonic() + 10
    n = 300
    while not health(first.url)["shared"]:  # the next request after the cool-down tries Redis
        assert time.monotonic() < deadline, "shared state did not come back"
        (answer,) = await upserts(first.url, n, 1)
        assert answer["__typename"] == "UpsertContactSuccess"
        n += 1
        await asyncio.sleep(0.1)
    client = aioredis.Redis.from_url(own_redis.url, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match="*:trackly:*:pacing:gcra")]
    finally:
        await client.aclose()
    assert len(keys) == 1  # the budget is shared through Redis again
