"""One enum of codes; each code belongs to exactly one union member."""

from __future__ import annotations

import pytest

from gateway.schema import build_schema
from gateway.schema.errors import MEMBER_OF, error_from
from providers.errors import ErrorCode, ErrorKind, Failure
from providers.errortable import ErrorRule, ErrorTable, status_fallback
from providers.model import ProviderName

CONTRACT_MEMBERS = {
    "ValidationError": {
        "MISSING_PHONE_NUMBER",
        "MISSING_LIST_NUMBER",
        "MISSING_EMAIL",
        "MISSING_CUSTOM_FIELDS",
        "MISSING_STATUS",
        "MISSING_FIELDS",
        "MISSING_CONTACTS",
        "INVALID_PHONE",
        "INVALID_LIST_NUMBER",
        "INVALID_EMAIL",
        "INVALID_CUSTOM_FIELDS",
        "INVALID_STATUS",
        "INVALID_CONTACT_ID",
        "INVALID_REQUEST",
        "UNKNOWN_FIELD",
        "UNKNOWN_TAG",
        "REQUIRED_FIELD_MISSING",
        "TOO_MANY_TAGS",
        "PAYLOAD_TOO_LARGE",
        "TOO_MANY_CONTACTS",
    },
    "NotFoundError": {"CONTACT_NOT_FOUND", "LIST_NOT_FOUND", "LIST_CONTACT_NOT_FOUND"},
    "NotSendableError": {"NOT_SENDABLE"},
    "AuthenticationError": {"UNAUTHORIZED", "FORBIDDEN"},
    "ConfigurationError": {"PROVIDER_NOT_CONFIGURED", "PAYMENT_REQUIRED", "PRODUCT_NOT_ENABLED"},
    "RateLimitedError": {"RATE_LIMITED"},
    "ProviderUnavailableError": {"PROVIDER_ERROR", "TIMEOUT", "UNAVAILABLE"},
}


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.name)
def test_every_code_lands_on_the_member_the_contract_names(code: ErrorCode) -> None:
    member = MEMBER_OF[code.kind].__name__
    assert code.name in CONTRACT_MEMBERS[member]
    assert code.retryable is (member in ("RateLimitedError", "ProviderUnavailableError"))


def test_the_contract_table_lists_exactly_the_python_enum() -> None:
    assert set().union(*CONTRACT_MEMBERS.values()) == {code.name for code in ErrorCode}
    assert set(MEMBER_OF) == set(ErrorKind)


def test_the_graphql_enum_is_generated_from_the_python_enum() -> None:
    sdl = build_schema().as_str()
    block = sdl[sdl.index("enum ErrorCode {") :]
    block = block[: block.index("}")]
    assert [line.strip() for line in block.splitlines()[1:] if line.strip()] == [
        code.name for code in ErrorCode
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "INVALID_REQUEST"),
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (404, "CONTACT_NOT_FOUND"),
        (409, "INVALID_REQUEST"),
        (422, "INVALID_REQUEST"),
        (429, "RATE_LIMITED"),
        (500, "PROVIDER_ERROR"),
        (503, "PROVIDER_ERROR"),
    ],
)
def test_unknown_answers_map_by_status(status: int, code: str) -> None:
    assert status_fallback(status).name == code
    assert ErrorTable([]).classify(status, "whatever").code.name == code


def test_a_message_pattern_can_name_the_field_it_is_about() -> None:
    import re

    table = ErrorTable(
        [
            ErrorRule(
                ErrorCode.UNKNOWN_FIELD,
                re.compile(r"merge_tag `?(?P<tag>[a-z_]+)"),
                400,
                "customFields.{tag}",
            ),
        ]
    )
    found = table.classify(400, "We were unable to find a field with the merge_tag `shoe_size`")
    assert (found.code, found.field) == (ErrorCode.UNKNOWN_FIELD, "customFields.shoe_size")
    assert table.classify(404, "merge_tag x").code is ErrorCode.CONTACT_NOT_FOUND


def test_a_member_a_union_cannot_hold_falls_back_to_the_nearest_it_can() -> None:
    from gateway.schema.errors import NotSendableError, ProviderUnavailableError, ValidationError

    failure = Failure(ErrorCode.NOT_SENDABLE, "no", provider=ProviderName.TRACKLY)
    assert isinstance(error_from(failure, None, (ValidationError,)), ValidationError)
    assert isinstance(error_from(failure), NotSendableError)
    down = Failure(ErrorCode.TIMEOUT, "slow")
    assert isinstance(
        error_from(down, None, (ValidationError, ProviderUnavailableError)),
        ProviderUnavailableError,
    )
