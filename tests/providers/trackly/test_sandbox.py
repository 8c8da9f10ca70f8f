"""The Trackly simulator on its own: the behaviours the provider notes document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from providers.trackly.sandbox import SANDBOX_API_KEY, TracklySimulator

AUTH = {"X-Api-Key": SANDBOX_API_KEY}
LIST = "+18005551234"
QUIET_LIST = "+18005550000"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[TracklySimulator, httpx.AsyncClient]]:
    simulator = TracklySimulator()
    transport = httpx.ASGITransport(app=simulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://trk", headers=AUTH) as c:
        yield simulator, c


def contact(phone: str = "+14155552671", list_number: str = LIST, **extra: Any) -> dict[str, Any]:
    return {"phone_number": phone, "list_number": list_number, **extra}


async def test_the_key_goes_in_x_api_key_and_nowhere_else(sim: Any) -> None:
    _, client = sim
    bearer = {"X-Api-Key": "", "Authorization": f"Bearer {SANDBOX_API_KEY}"}
    refused = await client.post("/v2/contacts", json=contact(), headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized" and refused.json()["error"]


async def test_a_contact_is_one_per_phone_and_a_membership_one_per_list(sim: Any) -> None:
    _, client = sim
    first = (await client.post("/v2/contacts", json=contact())).json()
    again = (await client.post("/v2/contacts", json=contact())).json()
    other = (await client.post("/v2/contacts", json=contact(list_number=QUIET_LIST))).json()
    assert (first["is_new_contact"], first["is_new_list_contact"]) == (True, True)
    assert (again["is_new_contact"], again["is_new_list_contact"]) == (False, False)
    assert (other["is_new_contact"], other["is_new_list_contact"]) == (False, True)
    assert first["contact_id"] == other["contact_id"] != other["list_contact_id"]


async def test_custom_fields_merge_unless_overridden(sim: Any) -> None:
    _, client = sim
    await client.post("/v2/contacts", json=contact(custom_fields={"a": 1, "b": 2}))
    await client.post("/v2/contacts", json=contact(custom_fields={"b": 3}))
    merged = (await client.get("/v2/contacts/%2B14155552671")).json()["lists"][0]
    await client.post(
        "/v2/contacts", json=contact(custom_fields={"c": 4}, override_custom_fields=True)
    )
    replaced = (await client.get("/v2/contacts/%2B14155552671")).json()["lists"][0]
    assert merged["custom_fields"] == {"a": 1, "b": 3}
    assert replaced["custom_fields"] == {"c": 4}


async def test_not_found_comes_back_as_a_400(sim: Any) -> None:
    _, client = sim
    body = {**contact(phone="+14155559999"), "custom_fields": {"a": 1}}
    missing = await client.put("/v2/contacts", json=body)
    assert missing.status_code == 400 and missing.json()["code"] == "contact_not_found"


async def test_a_new_voip_number_fails_carrier_validation(sim: Any) -> None:
    _, client = sim
    refused = await client.post("/v2/contacts", json=contact(phone="+14155550123"))
    assert refused.status_code == 400 and refused.json()["code"] == "not_sendable"


async def test_journeys_enrol_only_when_asked_and_warn_otherwise(sim: Any) -> None:
    _, client = sim
    quiet = (await client.post("/v2/contacts", json=contact())).json()
    enrolled = (
        await client.post("/v2/contacts", json=contact(phone="+14155552672", use_journeys=True))
    ).json()
    assert quiet["journeys_enrolled"] == 0 and quiet["warnings"]
    assert enrolled["journeys_enrolled"] == 1 and "warnings" not in enrolled


async def test_bulk_limits_are_the_documented_ones(sim: Any) -> None:
    _, client = sim
    too_many = await client.post(
        "/v2/contacts/bulk", json={"contacts": [contact() for _ in range(1_001)]}
    )
    assert too_many.status_code == 413 and too_many.json()["code"] == "too_many_contacts"
    big = contact(custom_fields={"note": "x" * 4_000})
    partial = (await client.post("/v2/contacts/bulk", json={"contacts": [contact(), big]})).json()
    assert (partial["success_count"], partial["error_count"]) == (1, 1)
    assert partial["errors"][0]["index"] == 1
    assert partial["errors"][0]["code"] == "payload_too_large"
    huge = await client.post(
        "/v2/contacts/bulk",
        content=b'{"contacts": ["' + b"x" * 5_000_001 + b'"]}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"


async def test_an_empty_bulk_is_missing_contacts(sim: Any) -> None:
    _, client = sim
    empty = await client.post("/v2/contacts/bulk", json={"contacts": []})
    assert empty.status_code == 400 and empty.json()["code"] == "missing_contacts"
