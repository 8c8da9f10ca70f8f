"""End to end: GraphQL in, the real ASGI app, the Trackly simulator behind the adapter."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from providers.model import ProviderName
from providers.simulator.faults import Fault
from tests.support import BULK, UPDATE, UPSERT, answer, serve, trackly_config


async def test_upsert_then_update_fields_merge_and_replace_against_the_simulator() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        first = await gw.data(
            UPSERT,
            {
                "provider": "TRACKLY",
                "contact": {
                    "phone": "(415) 555-2671",
                    "customFields": {"plan": "gold"},
                    "enrollInJourneys": True,
                },
            },
        )
        again = await gw.data(
            UPSERT,
            {
                "provider": "TRACKLY",
                "contact": {
                    "phone": "+14155552671",
                    "customFields": {"seen": 2},
                    "enrollInJourneys": True,
                },
            },
        )
        merged = await gw.data(
            UPDATE,
            {"provider": "TRACKLY", "contact": {"phone": "415-555-2671"}, "fields": {"vip": True}},
        )
        replaced = await gw.data(
            UPDATE,
            {
                "provider": "TRACKLY",
                "contact": {"phone": "415-555-2671"},
                "fields": {"only": "this"},
                "mode": "REPLACE",
            },
        )
    created = first["upsertContact"]
    assert created["__typename"] == "UpsertContactSuccess"
    assert (created["created"], created["listMembershipCreated"]) == (True, True)
    assert created["journeysEnrolled"] == 1  # the sandbox list has one Welcome Journey
    updated = again["upsertContact"]
    assert (updated["created"], updated["listMembershipCreated"]) == (False, False)
    assert updated["journeysEnrolled"] == 0  # skip_journey_if_exists kept the default
    assert updated["contact"]["id"] == created["contact"]["id"]
    assert merged["updateContactFields"]["customFields"] == {"plan": "gold", "seen": 2, "vip": True}
    assert replaced["updateContactFields"]["customFields"] == {"only": "this"}
    assert replaced["updateContactFields"]["contact"]["phone"] == "+14155552671"


async def test_typed_errors_from_the_simulator() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        voip = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": {"phone": "+14155550123"}})
        no_list = await gw.data(
            UPSERT,
            {
                "provider": "TRACKLY",
                "contact": {"phone": "+14155552671", "listNumber": "+18005559999"},
            },
        )
        unknown = await gw.data(
            UPDATE,
            {"provider": "TRACKLY", "contact": {"phone": "+14155559999"}, "fields": {"a": 1}},
        )
        await gw.data(UPSERT, {"provider": "TRACKLY", "contact": {"phone": "+14155552671"}})
        not_on_list = await gw.data(
            UPDATE,
            {
                "provider": "TRACKLY",
                "contact": {"phone": "+14155552671", "listNumber": "+18005550000"},
                "fields": {"a": 1},
            },
        )
    assert _outcome(voip["upsertContact"]) == ("NotSendableError", "NOT_SENDABLE", "contact.phone")
    assert _outcome(no_list["upsertContact"]) == (
        "NotFoundError",
        "LIST_NOT_FOUND",
        "contact.listNumber",
    )
    assert _outcome(unknown["updateContactFields"]) == (
        "NotFoundError",
        "CONTACT_NOT_FOUND",
        "contact.phone",
    )
    assert _outcome(not_on_list["updateContactFields"])[1] == "LIST_CONTACT_NOT_FOUND"


async def test_gateway_refuses_bad_input_without_calling_the_provider() -> None:
    sandbox = Sandbox()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"phone": "not a phone"}, "INVALID_PHONE", "contact.phone"),
        ({"phone": "12345"}, "INVALID_PHONE", "contact.phone"),
        ({}, "MISSING_PHONE_NUMBER", "contact.phone"),
        ({"phone": "4155552671", "listNumber": "555"}, "INVALID_LIST_NUMBER", "contact.listNumber"),
        (
            {"phone": "4155552671", "customFields": {"a": {"b": 1}}},
            "INVALID_CUSTOM_FIELDS",
            "contact.customFields.a",
        ),
        (
            {"phone": "4155552671", "customFields": {"a": None}},
            "INVALID_CUSTOM_FIELDS",
            "contact.customFields.a",
        ),
        (
            {"phone": "4155552671", "customFields": [1, 2]},
            "INVALID_CUSTOM_FIELDS",
            "contact.customFields",
        ),
        (
            {"phone": "4155552671", "customFields": "text"},
            "INVALID_CUSTOM_FIELDS",
            "contact.customFields",
        ),
        (
            {"phone": "4155552671", "signupDate": "yesterday"},
            "INVALID_REQUEST",
            "contact.signupDate",
        ),
        ({"phone": "4155552671", "ipAddress": "999.1.1.1"}, "INVALID_REQUEST", "contact.ipAddress"),
        ({"phone": "4155552671", "firstName": "x" * 5_000}, "INVALID_REQUEST", "contact.firstName"),
    ]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        for contact, code, field in cases:
            data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": contact})
            result = data["upsertContact"]
            assert (result["__typename"], result["code"], result["field"]) == (
                "ValidationError",
                code,
                field,
            ), contact
            assert result["provider"] is None and result["retryable"] is False
    assert sandbox.trackly.requests == []


async def test_custom_fields_written_inline_in_the_query_are_checked_too() -> None:
    sandbox = Sandbox()
    query = """mutation { upsertContact(provider: TRACKLY,
        contact: {phone: "4155552671", customFields: {tier: ["a"]}}) {
          ... on Error { code field } } }"""
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(query)
    assert data["upsertContact"] == {
        "code": "INVALID_CUSTOM_FIELDS",
        "field": "contact.customFields.tier",
    }


async def test_a_provider_without_a_config_table_answers_configuration_error() -> None:
    variables: dict[str, dict[str, Any]] = {
        UPSERT: {"contact": {"phone": "4155552671"}},
        BULK: {"contacts": [{"phone": "4155552671"}]},
        UPDATE: {"contact": {"phone": "4155552671"}, "fields": {"a": 1}},
    }
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: answer(500)}) as gw:
        for provider in ("HEYMARKET", "CAMPAIGNLARK"):
            for query, extra in variables.items():
                data = await gw.data(query, {"provider": provider, **extra})
                [result] = data.values()
                assert (result["__typename"], result["code"], result["provider"]) == (
                    "ConfigurationError",
                    "PROVIDER_NOT_CONFIGURED",
                    None,
                )
                assert result["retryable"] is False


@pytest.mark.parametrize("concurrency", [4, 1])  # one window of 4,000; three of 1,000
async def test_bulk_of_2500_with_bad_items_and_one_failing_chunk_keeps_every_position(
    concurrency: int,
) -> None:
    sandbox = Sandbox()
    contacts: list[dict[str, Any]] = [
        {"phone": f"+1415556{n:04d}", "customFields": {"n": n}} for n in range(2_500)
    ]
    expected: dict[int, str] = {}
    for index in (3, 777, 2_499):
        contacts[index] = {"phone": "definitely not a phone"}
        expected[index] = "INVALID_PHONE"
    for index in (10, 1_500):
        contacts[index] = {"phone": f"+141555501{index % 100:02d}"}  # the simulator's VOIP range
        expected[index] = "NOT_SENDABLE"
    contacts[20] = {"phone": "+14155560020", "customFields": {k: "x" * 1_400 for k in "abc"}}
    expected[20] = "PAYLOAD_TOO_LARGE"
    contacts[30] = {"phone": "+14155560030", "customFields": {"bad": [1]}}
    expected[30] = "INVALID_CUSTOM_FIELDS"
    contacts[40] = {"phone": "+14155560040", "listNumber": "+18005559999"}
    expected[40] = "LIST_NOT_FOUND"
    # The request carrying this contact fails whole, after the simulator has been told so.
    marker = "+14155561234"
    sandbox.trackly.faults.add(
        Fault(
            status=500,
            body={"error": "boom", "code": "internal_error"},
            path="/v2/contacts/bulk",
            body_contains=marker,
        )
    )
    locally_refused = {3, 777, 2_499, 20, 30}
    chunks = []
    window = 1_000 * concurrency  # the service hands Trackly this many input positions at once
    for begin in range(0, 2_500, window):
        sent = [i for i in range(begin, min(begin + window, 2_500)) if i not in locally_refused]
        chunks += [sent[start : start + 1_000] for start in range(0, len(sent), 1_000)]
    [failing] = [chunk for chunk in chunks if 1_234 in chunk]
    for index in failing:
        expected.setdefault(index, "PROVIDER_ERROR")
        if index in (10, 40, 1_500):  # their own error is lost with the chunk: it never ran
            expected[index] = "PROVIDER_ERROR"

    config = sandbox.config(GatewaySettings(bulk_concurrency=concurrency))
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})

    result = data["bulkUpsertContacts"]
    assert result["__typename"] == "BulkUpsertContactsSuccess"
    got = {item["index"]: item["error"]["code"] for item in result["errors"]}
    assert len(got) == len(result["errors"])  # each index at most once
    assert got == expected
    assert result["successCount"] + result["errorCount"] == 2_500
    assert result["errorCount"] == len(expected)
    assert result["contactsCreated"] == 2_500 - len(expected)
    stored = set(sandbox.trackly.contacts)
    for index in set(range(2_500)) - set(expected):
        assert contacts[index]["phone"] in stored


async def test_a_window_refused_for_the_account_fails_its_contacts_not_the_whole_bulk() -> None:
    sandbox = Sandbox()
    contacts = [{"phone": f"+1415557{n:04d}"} for n in range(2_500)]
    marker = contacts[1_200]["phone"]
    unauthorized = {"error": "bad key", "code": "unauthorized"}
    sandbox.trackly.faults.add(
        Fault(status=401, body=unauthorized, path="/v2/contacts/bulk", body_contains=marker)
    )
    config = sandbox.config(GatewaySettings(bulk_concurrency=1))  # windows of 1,000
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert result["__typename"] == "BulkUpsertContactsSuccess"
    assert {item["index"] for item in result["errors"]} == set(range(1_000, 2_000))
    assert {item["error"]["code"] for item in result["errors"]} == {"UNAUTHORIZED"}
    assert result["successCount"] == 1_500


async def test_every_window_refused_for_the_account_is_the_answer_once() -> None:
    sandbox = Sandbox()
    contacts = [{"phone": f"+1415558{n:04d}"} for n in range(2_500)]
    unauthorized = {"error": "bad key", "code": "unauthorized"}
    every = Fault(status=401, body=unauthorized, path="/v2/contacts/bulk", times=None)
    sandbox.trackly.faults.add(every)
    config = sandbox.config(GatewaySettings(bulk_concurrency=1))
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["__typename"], result["code"]) == ("AuthenticationError", "UNAUTHORIZED")


def _outcome(result: dict[str, Any]) -> tuple[str, str, str | None]:
    return result["__typename"], result["code"], result["field"]


async def test_one_contact_has_one_id_in_every_answer() -> None:
    sandbox = Sandbox()
    phone = {"phone": "4155552671"}
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        upserted = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": phone})
        bulk = await gw.data(BULK, {"provider": "TRACKLY", "contacts": [phone]})
        updated = await gw.data(
            UPDATE, {"provider": "TRACKLY", "contact": phone, "fields": {"tier": "gold"}}
        )
    assert bulk["bulkUpsertContacts"]["errorCount"] == 0
    ids = {
        upserted["upsertContact"]["contact"]["id"],
        updated["updateContactFields"]["contact"]["id"],
    }
    assert ids == {"+14155552671"}


async def test_warnings_name_the_unified_input_not_trackly_parameters() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": {"phone": "4155552671"}})
    [warning] = data["upsertContact"]["warnings"]
    assert "enrollInJourneys" in warning and "use_journeys" not in warning


async def test_bulk_warnings_say_which_contacts_they_concern() -> None:
    sandbox = Sandbox()
    contacts: list[dict[str, Any]] = [
        {"phone": "4155552671", "email": "a@example.com", "enrollInJourneys": True},
        {"phone": "4155552672", "tags": ["vip"], "enrollInJourneys": True},
        {"phone": "4155552673", "email": "c@example.com", "enrollInJourneys": True},
    ]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    warnings = data["bulkUpsertContacts"]["warnings"]
    assert any(
        w.startswith("email was not sent") and w.endswith("(contacts 0, 2)") for w in warnings
    )
    assert any(w.startswith("tags was not sent") and w.endswith("(contacts[1])") for w in warnings)
