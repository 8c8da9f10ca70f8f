"""Every fault x every mutation, through the gateway and the simulators: a typed answer, in time.

Providers plug in with a row in SUBJECTS: how to reach their simulator and valid inputs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from providers.simulator.faults import Fault, FaultInjector
from tests.support import BULK, UPDATE, UPSERT, serve

DOWN, LIMIT = "ProviderUnavailableError", "RateLimitedError"
DEADLINE = 5.0


@dataclass(frozen=True)
class Subject:
    provider: str
    faults: Callable[[Sandbox], FaultInjector]
    contact: dict[str, Any]
    contacts: list[dict[str, Any]]
    ref: dict[str, Any]
    fields: dict[str, Any]


SUBJECTS = [
    Subject(
        "TRACKLY",
        lambda sandbox: sandbox.trackly.faults,
        {"phone": "+14155552671"},
        [{"phone": "+14155552672"}, {"phone": "+14155552673"}, {"phone": "+14155552674"}],
        {"phone": "+14155552671"},
        {"seen": True},
    ),
    Subject(
        "HEYMARKET",
        lambda sandbox: sandbox.heymarket.faults,
        {"phone": "+15105553344", "customFields": {"plan": "gold"}},
        [{"phone": "+15105553345"}, {"phone": "+15105553346"}, {"phone": "+15105553347"}],
        {"phone": "+15105553344"},
        {"tier": "t1"},
    ),
    Subject(
        "CAMPAIGNLARK",
        lambda sandbox: sandbox.campaignlark.faults,
        {"email": "ada@example.com", "customFields": {"lead_source": "web"}},
        [
            {"email": f"user{n}@example.com", "customFields": {"lead_source": "web"}}
            for n in range(3)
        ],
        {"email": "ada@example.com"},
        {"plan": "gold"},
    ),
]


@dataclass(frozen=True)
class Case:
    id: str
    fault: Fault
    member: str | None  # None: the mutation succeeds (a transient fault, retried)
    code: str | None = None
    retry_after: float | None = None
    every_item: bool = True  # in a bulk, the fault reaches every contact


def persistent(**kwargs: Any) -> Fault:
    return Fault(times=None, **kwargs)


CASES = [
    Case(
        "500",
        persistent(status=500, body={"error": "x", "code": "internal_error"}),
        DOWN,
        "PROVIDER_ERROR",
    ),
    Case(
        "502-html", persistent(status=502, raw="<html>Bad Gateway</html>"), DOWN, "PROVIDER_ERROR"
    ),
    Case("503", persistent(status=503, body={"error": "maintenance"}), DOWN, "PROVIDER_ERROR"),
    Case("504", persistent(status=504, raw=""), DOWN, "PROVIDER_ERROR"),
    Case("429", persistent(status=429, body={"error": "slow down"}), LIMIT, "RATE_LIMITED"),
    Case(
        "429-retry-after",
        persistent(status=429, headers={"Retry-After": "1"}),
        LIMIT,
        "RATE_LIMITED",
        1.0,
    ),
    Case("200-not-json", persistent(status=200, raw="<html>OK</html>"), DOWN, "PROVIDER_ERROR"),
    Case("dropped", persistent(drop=True), DOWN, "UNAVAILABLE"),
    Case("slower-than-deadline", persistent(delay=60.0, passthrough=True), DOWN, "TIMEOUT"),
    # Transient faults the retries absorb:
    Case("429-once", Fault(status=429, times=1), None),
    Case("503-twice", Fault(status=503, times=2), None),
    Case("dropped-once", Fault(drop=True, times=1), None),
    Case("slow-but-in-time", Fault(delay=1.0, passthrough=True, times=1), None),
    # A 500 is not retried: the provider may have acted on it.
    Case("500-once", Fault(status=500, times=1), DOWN, "PROVIDER_ERROR", every_item=False),
]


def params() -> list[Any]:
    return [
        pytest.param(subject, case, mutation, id=f"{subject.provider}-{case.id}-{mutation}")
        for subject in SUBJECTS
        for case in CASES
        for mutation in ("upsert", "bulk", "update")
    ]


@pytest.mark.looptime
@pytest.mark.parametrize(("subject", "case", "mutation"), params())
async def test_every_fault_gives_a_typed_answer_within_the_deadline(
    subject: Subject, case: Case, mutation: str
) -> None:
    sandbox = Sandbox()
    config = sandbox.config(GatewaySettings(deadline_seconds=DEADLINE))
    loop = asyncio.get_running_loop()
    async with serve(config, sandbox=sandbox) as gw:
        # The contact an update needs exists before anything fails.
        await gw.data(UPSERT, {"provider": subject.provider, "contact": subject.contact})
        subject.faults(sandbox).add(replace(case.fault))
        start = loop.time()
        response = await _run(gw, subject, mutation)
        elapsed = loop.time() - start
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    [result] = body["data"].values()
    assert elapsed <= DEADLINE + 0.5
    if mutation == "bulk":
        _check_bulk(result, case, len(subject.contacts))
    else:
        _check_single(result, case)


async def _run(gw: Any, subject: Subject, mutation: str) -> Any:
    if mutation == "upsert":
        return await gw.post(UPSERT, {"provider": subject.provider, "contact": subject.contact})
    if mutation == "bulk":
        return await gw.post(BULK, {"provider": subject.provider, "contacts": subject.contacts})
    return await gw.post(
        UPDATE, {"provider": subject.provider, "contact": subject.ref, "fields": subject.fields}
    )


def _check_single(result: dict[str, Any], case: Case) -> None:
    if case.member is None:
        assert result["__typename"].endswith("Success"), result
        return
    assert (result["__typename"], result["code"], result["retryable"]) == (
        case.member,
        case.code,
        True,
    ), result
    if case.retry_after is not None:
        assert result["retryAfterSeconds"] == case.retry_after


def _check_bulk(result: dict[str, Any], case: Case, count: int) -> None:
    assert result["__typename"] == "BulkUpsertContactsSuccess", result
    assert result["successCount"] + result["errorCount"] == count
    if case.member is None:
        assert result["errorCount"] == 0, result
        return
    indexes = [item["index"] for item in result["errors"]]
    if case.every_item:
        assert indexes == list(range(count))
    else:  # a one-off fault: a fan-out provider loses only the contact it hit
        assert indexes and set(indexes) <= set(range(count))
    for item in result["errors"]:
        error = item["error"]
        if error["origin"] == "CIRCUIT" and case.member == DOWN:
            # A fan-out that keeps meeting provider faults opens the breaker part way:
            # the remaining contacts are refused at once, as they should be.
            assert (error["code"], error["retryable"]) == ("UNAVAILABLE", True)
            continue
        assert (error["__typename"], error["code"], error["retryable"]) == (
            case.member,
            case.code,
            True,
        ), error
        if case.retry_after is not None:
            assert error["retryAfterSeconds"] == case.retry_after
