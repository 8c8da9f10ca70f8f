"""Heymarket's answers for the shared error battery: every row of its error table (bad_data
keyed by the field it names), and the answers it does not document."""

from __future__ import annotations

from typing import Any

import httpx

from providers.heymarket.errors import ERROR_TABLE, read_error
from providers.model import ProviderName
from tests.providers.battery import AUTH, DOWN, LIMIT, NF, ErrorCase, Flow, ProviderCases, V
from tests.providers.heymarket.support import FIELDS, heymarket_config, upsert_vars


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


ANSWERS = [
    bad_data(None, "INVALID_REQUEST"),
    bad_data("phone", "INVALID_PHONE", where="phone"),
    bad_data("email", "INVALID_EMAIL", where="email"),
    bad_data("first", "INVALID_REQUEST", where="firstName"),
    bad_data("last", "INVALID_REQUEST", where="lastName"),
    bad_data("is_opted_out", "INVALID_STATUS", where="status"),
    bad_data("tags", "UNKNOWN_TAG", where="tags"),
    bad_data("display_name", "INVALID_REQUEST", where="heymarket.displayName"),
    bad_data("avatar", "INVALID_REQUEST", where="heymarket.avatarUrl"),
    bad_data("assignee_id", "INVALID_REQUEST", where="heymarket.assigneeId"),
    bad_data("custom", "INVALID_CUSTOM_FIELDS", where="customFields"),
    bad_data("custom.101", "INVALID_CUSTOM_FIELDS", where="customFields"),
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
        field="email",
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
]


def _ordinary(request: httpx.Request) -> httpx.Response:
    """The account's fields, a contact 7 for a look-up by id, no contact for one by phone."""
    if request.url.path == "/v1/contact-fields":
        return httpx.Response(200, json=FIELDS)
    if request.url.path == "/v1/contact/get":
        if b'"id"' in request.content:
            return httpx.Response(200, json={"id": 7, "phone": "15105553344", "custom": {}})
        return httpx.Response(404, json={"error": "not_found"})
    return httpx.Response(500, json={"error": "not part of this flow"})


def _is(method: str, path: str) -> Any:
    return lambda request: (request.method, request.url.path) == (method, path)


CASES = ProviderCases(
    provider=ProviderName.HEYMARKET,
    config=heymarket_config,
    table=ERROR_TABLE,
    key_of=lambda body: read_error(body)[0],
    answers=ANSWERS,
    flows={
        # A phone it does not have: looked up, then created; the create gets the answer.
        "upsert": Flow(upsert_vars(), target=_is("POST", "/v1/contact"), ordinary=_ordinary),
        "update": Flow(
            {"provider": "HEYMARKET", "contact": {"id": "7"}, "fields": {"plan": "gold"}},
            target=_is("PUT", "/v1/contact/7"),
            ordinary=_ordinary,
        ),
        # One new contact: looked up, then created. A bulk gathers its new contacts into
        # batches, but a batch of one goes as a single create (the same one request, and it
        # answers for itself); whichever of the two carries it gets the answer. The batch path
        # itself, two contacts to a batch, runs the same answers in test_bulk.py.
        "bulk": Flow(
            {"provider": "HEYMARKET", "contacts": [{"phone": "4155552671"}]},
            target=lambda request: (
                _is("POST", "/v1/contact")(request) or _is("POST", "/v1/batch/contacts")(request)
            ),
            ordinary=_ordinary,
        ),
    },
)
