"""What goes over the wire to Trackly: paths, headers, bodies, chunking, and the answers the
shared error battery does not cover (per-item bulk codes, chunk failures, the deadline)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import respx

from providers.model import ProviderName
from tests.providers.battery import DOWN, NF, V
from tests.support import (
    BULK,
    LIST_NUMBER,
    TRACKLY_KEY,
    TRACKLY_URL,
    UPDATE,
    UPSERT,
    answer,
    serve,
    trackly_config,
)

UPSERT_OK = {
    "success": True,
    "contact_id": "665a1b2c3d4e5f6a7b8c9d0e",
    "list_contact_id": "665a1b2c3d4e5f6a7b8c9d0f",
    "is_new_contact": True,
    "is_new_list_contact": True,
    "journeys_enrolled": 1,
    "warnings": ["a provider warning"],
}


def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
    return json.loads(route.calls[call].request.content)  # type: ignore[no-any-return]


@respx.mock
async def test_upsert_sends_every_documented_parameter_with_the_key_in_x_api_key() -> None:
    route = respx.post(f"{TRACKLY_URL}/v2/contacts").respond(200, json=UPSERT_OK)
    contact = {
        "phone": "(415) 555-9876",
        "listNumber": "+1 800 555 0000",
        "customFields": {"first_name": "Jane", "score": 4.5, "vip": True, "visits": 3},
        "fieldMode": "REPLACE",
        "enrollInJourneys": True,
        "signupDate": "2025-03-15T16:30:00+02:00",
        "ipAddress": "203.0.113.42",
        "signupUrl": "https://example.com/signup",
        "trackly": {
            "skipJourneyIfExists": False,
            "adNetworkSource": "facebook",
            "adNetworkId": "cmp-9",
        },
    }
    async with serve(trackly_config()) as gw:
        data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": contact})
    request = route.calls.last.request
    assert request.headers["x-api-key"] == TRACKLY_KEY
    assert "authorization" not in request.headers
    assert request.headers["content-type"] == "application/json"
    assert sent(route) == {
        "phone_number": "+14155559876",
        "list_number": "+18005550000",
        "use_journeys": True,
        "skip_journey_if_exists": False,
        "custom_fields": {"first_name": "Jane", "score": 4.5, "vip": True, "visits": 3},
        "override_custom_fields": True,
        "signup_date": "2025-03-15T14:30:00Z",
        "ip_address": "203.0.113.42",
        "url": "https://example.com/signup",
        "ad_network_source": "facebook",
        "ad_network_id": "cmp-9",
    }
    result = data["upsertContact"]
    assert result == {
        "__typename": "UpsertContactSuccess",
        "contact": {
            "provider": "TRACKLY",
            "id": "+14155559876",  # a Trackly contact's id is its phone, in every answer
            "phone": "+14155559876",
            "email": None,
            "customFields": None,
        },
        "created": True,
        "listMembershipCreated": True,
        "listContactId": "665a1b2c3d4e5f6a7b8c9d0f",
        "journeysEnrolled": 1,
        "warnings": ["a provider warning"],
    }


@respx.mock
async def test_upsert_defaults_merge_the_default_list_and_safe_journey_skip() -> None:
    route = respx.post(f"{TRACKLY_URL}/v2/contacts").respond(200, json=UPSERT_OK)
    async with serve(trackly_config()) as gw:
        await gw.data(
            UPSERT,
            {"provider": "TRACKLY", "contact": {"phone": "+447911123456", "customFields": {}}},
        )
    assert sent(route) == {
        "phone_number": "+447911123456",
        "list_number": LIST_NUMBER,
        "use_journeys": False,
        "skip_journey_if_exists": True,
        "custom_fields": {},
        "override_custom_fields": False,
    }


@respx.mock
async def test_fields_trackly_cannot_store_come_back_as_warnings_not_silence() -> None:
    respx.post(f"{TRACKLY_URL}/v2/contacts").respond(200, json={**UPSERT_OK, "warnings": []})
    contact = {
        "phone": "4155559876",
        "email": "jane@example.com",
        "firstName": "Jane",
        "lastName": "Doe",
        "tags": ["vip"],
        "status": "SUBSCRIBED",
        "heymarket": {"displayName": "Jane"},
    }
    async with serve(trackly_config()) as gw:
        data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": contact})
    warnings = " | ".join(data["upsertContact"]["warnings"])
    for name in ("email", "firstName", "lastName", "tags", "status", "heymarket options"):
        assert name in warnings


@respx.mock
async def test_update_fields_puts_merge_flag_from_mode_and_returns_the_full_set() -> None:
    full = {"first_name": "Jane", "vip_status": "gold"}
    route = respx.put(f"{TRACKLY_URL}/v2/contacts").respond(
        200, json={"success": True, "list_contact_id": "lc1", "custom_fields": full}
    )
    async with serve(trackly_config()) as gw:
        for mode, merge in (("MERGE", True), ("REPLACE", False)):
            data = await gw.data(
                UPDATE,
                {
                    "provider": "TRACKLY",
                    "contact": {"phone": "415 555 9876", "listNumber": "+18005550000"},
                    "fields": {"vip_status": "gold"},
                    "mode": mode,
                },
            )
            assert sent(route) == {
                "phone_number": "+14155559876",
                "list_number": "+18005550000",
                "custom_fields": {"vip_status": "gold"},
                "merge_fields": merge,
            }
            assert data["updateContactFields"]["customFields"] == full


@respx.mock
async def test_update_answer_without_fields_reads_them_back_from_the_lookup() -> None:
    respx.put(f"{TRACKLY_URL}/v2/contacts").respond(200, json={"success": True})
    lookup = respx.get(f"{TRACKLY_URL}/v2/contacts/%2B14155559876").respond(
        200,
        json={"lists": [{"list_number": LIST_NUMBER, "custom_fields": {"a": 1, "b": 2}}]},
    )
    async with serve(trackly_config()) as gw:
        data = await gw.data(
            UPDATE,
            {"provider": "TRACKLY", "contact": {"phone": "+14155559876"}, "fields": {"b": 2}},
        )
    assert lookup.called
    assert data["updateContactFields"]["customFields"] == {"a": 1, "b": 2}


@respx.mock
async def test_bulk_splits_into_requests_of_at_most_1000_and_sums_the_counts() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        contacts = json.loads(request.content)["contacts"]
        return httpx.Response(
            200,
            json={
                "success_count": len(contacts),
                "error_count": 0,
                "errors": [],
                "contacts_created": len(contacts),
                "list_contacts_created": len(contacts),
                "journeys_enrolled": 0,
                "warnings": ["same warning"],
            },
        )

    route = respx.post(f"{TRACKLY_URL}/v2/contacts/bulk").mock(side_effect=answer)
    contacts = [{"phone": f"+1415555{n:04d}"} for n in range(2_345)]
    async with serve(trackly_config()) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    sizes = sorted(len(json.loads(c.request.content)["contacts"]) for c in route.calls)
    assert sizes == [345, 1000, 1000]
    phones = {
        item["phone_number"]
        for c in route.calls
        for item in json.loads(c.request.content)["contacts"]
    }
    assert len(phones) == 2_345 and all(p.startswith("+1") for p in phones)
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (2_345, 0)
    assert (result["contactsCreated"], result["listContactsCreated"]) == (2_345, 2_345)
    assert result["warnings"] == ["same warning"]


@respx.mock
async def test_bulk_items_carry_any_integer_and_any_text_exactly() -> None:
    route = respx.post(f"{TRACKLY_URL}/v2/contacts/bulk").mock(
        side_effect=lambda request: httpx.Response(200, json={"errors": []})
    )
    fields = [{"big": 2**70, "name": "Zoë ✓"}, {"small": -(2**63), "ratio": 0.1}]
    contacts = [{"phone": f"+14155551{n:03d}", "customFields": f} for n, f in enumerate(fields)]
    async with serve(trackly_config()) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    assert data["bulkUpsertContacts"]["errorCount"] == 0, data["bulkUpsertContacts"]["errors"]
    [call] = route.calls
    sent = [item["custom_fields"] for item in json.loads(call.request.content)["contacts"]]
    assert sent == fields


@respx.mock
async def test_bulk_keeps_each_request_under_5_mb() -> None:
    route = respx.post(f"{TRACKLY_URL}/v2/contacts/bulk").mock(
        side_effect=lambda request: httpx.Response(200, json={"errors": []})
    )
    # ~3.9 KB per contact: 1,000 of them would be 3.9 MB... 1,400 would pass 5 MB.
    big = {"note": "x" * 3_700}
    contacts = [{"phone": f"+1415555{n:04d}", "customFields": big} for n in range(1_400)]
    async with serve(trackly_config()) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    assert data["bulkUpsertContacts"]["errorCount"] == 0
    assert all(len(call.request.content) <= 5_000_000 for call in route.calls)
    assert sum(len(json.loads(c.request.content)["contacts"]) for c in route.calls) == 1_400


@respx.mock
async def test_bulk_refuses_a_contact_over_4000_bytes_locally_and_sends_the_rest() -> None:
    route = respx.post(f"{TRACKLY_URL}/v2/contacts/bulk").respond(200, json={"errors": []})
    contacts = [
        {"phone": "+14155550001"},
        {"phone": "+14155550002", "customFields": {"note": "x" * 4_000}},
        {"phone": "+14155550003"},
    ]
    async with serve(trackly_config()) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (2, 1)
    [item] = result["errors"]
    assert item["index"] == 1
    assert (item["error"]["code"], item["error"]["provider"]) == ("PAYLOAD_TOO_LARGE", None)
    assert [c["phone_number"] for c in sent(route)["contacts"]] == ["+14155550001", "+14155550003"]


@pytest.mark.parametrize("entry_index", [None, 99, "1", True])
@respx.mock
async def test_bulk_error_without_a_usable_index_is_matched_by_phone(entry_index: Any) -> None:
    respx.post(f"{TRACKLY_URL}/v2/contacts/bulk").respond(
        200,
        json={
            "errors": [
                {
                    "index": entry_index,
                    "phone_number": "+14155550002",
                    "code": "not_sendable",
                    "error": "VOIP",
                }
            ]
        },
    )
    contacts = [{"phone": "+14155550001"}, {"phone": "+14155550002"}]
    async with serve(trackly_config()) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    [item] = data["bulkUpsertContacts"]["errors"]
    assert (item["index"], item["error"]["code"]) == (1, "NOT_SENDABLE")


ITEM_CODES = [
    ("missing_phone_number", "MISSING_PHONE_NUMBER", V),
    ("missing_list_number", "MISSING_LIST_NUMBER", V),
    ("invalid_phone", "INVALID_PHONE", V),
    ("invalid_list_number", "INVALID_LIST_NUMBER", V),
    ("list_not_found", "LIST_NOT_FOUND", NF),
    ("not_sendable", "NOT_SENDABLE", "NotSendableError"),
    ("payload_too_large", "PAYLOAD_TOO_LARGE", V),
    ("validation_failed", "INVALID_REQUEST", V),
    ("provider_error", "PROVIDER_ERROR", DOWN),
    ("never_seen_before", "INVALID_REQUEST", V),
]


@pytest.mark.parametrize(("provider_code", "code", "member"), ITEM_CODES)
async def test_bulk_item_code_reaches_the_client_at_its_index(
    provider_code: str, code: str, member: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "success_count": 1,
                "error_count": 1,
                "errors": [
                    {
                        "index": 1,
                        "phone_number": "+14155552672",
                        "code": provider_code,
                        "error": "item failed",
                    }
                ],
                "contacts_created": 1,
                "list_contacts_created": 1,
                "journeys_enrolled": 0,
            },
        )

    contacts = [{"phone": "4155552671"}, {"phone": "4155552672"}]
    transport = httpx.MockTransport(handler)
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (1, 1)
    [item] = result["errors"]
    assert item["index"] == 1 and item["phone"] == "+14155552672"
    error = item["error"]
    assert (error["__typename"], error["code"], error["providerCode"]) == (
        member,
        code,
        provider_code,
    )
    assert error["retryable"] is (member == DOWN)


async def test_bulk_chunk_that_fails_with_5xx_is_one_error_per_contact() -> None:
    transport = answer(500, {"error": "boom", "code": "internal_error"})
    contacts = [{"phone": f"41555526{n:02d}"} for n in range(10, 15)]
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (0, 5)
    assert [e["index"] for e in result["errors"]] == [0, 1, 2, 3, 4]
    assert {e["error"]["code"] for e in result["errors"]} == {"PROVIDER_ERROR"}


async def test_provider_slower_than_the_deadline_gives_timeout() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    config = trackly_config(deadline_seconds=0.2)
    async with serve(config, transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": {"phone": "4155552671"}})
    result = data["upsertContact"]
    assert (result["code"], result["origin"], result["retryable"]) == ("TIMEOUT", "DEADLINE", True)
    assert result["providerCode"] is None  # the provider said nothing
