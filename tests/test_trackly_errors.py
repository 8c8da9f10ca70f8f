"""Every row of Trackly's error table, and every answer it does not name, as the client sees it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from providers.model import ProviderName
from providers.trackly.errors import ERROR_TABLE, read_error
from tests.battery import (
    TRANSPORT_FAILURES,
    UNREADABLE_ANSWERS,
    ErrorCase,
    assert_covers_table,
    assert_error,
    ids,
)
from tests.support import BULK, UPDATE, UPSERT, answer, serve, trackly_config

V, NF, AUTH, CONF = "ValidationError", "NotFoundError", "AuthenticationError", "ConfigurationError"
DOWN, LIMIT = "ProviderUnavailableError", "RateLimitedError"


def row(code: str, status: int, expected: str, member: str, field: str | None = None) -> ErrorCase:
    return ErrorCase(
        id=f"{status}-{code}",
        status=status,
        body={"error": f"Trackly says {code}", "code": code},
        code=expected,
        member=member,
        provider_code=code,
        retryable=member in (DOWN, LIMIT),
        field=field,
    )


SINGLE = [
    row("missing_phone_number", 400, "MISSING_PHONE_NUMBER", V, "contact.phone"),
    row("missing_list_number", 400, "MISSING_LIST_NUMBER", V, "contact.listNumber"),
    row("missing_custom_fields", 400, "MISSING_CUSTOM_FIELDS", V, "contact.customFields"),
    row("invalid_custom_fields", 400, "INVALID_CUSTOM_FIELDS", V, "contact.customFields"),
    row("invalid_phone", 400, "INVALID_PHONE", V, "contact.phone"),
    row("invalid_list_number", 400, "INVALID_LIST_NUMBER", V, "contact.listNumber"),
    row("contact_not_found", 400, "CONTACT_NOT_FOUND", NF, "contact.phone"),
    row("list_not_found", 400, "LIST_NOT_FOUND", NF, "contact.listNumber"),
    row("list_contact_not_found", 400, "LIST_CONTACT_NOT_FOUND", NF, "contact.listNumber"),
    row("not_sendable", 400, "NOT_SENDABLE", "NotSendableError", "contact.phone"),
    row("missing_contacts", 400, "MISSING_CONTACTS", V),
    row("unauthorized", 401, "UNAUTHORIZED", AUTH),
    row("missing_api_key", 401, "UNAUTHORIZED", AUTH),
    row("invalid_api_key", 401, "UNAUTHORIZED", AUTH),
    row("no_billing_config", 402, "PAYMENT_REQUIRED", CONF),
    row("no_payment_method", 402, "PAYMENT_REQUIRED", CONF),
    row("payment_failed", 402, "PAYMENT_REQUIRED", CONF),
    row("suspended", 402, "PAYMENT_REQUIRED", CONF),
    row("card_expired", 402, "PAYMENT_REQUIRED", CONF),  # a 402 code the docs do not list
    row("sms_not_enabled", 403, "PRODUCT_NOT_ENABLED", CONF),
    row("carrier_lookup_not_enabled", 403, "PRODUCT_NOT_ENABLED", CONF),
    ErrorCase(
        id="403-account-suspended-no-code",
        status=403,
        body={"error": "Account suspended"},
        code="FORBIDDEN",
        member=AUTH,
        provider_code="Account suspended",
    ),
    row("suspended", 403, "FORBIDDEN", AUTH),  # "suspended" means payment only on a 402
    row("too_many_contacts", 413, "TOO_MANY_CONTACTS", V),
    row("payload_too_large", 413, "PAYLOAD_TOO_LARGE", V),
    row("internal_error", 500, "PROVIDER_ERROR", DOWN),
    row("validation_failed", 400, "INVALID_REQUEST", V),
    row("provider_error", 400, "PROVIDER_ERROR", DOWN),
    # Answers the table does not name map by HTTP status, keeping the raw code.
    row("brand_new_code", 400, "INVALID_REQUEST", V),
    row("conflict", 409, "INVALID_REQUEST", V),
    row("unprocessable", 422, "INVALID_REQUEST", V),
    row("gone_missing", 404, "CONTACT_NOT_FOUND", NF),
    row("slow_down", 429, "RATE_LIMITED", LIMIT),
    row("bad_gateway", 502, "PROVIDER_ERROR", DOWN),
    ErrorCase(
        id="429-retry-after",
        status=429,
        body={"error": "Too many requests"},
        headers={"Retry-After": "7"},
        code="RATE_LIMITED",
        member=LIMIT,
        provider_code="Too many requests",
        retryable=True,
        retry_after=7.0,
    ),
    *UNREADABLE_ANSWERS,
    ErrorCase(
        id="200-json-array",
        status=200,
        body=["not", "an", "object"],
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="list",
        retryable=True,
    ),
    ErrorCase(
        id="400-json-not-object",
        status=400,
        body="just a string",
        code="INVALID_REQUEST",
        member=V,
        provider_code='"just a string"',
    ),
]


def test_battery_walks_every_row_of_the_table() -> None:
    assert_covers_table(ERROR_TABLE, SINGLE, lambda body: read_error(body)[0])


@pytest.mark.parametrize("case", SINGLE, ids=ids(SINGLE))
async def test_upsert_answer_reaches_the_client_as_its_union_member(case: ErrorCase) -> None:
    transport = httpx.MockTransport(lambda request: case.response())
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": {"phone": "4155552671"}})
    assert_error(data["upsertContact"], case, "TRACKLY")


UPDATE_CASES = [
    row("missing_custom_fields", 400, "MISSING_CUSTOM_FIELDS", V, "customFields"),
    row("invalid_custom_fields", 400, "INVALID_CUSTOM_FIELDS", V, "customFields"),
    row("contact_not_found", 400, "CONTACT_NOT_FOUND", NF, "contact.phone"),
    row("list_contact_not_found", 400, "LIST_CONTACT_NOT_FOUND", NF, "contact.listNumber"),
    row("list_not_found", 400, "LIST_NOT_FOUND", NF, "contact.listNumber"),
    row("invalid_api_key", 401, "UNAUTHORIZED", AUTH),
    row("internal_error", 500, "PROVIDER_ERROR", DOWN),
]


@pytest.mark.parametrize("case", UPDATE_CASES, ids=ids(UPDATE_CASES))
async def test_update_fields_answer_reaches_the_client(case: ErrorCase) -> None:
    transport = httpx.MockTransport(lambda request: case.response())
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(
            UPDATE,
            {"provider": "TRACKLY", "contact": {"phone": "4155552671"}, "fields": {"a": 1}},
        )
    assert_error(data["updateContactFields"], case, "TRACKLY")


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


@pytest.mark.parametrize(
    ("status", "code", "member"),
    [(401, "unauthorized", AUTH), (402, "payment_failed", CONF), (403, "sms_not_enabled", CONF)],
)
async def test_bulk_refused_for_the_whole_account_is_one_top_level_error(
    status: int, code: str, member: str
) -> None:
    transport = answer(status, {"error": "no", "code": code})
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": [{"phone": "4155552671"}]})
    result = data["bulkUpsertContacts"]
    assert result["__typename"] == member and result["providerCode"] == code


async def test_bulk_chunk_that_fails_with_5xx_is_one_error_per_contact() -> None:
    transport = answer(500, {"error": "boom", "code": "internal_error"})
    contacts = [{"phone": f"41555526{n:02d}"} for n in range(10, 15)]
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (0, 5)
    assert [e["index"] for e in result["errors"]] == [0, 1, 2, 3, 4]
    assert {e["error"]["code"] for e in result["errors"]} == {"PROVIDER_ERROR"}


@pytest.mark.parametrize(("exception", "code"), TRANSPORT_FAILURES)
async def test_transport_failures_are_typed_and_retryable(exception: Exception, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    transport = httpx.MockTransport(handler)
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": {"phone": "4155552671"}})
    result = data["upsertContact"]
    assert (result["__typename"], result["code"], result["retryable"]) == (DOWN, code, True)


async def test_provider_slower_than_the_deadline_gives_timeout() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    config = trackly_config(deadline_seconds=0.2)
    async with serve(config, transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(UPSERT, {"provider": "TRACKLY", "contact": {"phone": "4155552671"}})
    result = data["upsertContact"]
    assert (result["code"], result["providerCode"], result["retryable"]) == (
        "TIMEOUT",
        "deadline",
        True,
    )
