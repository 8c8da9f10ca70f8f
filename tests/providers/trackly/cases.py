"""Trackly's answers for the shared error battery: every row of its error table, and the
answers it does not document, with what the client must get for each."""

from __future__ import annotations

import httpx

from providers.model import ProviderName
from providers.trackly.errors import ERROR_TABLE, read_error
from tests.providers.battery import (
    AUTH,
    CONF,
    DOWN,
    LIMIT,
    NF,
    SENDABLE,
    ErrorCase,
    Flow,
    ProviderCases,
    V,
)
from tests.support import trackly_config


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


ANSWERS = [
    row("missing_phone_number", 400, "MISSING_PHONE_NUMBER", V, "phone"),
    row("missing_list_number", 400, "MISSING_LIST_NUMBER", V, "listNumber"),
    row("missing_custom_fields", 400, "MISSING_CUSTOM_FIELDS", V, "customFields"),
    row("invalid_custom_fields", 400, "INVALID_CUSTOM_FIELDS", V, "customFields"),
    row("invalid_phone", 400, "INVALID_PHONE", V, "phone"),
    row("invalid_list_number", 400, "INVALID_LIST_NUMBER", V, "listNumber"),
    row("contact_not_found", 400, "CONTACT_NOT_FOUND", NF, "phone"),
    row("list_not_found", 400, "LIST_NOT_FOUND", NF, "listNumber"),
    row("list_contact_not_found", 400, "LIST_CONTACT_NOT_FOUND", NF, "listNumber"),
    row("not_sendable", 400, "NOT_SENDABLE", SENDABLE, "phone"),
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
    ErrorCase(
        id="400-json-not-object",
        status=400,
        body="just a string",
        code="INVALID_REQUEST",
        member=V,
        provider_code='"just a string"',
    ),
]


def _ordinary(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"error": "not reached in these flows", "code": "nope"})


CASES = ProviderCases(
    provider=ProviderName.TRACKLY,
    config=trackly_config,
    table=ERROR_TABLE,
    key_of=lambda body: read_error(body)[0],
    answers=ANSWERS,
    flows={
        "upsert": Flow(
            {"provider": "TRACKLY", "contact": {"phone": "4155552671"}},
            target=lambda r: (r.method, r.url.path) == ("POST", "/api/v2/contacts"),
            ordinary=_ordinary,
        ),
        "update": Flow(
            {"provider": "TRACKLY", "contact": {"phone": "4155552671"}, "fields": {"a": 1}},
            target=lambda r: (r.method, r.url.path) == ("PUT", "/api/v2/contacts"),
            ordinary=_ordinary,
        ),
        "bulk": Flow(
            {"provider": "TRACKLY", "contacts": [{"phone": "4155552671"}]},
            target=lambda r: (r.method, r.url.path) == ("POST", "/api/v2/contacts/bulk"),
            ordinary=_ordinary,
        ),
    },
)
