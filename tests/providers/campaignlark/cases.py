"""CampaignLark's answers for the shared error battery. It has no error codes: the provider's
message is the table key and the providerCode."""

from __future__ import annotations

from typing import Any

from providers.campaignlark.errors import ERROR_TABLE, read_error
from providers.model import ProviderName
from tests.providers.battery import AUTH, DOWN, LIMIT, NF, ErrorCase, Flow, ProviderCases, V
from tests.providers.campaignlark.support import CONTACT_ID, FakeLark, lark_config


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


ANSWERS = [
    msg("The contact ID you provided is not valid.", 400, "INVALID_CONTACT_ID", V, "id"),
    msg(
        "Please provide at least one field to update.",
        400,
        "MISSING_FIELDS",
        V,
        "customFields",
    ),
    msg("Please provide a status.", 400, "MISSING_STATUS", V, "status"),
    msg("Contact status is required.", 400, "MISSING_STATUS", V, "status"),
    msg("The status you provided is not valid.", 400, "INVALID_STATUS", V, "status"),
    msg(
        "We were unable to find a field with the merge_tag `plan_x`",
        400,
        "UNKNOWN_FIELD",
        V,
        "customFields.plan_x",
    ),
    msg(
        "We were unable to find a field with the merge_tag tier",
        400,
        "UNKNOWN_FIELD",
        V,
        "customFields.tier",
    ),
    msg(
        "We were unable to find a field with the merge tag 'loyalty_level'.",
        400,
        "UNKNOWN_FIELD",
        V,
        "customFields.loyalty_level",
    ),
    msg("We couldn't find a contact with that ID.", 400, "CONTACT_NOT_FOUND", NF, "id"),
    msg("We couldn\u2019t find a contact with that ID.", 400, "CONTACT_NOT_FOUND", NF),
    msg("We could not find a contact with that id", 404, "CONTACT_NOT_FOUND", NF, "id"),
    msg("An email address is required.", 400, "MISSING_EMAIL", V, "email"),
    msg("Field 'Lead source' is required.", 400, "REQUIRED_FIELD_MISSING", V),
    msg("Field `Company` is required.", 400, "REQUIRED_FIELD_MISSING", V),
    msg("Field \u201cLoyalty Level\u201d is required", 400, "REQUIRED_FIELD_MISSING", V),
    msg("Tag ID 42 does not exist in this workspace", 400, "UNKNOWN_TAG", V, "tags"),
    msg("Tag ID `7` does not exist in this workspace.", 400, "UNKNOWN_TAG", V, "tags"),
    msg("Please provide a valid API key.", 401, "UNAUTHORIZED", AUTH),
    msg("The API key you provided is invalid or has been revoked.", 401, "UNAUTHORIZED", AUTH),
    msg("Your IP address is not authorized to use this API key.", 403, "FORBIDDEN", AUTH),
    msg(
        "We couldn't find a contact with that email address.",
        404,
        "CONTACT_NOT_FOUND",
        NF,
        "email",
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
        "status",
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
        provider_code=None,
        retryable=True,
    ),
    ErrorCase(
        id="504-empty",
        status=504,
        raw=b"",
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code=None,
        retryable=True,
    ),
    ErrorCase(
        id="200-contact-without-id",
        status=200,
        body={"data": {"status": "SUBSCRIBED", "data": {}}},
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code=None,
        retryable=True,
        origin="TRANSPORT",
    ),
]


def _is(method: str, path: str) -> Any:
    return lambda request: (request.method, request.url.path) == (method, path)


# The workspace's catalogues and contacts as CampaignLark answers them.
_ordinary = FakeLark().handle

CASES = ProviderCases(
    provider=ProviderName.CAMPAIGNLARK,
    config=lark_config,
    table=ERROR_TABLE,
    key_of=lambda body: read_error(body)[0],
    answers=ANSWERS,
    flows={
        "upsert": Flow(
            {"provider": "CAMPAIGNLARK", "contact": {"email": "a@example.com"}},
            target=_is("POST", "/v1/contacts/upsert"),
            ordinary=_ordinary,
        ),
        "update": Flow(
            {"provider": "CAMPAIGNLARK", "contact": {"id": CONTACT_ID}, "fields": {"plan": "a"}},
            target=_is("PUT", f"/v1/contacts/{CONTACT_ID}"),
            ordinary=_ordinary,
        ),
        "bulk": Flow(
            {"provider": "CAMPAIGNLARK", "contacts": [{"email": "a@example.com"}]},
            target=_is("POST", "/v1/contacts/upsert"),
            ordinary=_ordinary,
        ),
    },
)
