"""Every row of CampaignLark's error table, and every answer it does not name, as clients see it.

CampaignLark has no error codes: the provider's message is the table key and the providerCode.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from providers.campaignlark.errors import ERROR_TABLE, read_error
from providers.model import ProviderName
from tests.battery import TRANSPORT_FAILURES, ErrorCase, assert_covers_table, assert_error, ids
from tests.campaignlark_support import CONTACT_ID, FakeLark, lark_config
from tests.support import BULK, UPDATE, UPSERT, answer, serve

V, NF, AUTH = "ValidationError", "NotFoundError", "AuthenticationError"
DOWN, LIMIT = "ProviderUnavailableError", "RateLimitedError"
LARK = "CAMPAIGNLARK"


def msg(
    message: str,
    status: int,
    code: str,
    member: str,
    field: str | None = None,
    *,
    case_id: str | None = None,
    body: Any = None,
) -> ErrorCase:
    return ErrorCase(
        id=case_id or f"{status}-{code}-{message[:24]}",
        status=status,
        body={"error": {"message": message}} if body is None else body,
        code=code,
        member=member,
        provider_code=message,
        retryable=member in (DOWN, LIMIT),
        field=field,
    )


SINGLE = [
    msg("The contact ID you provided is not valid.", 400, "INVALID_CONTACT_ID", V, "contact.id"),
    msg(
        "Please provide at least one field to update.",
        400,
        "MISSING_FIELDS",
        V,
        "contact.customFields",
    ),
    msg("Please provide a status.", 400, "MISSING_STATUS", V, "contact.status"),
    msg("Contact status is required.", 400, "MISSING_STATUS", V, "contact.status"),
    msg("The status you provided is not valid.", 400, "INVALID_STATUS", V, "contact.status"),
    msg(
        "We were unable to find a field with the merge_tag `plan_x`",
        400,
        "UNKNOWN_FIELD",
        V,
        "contact.customFields.plan_x",
    ),
    msg(
        "We were unable to find a field with the merge_tag tier",
        400,
        "UNKNOWN_FIELD",
        V,
        "contact.customFields.tier",
    ),
    msg(
        "We were unable to find a field with the merge tag 'loyalty_level'.",
        400,
        "UNKNOWN_FIELD",
        V,
        "contact.customFields.loyalty_level",
    ),
    msg("We couldn't find a contact with that ID.", 400, "CONTACT_NOT_FOUND", NF, "contact.id"),
    msg("We couldn\u2019t find a contact with that ID.", 400, "CONTACT_NOT_FOUND", NF),
    msg("We could not find a contact with that id", 404, "CONTACT_NOT_FOUND", NF, "contact.id"),
    msg("An email address is required.", 400, "MISSING_EMAIL", V, "contact.email"),
    msg("Field 'Lead source' is required.", 400, "REQUIRED_FIELD_MISSING", V),
    msg("Field `Company` is required.", 400, "REQUIRED_FIELD_MISSING", V),
    msg("Field \u201cLoyalty Level\u201d is required", 400, "REQUIRED_FIELD_MISSING", V),
    msg("Tag ID 42 does not exist in this workspace", 400, "UNKNOWN_TAG", V, "contact.tags"),
    msg("Tag ID `7` does not exist in this workspace.", 400, "UNKNOWN_TAG", V, "contact.tags"),
    msg("Please provide a valid API key.", 401, "UNAUTHORIZED", AUTH),
    msg("The API key you provided is invalid or has been revoked.", 401, "UNAUTHORIZED", AUTH),
    msg("Your IP address is not authorized to use this API key.", 403, "FORBIDDEN", AUTH),
    msg(
        "We couldn't find a contact with that email address.",
        404,
        "CONTACT_NOT_FOUND",
        NF,
        "contact.email",
    ),
    # Messages the table does not name map by HTTP status, keeping the message.
    msg("Something new went wrong.", 400, "INVALID_REQUEST", V),
    msg("Route not found.", 404, "CONTACT_NOT_FOUND", NF),
    msg("A contact with that email address already exists.", 409, "INVALID_REQUEST", V),
    msg("Unprocessable.", 422, "INVALID_REQUEST", V),
    msg("Too many requests.", 429, "RATE_LIMITED", LIMIT),
    msg("Internal server error.", 500, "PROVIDER_ERROR", DOWN),
    msg("Service unavailable.", 503, "PROVIDER_ERROR", DOWN),
    # A message outside its usual envelope is still read.
    msg(
        "Please provide a status.",
        400,
        "MISSING_STATUS",
        V,
        "contact.status",
        case_id="400-no-envelope",
        body={"message": "Please provide a status."},
    ),
    msg(
        "An email address is required.",
        400,
        "MISSING_EMAIL",
        V,
        case_id="400-error-as-string",
        body={"error": "An email address is required."},
    ),
    ErrorCase(
        id="400-envelope-without-message",
        status=400,
        body={"error": {"detail": "?"}},
        code="INVALID_REQUEST",
        member=V,
        provider_code='{"error":{"detail":"?"}}',
    ),
    ErrorCase(
        id="429-empty",
        status=429,
        raw=b"",
        code="RATE_LIMITED",
        member=LIMIT,
        provider_code="HTTP 429",
        retryable=True,
    ),
    ErrorCase(
        id="502-html",
        status=502,
        raw=b"<html>502 Bad Gateway</html>",
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="<html>502 Bad Gateway</html>",
        retryable=True,
    ),
    ErrorCase(
        id="504-empty",
        status=504,
        raw=b"",
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="HTTP 504",
        retryable=True,
    ),
    ErrorCase(
        id="401-non-json",
        status=401,
        raw=b"Unauthorized",
        code="UNAUTHORIZED",
        member=AUTH,
        provider_code="Unauthorized",
    ),
    ErrorCase(
        id="200-not-json",
        status=200,
        raw=b"<html>OK</html>",
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="<html>OK</html>",
        retryable=True,
    ),
    ErrorCase(
        id="200-json-array",
        status=200,
        body=["not", "a", "contact"],
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="list",
        retryable=True,
    ),
    ErrorCase(
        id="200-contact-without-id",
        status=200,
        body={"data": {"status": "SUBSCRIBED", "data": {}}},
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="unreadable_contact",
        retryable=True,
    ),
]


def test_battery_walks_every_row_of_the_table() -> None:
    assert_covers_table(ERROR_TABLE, SINGLE, lambda body: read_error(body)[0])


# Each message of the provider notes, word for word: a row of its own must match it.
NOTES = {
    "The contact ID you provided is not valid.": "INVALID_CONTACT_ID",
    "Please provide at least one field to update.": "MISSING_FIELDS",
    "Please provide a status.": "MISSING_STATUS",
    "Contact status is required.": "MISSING_STATUS",
    "The status you provided is not valid.": "INVALID_STATUS",
    "We were unable to find a field with the merge_tag `tier`": "UNKNOWN_FIELD",
    "We couldn't find a contact with that ID.": "CONTACT_NOT_FOUND",
    "An email address is required.": "MISSING_EMAIL",
    "Field '`Company`' is required.": "REQUIRED_FIELD_MISSING",
    "Tag ID `12` does not exist in this workspace": "UNKNOWN_TAG",
    "Please provide a valid API key\u2026": "UNAUTHORIZED",
    "\u2026invalid or has been revoked.": "UNAUTHORIZED",
    "Your IP address is not authorized\u2026": "FORBIDDEN",
    "We couldn't find a contact with that email address.": "CONTACT_NOT_FOUND",
}
STATUS_OF = {"UNAUTHORIZED": 401, "FORBIDDEN": 403}


@pytest.mark.parametrize(("message", "code"), NOTES.items())
def test_every_message_in_the_provider_notes_matches_a_row(message: str, code: str) -> None:
    found = ERROR_TABLE.classify(STATUS_OF.get(code, 400), message)
    assert found.rule is not None and found.code.value == code


@pytest.mark.parametrize("case", SINGLE, ids=ids(SINGLE))
async def test_upsert_answer_reaches_the_client_as_its_union_member(case: ErrorCase) -> None:
    transport = httpx.MockTransport(lambda request: case.response())
    config = lark_config()
    async with serve(config, transports={ProviderName.CAMPAIGNLARK: transport}) as gw:
        data = await gw.data(UPSERT, {"provider": LARK, "contact": {"email": "a@example.com"}})
    assert_error(data["upsertContact"], case, LARK)


UPDATE_CASES = [
    msg("Please provide at least one field to update.", 400, "MISSING_FIELDS", V, "customFields"),
    msg("Please provide a status.", 400, "MISSING_STATUS", V, "contact.status"),
    msg(
        "We were unable to find a field with the merge_tag plan",
        400,
        "UNKNOWN_FIELD",
        V,
        "customFields.plan",
    ),
    msg("We couldn't find a contact with that ID.", 400, "CONTACT_NOT_FOUND", NF, "contact.id"),
    msg("Field 'Company' is required.", 400, "REQUIRED_FIELD_MISSING", V, "customFields.company"),
    msg("The API key you provided is invalid or has been revoked.", 401, "UNAUTHORIZED", AUTH),
    msg("Internal server error.", 500, "PROVIDER_ERROR", DOWN),
]


@pytest.mark.parametrize("case", UPDATE_CASES, ids=ids(UPDATE_CASES))
async def test_update_fields_write_answer_reaches_the_client(case: ErrorCase) -> None:
    lark = FakeLark(**{f"PUT /v1/contacts/{CONTACT_ID}": lambda request: case.response()})
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: lark.transport()}) as gw:
        data = await gw.data(
            UPDATE, {"provider": LARK, "contact": {"id": CONTACT_ID}, "fields": {"plan": "a"}}
        )
    assert_error(data["updateContactFields"], case, LARK)


@pytest.mark.parametrize(
    ("status", "message", "code", "member"),
    [
        (400, "Field 'Company' is required.", "REQUIRED_FIELD_MISSING", V),
        (400, "Tag ID 9 does not exist in this workspace", "UNKNOWN_TAG", V),
        (400, "Never seen before.", "INVALID_REQUEST", V),
        (500, "Internal server error.", "PROVIDER_ERROR", DOWN),
        (429, "Too many requests.", "RATE_LIMITED", LIMIT),
    ],
)
async def test_bulk_item_failure_reaches_the_client_at_its_index(
    status: int, message: str, code: str, member: str
) -> None:
    def upsert(request: httpx.Request) -> httpx.Response:
        if b"second@example.com" in request.content:
            return httpx.Response(status, json={"error": {"message": message}})
        return httpx.Response(200, json={"data": {"id": CONTACT_ID, "data": {}}})

    lark = FakeLark(**{"POST /v1/contacts/upsert": upsert})
    contacts = [{"email": "first@example.com"}, {"email": "second@example.com"}]
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: lark.transport()}) as gw:
        data = await gw.data(BULK, {"provider": LARK, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (1, 1)
    [item] = result["errors"]
    assert (item["index"], item["email"]) == (1, "second@example.com")
    error = item["error"]
    assert (error["__typename"], error["code"], error["providerCode"]) == (member, code, message)
    assert error["retryable"] is (member in (DOWN, LIMIT))


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "Please provide a valid API key."), (403, "Your IP address is not authorized.")],
)
async def test_bulk_refused_for_the_whole_account_is_one_top_level_error(
    status: int, message: str
) -> None:
    transport = answer(status, {"error": {"message": message}})
    contacts = [{"email": f"c{n}@example.com", "customFields": {"plan": "a"}} for n in range(3)]
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: transport}) as gw:
        data = await gw.data(BULK, {"provider": LARK, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["__typename"], result["providerCode"]) == (AUTH, message)


async def test_bulk_whose_catalogue_cannot_be_read_fails_each_contact_not_the_count() -> None:
    transport = answer(500, {"error": {"message": "Internal server error."}})
    contacts = [{"email": f"c{n}@example.com", "customFields": {"plan": "a"}} for n in range(3)]
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: transport}) as gw:
        data = await gw.data(BULK, {"provider": LARK, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (0, 3)
    assert {e["error"]["code"] for e in result["errors"]} == {"PROVIDER_ERROR"}


@pytest.mark.parametrize(("exception", "code"), TRANSPORT_FAILURES)
async def test_transport_failures_are_typed_and_retryable(exception: Exception, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    transport = httpx.MockTransport(handler)
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: transport}) as gw:
        data = await gw.data(UPSERT, {"provider": LARK, "contact": {"email": "a@example.com"}})
    result = data["upsertContact"]
    assert (result["__typename"], result["code"], result["retryable"]) == (DOWN, code, True)
