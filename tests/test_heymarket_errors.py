"""Every row of Heymarket's error table, and every answer it does not name, as clients see it."""

from __future__ import annotations

import httpx
import pytest

from providers.heymarket.errors import ERROR_TABLE, read_error
from providers.model import ProviderName
from tests.battery import UNREADABLE_ANSWERS, ErrorCase, assert_covers_table, assert_error, ids
from tests.heymarket_support import heymarket_config, upsert_vars
from tests.support import BULK, UPDATE, UPSERT, answer, serve

V, NF, AUTH = "ValidationError", "NotFoundError", "AuthenticationError"
DOWN, LIMIT = "ProviderUnavailableError", "RateLimitedError"


def bad_data(
    field: str | None, expected: str, member: str = V, where: str | None = None
) -> ErrorCase:
    body = {"error": "bad_data", "message": "Validation failed."}
    if field:
        body["field"] = field
    return ErrorCase(
        id=f"400-bad_data-{field or 'no-field'}",
        status=400,
        body=body,
        code=expected,
        member=member,
        provider_code=f"bad_data ({field})" if field else "bad_data",
        field=where,
    )


def ans(
    id: str, status: int, body: object, code: str, member: str, provider_code: str, **kw: object
) -> ErrorCase:
    return ErrorCase(
        id=id,
        status=status,
        body=body,
        code=code,
        member=member,
        provider_code=provider_code,
        retryable=member in (DOWN, LIMIT),
        **kw,  # type: ignore[arg-type]
    )


SINGLE = [
    bad_data(None, "INVALID_REQUEST"),
    bad_data("phone", "INVALID_PHONE", where="contact.phone"),
    bad_data("email", "INVALID_EMAIL", where="contact.email"),
    bad_data("first", "INVALID_REQUEST", where="contact.firstName"),
    bad_data("last", "INVALID_REQUEST", where="contact.lastName"),
    bad_data("is_opted_out", "INVALID_STATUS", where="contact.status"),
    bad_data("tags", "UNKNOWN_TAG", where="contact.tags"),
    bad_data("display_name", "INVALID_REQUEST", where="contact.heymarket.displayName"),
    bad_data("avatar", "INVALID_REQUEST", where="contact.heymarket.avatarUrl"),
    bad_data("assignee_id", "INVALID_REQUEST", where="contact.heymarket.assigneeId"),
    bad_data("custom", "INVALID_CUSTOM_FIELDS", where="contact.customFields"),
    bad_data("custom.101", "INVALID_CUSTOM_FIELDS", where="contact.customFields"),
    bad_data("contact", "CONTACT_NOT_FOUND", NF),
    bad_data("favourite_colour", "INVALID_REQUEST"),  # a field the table does not know
    # The field named only in the message, or as the key of an errors object.
    ans(
        "400-field-in-message",
        400,
        {"error": "bad_data", "message": "email is not a valid address"},
        "INVALID_EMAIL",
        V,
        "bad_data (email)",
        field="contact.email",
    ),
    ans(
        "400-field-in-errors-object",
        400,
        {"error": "bad_data", "errors": {"phone": ["invalid"]}},
        "INVALID_PHONE",
        V,
        "bad_data (phone)",
    ),
    ans(
        "400-nested-error-object",
        400,
        {"error": {"code": "bad_data", "field": "email", "message": "bad"}},
        "INVALID_EMAIL",
        V,
        "bad_data (email)",
    ),
    ans(
        "400-contact-not-found-message-only",
        400,
        {"error": "Contact not found"},
        "CONTACT_NOT_FOUND",
        NF,
        "Contact not found",
    ),
    ans("401-unauthorized", 401, {"error": "unauthorized"}, "UNAUTHORIZED", AUTH, "unauthorized"),
    ans("403-denied", 403, {"error": "denied"}, "FORBIDDEN", AUTH, "denied"),
    ans(  # a field is read out of the message only for bad_data
        "401-message-naming-a-field",
        401,
        {"error": "unauthorized", "message": "token not valid for phone lookups"},
        "UNAUTHORIZED",
        AUTH,
        "unauthorized",
    ),
    ans(
        "429-no-retry-after", 429, {"error": "rate_limited"}, "RATE_LIMITED", LIMIT, "rate_limited"
    ),
    ans(
        "429-retry-after",
        429,
        {"error": "rate_limited"},
        "RATE_LIMITED",
        LIMIT,
        "rate_limited",
        headers={"Retry-After": "7"},
        retry_after=7.0,
    ),
    ans("500-server-error", 500, {"error": "server_error"}, "PROVIDER_ERROR", DOWN, "server_error"),
    # Answers the provider does not document map by HTTP status, keeping the raw code.
    ans("404-not-found", 404, {"error": "not_found"}, "CONTACT_NOT_FOUND", NF, "not_found"),
    ans("409-conflict", 409, {"error": "conflict"}, "INVALID_REQUEST", V, "conflict"),
    ans(
        "422-unprocessable", 422, {"error": "unprocessable"}, "INVALID_REQUEST", V, "unprocessable"
    ),
    ans("418-unknown-4xx", 418, {"error": "teapot"}, "INVALID_REQUEST", V, "teapot"),
    ans("413-too-large", 413, {"error": "too_large"}, "INVALID_REQUEST", V, "too_large"),
    ans("503-unavailable", 503, {"error": "maintenance"}, "PROVIDER_ERROR", DOWN, "maintenance"),
    ans("504-gateway-timeout", 504, {"error": "timeout"}, "PROVIDER_ERROR", DOWN, "timeout"),
    ans("400-json-not-object", 400, "just a string", "INVALID_REQUEST", V, '"just a string"'),
    *UNREADABLE_ANSWERS,
    ErrorCase(
        id="200-json-without-a-contact",
        status=200,
        body=["not", "a", "contact"],
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="no id",
        retryable=True,
    ),
]


def test_battery_walks_every_row_of_the_table() -> None:
    assert_covers_table(ERROR_TABLE, SINGLE, lambda body: read_error(body)[0])


@pytest.mark.parametrize("case", SINGLE, ids=ids(SINGLE))
async def test_upsert_answer_reaches_the_client_as_its_union_member(case: ErrorCase) -> None:
    transport = httpx.MockTransport(lambda request: case.response())
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(UPSERT, upsert_vars())
    assert_error(data["upsertContact"], case, "HEYMARKET")


UPDATE_CASES = [
    bad_data("custom.101", "INVALID_CUSTOM_FIELDS", where="customFields"),
    ans("404-not-found", 404, {"error": "not_found"}, "CONTACT_NOT_FOUND", NF, "not_found"),
    ans("401-unauthorized", 401, {"error": "unauthorized"}, "UNAUTHORIZED", AUTH, "unauthorized"),
    ans("500-server-error", 500, {"error": "server_error"}, "PROVIDER_ERROR", DOWN, "server_error"),
]


@pytest.mark.parametrize("case", UPDATE_CASES, ids=ids(UPDATE_CASES))
async def test_update_fields_answer_reaches_the_client(case: ErrorCase) -> None:
    catalogue = {"fields": [{"id": 101, "name": "plan"}]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/contact-fields":
            return httpx.Response(200, json=catalogue)
        if request.url.path == "/v1/contact/get" and case.status != 404:
            return httpx.Response(200, json={"id": 7, "phone": "15105553344", "custom": {}})
        return case.response()

    transport = httpx.MockTransport(handler)
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(
            UPDATE,
            {"provider": "HEYMARKET", "contact": {"id": "7"}, "fields": {"plan": "gold"}},
        )
    result = data["updateContactFields"]
    if case.status == 404:  # the lookup's miss is said about the ref it looked up by
        assert (result["code"], result["field"]) == ("CONTACT_NOT_FOUND", "contact.id")
        return
    assert_error(result, case, "HEYMARKET")


async def test_the_providers_request_id_is_kept_in_the_message() -> None:
    transport = answer(500, {"error": "server_error"}, headers={"X-Request-Id": "req-abc-123"})
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(UPSERT, upsert_vars())
    assert "req-abc-123" in data["upsertContact"]["message"]


@pytest.mark.parametrize(("status", "member"), [(401, AUTH), (403, AUTH)])
async def test_bulk_refused_for_the_whole_account_is_one_top_level_error(
    status: int, member: str
) -> None:
    transport = answer(status, {"error": "unauthorized" if status == 401 else "denied"})
    contacts = [{"phone": "4155552671"}, {"phone": "4155552672"}]
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    assert data["bulkUpsertContacts"]["__typename"] == member


async def test_bulk_item_failing_with_5xx_is_an_error_at_its_index_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"14155552672" in request.content:
            return httpx.Response(500, json={"error": "server_error"})
        if request.url.path == "/v1/contact/get":
            return httpx.Response(404, json={"error": "not_found"})
        return httpx.Response(200, json={"id": 1, "rev": 1, "uuid": "u"})

    contacts = [{"phone": f"41555526{n}"} for n in (71, 72, 73)]
    transport = httpx.MockTransport(handler)
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"], result["contactsCreated"]) == (2, 1, 2)
    [item] = result["errors"]
    assert (item["index"], item["error"]["code"]) == (1, "PROVIDER_ERROR")
