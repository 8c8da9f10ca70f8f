"""Lone surrogates from a client: refused before any use, typed, and never echoed back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.input.unicode import ill_formed_in, ill_formed_part, printable, well_formed
from gateway.sandbox import Sandbox
from tests.support import BULK, UPDATE, UPSERT, GatewayClient, serve

LONE = "\ud800"


def test_well_formed_tells_lone_surrogates_from_pairs() -> None:
    assert well_formed("plain") and well_formed("émoji 😀")
    assert well_formed(json.loads('"\\ud83d\\ude00"'))  # a pair, escaped: one character
    assert not well_formed(f"a{LONE}b") and not well_formed("\udfff")
    assert ill_formed_in({"a": [1, {"b": f"x{LONE}"}]}) and ill_formed_in({f"k{LONE}": 1})
    assert not ill_formed_in({"a": ["ok", {"b": 2.5, "c": None}]})
    assert ill_formed_part("{ a }", LONE, None) == "operationName"
    assert ill_formed_part(f"{{ a }} # {LONE}", None, None) == "query"
    assert ill_formed_part("{ a }", "A", {"x": [LONE]}) == "extensions"
    assert ill_formed_part("{ a }", "A", {"x": 1}) is None
    assert printable(f"a{LONE}b") == "a\ufffdb"


def strict_json(body: bytes) -> Any:
    """The answer decoded as a strict client would: UTF-8, and no string in it that holds a
    lone surrogate (JSON could still escape one)."""
    answer = json.loads(body.decode("utf-8"))  # decode raises on anything that is not UTF-8
    assert not ill_formed_in(answer), body
    return answer


async def post_raw(client: GatewayClient, body: bytes) -> Any:
    response = await client.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    return response.status_code, strict_json(response.content)


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "{providers{provider}}", "operationName": "\\ud800"}',  # issue 14's 500
        b'{"query": "{providers{provider}}", "operationName": "\xed\xa0\x80"}',  # raw bytes
        b'{"query": "query A { providers { provider } } # \\udc00"}',
        b'{"query": "{ providers { provider } }", "extensions": {"trace": ["\\ud800"]}}',
        b'[{"query": "{ __typename }"}, {"query": "{ __typename }", "operationName": "\\udfff"}]',
    ],
)
async def test_a_lone_surrogate_in_the_request_itself_is_a_400_that_does_not_echo_it(
    body: bytes,
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        status, answer = await post_raw(client, body)
    assert status == 400
    [error] = answer["errors"]
    assert "not well-formed Unicode" in error["message"]
    assert "\ufffd" not in error["message"]  # named by its place, not echoed at all


def contact(**fields: Any) -> dict[str, Any]:
    return {"phone": "+14155552671", **fields}


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ({"customFields": {"plan": f"gold{LONE}"}}, "INVALID_CUSTOM_FIELDS", "customFields.plan"),
        ({"customFields": {f"pl{LONE}an": "gold"}}, "INVALID_CUSTOM_FIELDS", "customFields"),
        ({"phone": f"+1415555{LONE}"}, "INVALID_PHONE", "phone"),
        ({"email": f"a{LONE}@example.com"}, "INVALID_EMAIL", "email"),
        ({"firstName": LONE}, "INVALID_REQUEST", "firstName"),
        ({"tags": ["vip", f"x{LONE}"]}, "INVALID_REQUEST", "tags[1]"),
        ({"signupUrl": f"https://x/{LONE}"}, "INVALID_REQUEST", "signupUrl"),
        ({"trackly": {"adNetworkId": LONE}}, "INVALID_REQUEST", "trackly.adNetworkId"),
    ],
)
async def test_a_lone_surrogate_in_an_input_is_its_typed_error_before_any_provider_call(
    given: dict[str, Any], code: str, field: str
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        body = {"query": UPSERT, "variables": {"provider": "TRACKLY", "contact": contact(**given)}}
        status, answer = await post_raw(client, json.dumps(body).encode())
    assert status == 200
    result = answer["data"]["upsertContact"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        code,
        f"contact.{field}",
    )
    assert sandbox.trackly.requests == []


async def test_in_a_bulk_the_contact_with_a_lone_surrogate_is_refused_at_its_index() -> None:
    sandbox = Sandbox()
    contacts = [
        contact(phone="+14155552601"),
        contact(phone="+14155552602", customFields={"plan": LONE}),
        contact(phone="+14155552603"),
    ]
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        body = {"query": BULK, "variables": {"provider": "TRACKLY", "contacts": contacts}}
        _, answer = await post_raw(client, json.dumps(body).encode())
    result = answer["data"]["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (2, 1)
    [error] = result["errors"]
    assert (error["index"], error["error"]["code"], error["error"]["field"]) == (
        1,
        "INVALID_CUSTOM_FIELDS",
        "contacts[1].customFields.plan",
    )


async def test_update_contact_fields_refuses_a_lone_surrogate_without_a_call() -> None:
    sandbox = Sandbox()
    variables = {
        "provider": "CAMPAIGNLARK",
        "contact": {"email": "ann@example.com"},
        "fields": {"plan": f"x{LONE}"},
    }
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        body = {"query": UPDATE, "variables": variables}
        _, answer = await post_raw(client, json.dumps(body).encode())
    result = answer["data"]["updateContactFields"]
    assert (result["code"], result["field"]) == ("INVALID_CUSTOM_FIELDS", "customFields.plan")
    assert sandbox.campaignlark.requests == []


async def test_a_graphql_error_naming_a_client_string_replaces_its_lone_surrogates() -> None:
    # An input field that does not exist: graphql-core's message quotes its name.
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        variables = {"provider": "TRACKLY", "contact": contact(**{f"nick{LONE}": "x"})}
        body = {"query": UPSERT, "variables": variables}
        status, answer = await post_raw(client, json.dumps(body).encode())
    assert status == 200
    [error] = answer["errors"]
    assert "nick\ufffd" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
