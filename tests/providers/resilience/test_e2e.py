"""Pacing and circuit breaking seen from a client, on the event loop's virtual clock."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.config import Config, GatewaySettings
from gateway.sandbox import Sandbox
from providers.model import ProviderName
from providers.simulator.faults import Fault
from tests.support import UPSERT, serve, trackly_config

HEALTH = (
    "{ providers { provider health { circuit consecutiveFailures retryAfterSeconds rateLimit } } }"
)


def with_trackly(config: Config, **settings: Any) -> Config:
    trackly = config.providers[ProviderName.TRACKLY].model_copy(update=settings)
    return Config(
        config.gateway, {**config.providers, ProviderName.TRACKLY: trackly}, sandbox=config.sandbox
    )


def upsert(n: int) -> dict[str, Any]:
    return {"provider": "TRACKLY", "contact": {"phone": f"+1415555{n:04d}"}}


@pytest.mark.looptime
async def test_requests_are_paced_to_the_budget_in_every_window() -> None:
    loop = asyncio.get_running_loop()
    sent: list[float] = []

    def provider(request: httpx.Request) -> httpx.Response:
        sent.append(loop.time())
        return httpx.Response(200, json={"success": True, "contact_id": "c1"})

    config = with_trackly(trackly_config(), rate_limit="5/second")
    transports = {ProviderName.TRACKLY: httpx.MockTransport(provider)}
    async with serve(config, transports=transports) as gw:
        results = await asyncio.gather(*(gw.data(UPSERT, upsert(n)) for n in range(23)))
    assert {r["upsertContact"]["__typename"] for r in results} == {"UpsertContactSuccess"}
    assert len(sent) == 23
    for i, start in enumerate(sent):
        assert len([t for t in sent[i:] if t < start + 1.0]) <= 5


@pytest.mark.looptime
async def test_a_budget_spent_past_the_deadline_answers_rate_limited_at_once() -> None:
    config = with_trackly(trackly_config(deadline_seconds=5), rate_limit="1/minute")
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"success": True}))
    loop = asyncio.get_running_loop()
    async with serve(config, transports={ProviderName.TRACKLY: transport}) as gw:
        first = await gw.data(UPSERT, upsert(1))
        start = loop.time()
        second = await gw.data(UPSERT, upsert(2))
        waited = loop.time() - start
    assert first["upsertContact"]["__typename"] == "UpsertContactSuccess"
    refused = second["upsertContact"]
    assert (refused["__typename"], refused["code"], refused["origin"]) == (
        "RateLimitedError",
        "RATE_LIMITED",
        "PACING",
    )
    assert refused["providerCode"] is None
    assert refused["retryable"] is True and 59 < refused["retryAfterSeconds"] <= 62
    assert waited < 0.01


@pytest.mark.looptime
async def test_the_circuit_opens_answers_at_once_and_closes_after_a_good_probe() -> None:
    sandbox = Sandbox()
    config = with_trackly(sandbox.config(), breaker_threshold=2, breaker_reset_seconds=30)
    sandbox.trackly.faults.add(Fault(status=500, times=None))
    async with serve(config, sandbox=sandbox) as gw:
        failures = [await gw.data(UPSERT, upsert(n)) for n in range(2)]
        calls_before = sandbox.trackly.faults.injected
        refused = (await gw.data(UPSERT, upsert(3)))["upsertContact"]
        health_open = await gw.data(HEALTH)
        assert sandbox.trackly.faults.injected == calls_before  # not even sent
        await asyncio.sleep(30)
        health_half = await gw.data(HEALTH)
        sandbox.trackly.faults.clear()
        probe = (await gw.data(UPSERT, upsert(4)))["upsertContact"]
        health_closed = await gw.data(HEALTH)
    assert {f["upsertContact"]["code"] for f in failures} == {"PROVIDER_ERROR"}
    assert (refused["__typename"], refused["code"], refused["origin"]) == (
        "ProviderUnavailableError",
        "UNAVAILABLE",
        "CIRCUIT",
    )
    assert refused["providerCode"] is None
    assert refused["retryable"] is True and 29 < refused["retryAfterSeconds"] <= 30
    assert _trackly(health_open) == {
        "circuit": "OPEN",
        "consecutiveFailures": 2,
        "retryAfterSeconds": pytest.approx(30),
        "rateLimit": None,
    }
    assert _trackly(health_half)["circuit"] == "HALF_OPEN"
    assert probe["__typename"] == "UpsertContactSuccess"
    assert _trackly(health_closed)["circuit"] == "CLOSED"


async def test_health_is_null_for_providers_that_are_not_configured() -> None:
    config = with_trackly(trackly_config(), rate_limit="500/minute")
    async with serve(
        config,
        transports={
            ProviderName.TRACKLY: httpx.MockTransport(lambda r: httpx.Response(200, json={}))
        },
    ) as gw:
        data = await gw.data(HEALTH)
    by_name = {p["provider"]: p["health"] for p in data["providers"]}
    assert by_name["TRACKLY"]["rateLimit"] == "500/minute"
    assert by_name["TRACKLY"]["circuit"] == "CLOSED"
    assert by_name["HEYMARKET"] is None and by_name["CAMPAIGNLARK"] is None


def _trackly(data: dict[str, Any]) -> dict[str, Any]:
    [health] = [p["health"] for p in data["providers"] if p["provider"] == "TRACKLY"]
    return health  # type: ignore[no-any-return]


def test_settings_refuse_a_rate_that_is_not_one() -> None:
    from pydantic import ValidationError

    from providers.trackly import TracklySettings

    with pytest.raises(ValidationError, match="is not a rate"):
        TracklySettings(api_key="k", rate_limit="lots")
    assert GatewaySettings().deadline_seconds == 30
