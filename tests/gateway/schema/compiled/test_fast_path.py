"""The fast path answers byte for byte what strawberry answers, and declines what it must.

Two gateways over two identical sandboxes get the same requests in the same order: one with
`fast_path = false` (strawberry for everything, the reference), one with the fast path on.
Every request is sent twice, because a document gets its plan from its first error-free run.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.cli import FIRST_MUTATION
from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from gateway.schema.compiled.execute import PlanRunner
from gateway.service import ContactService
from tests.gateway.schema.compiled.test_differential import _fast_path
from tests.support import serve

UPSERT_FULL = """
fragment Failed on Error { code message provider providerCode field retryable }
mutation Full($provider: Provider!, $contact: ContactInput!) {
  result: upsertContact(provider: $provider, contact: $contact) {
    kind: __typename
    ... on UpsertContactSuccess {
      contact { __typename provider id phone email customFields }
      contact { id }
      created listMembershipCreated listContactId journeysEnrolled warnings
    }
    ...Failed
    ... on RateLimitedError { retryAfterSeconds }
    ... on ProviderUnavailableError { retryAfterSeconds }
  }
}
"""
BULK = """
mutation Bulk($provider: Provider!, $contacts: [ContactInput!]!) {
  bulkUpsertContacts(provider: $provider, contacts: $contacts) {
    __typename
    ... on BulkUpsertContactsSuccess {
      successCount errorCount contactsCreated listContactsCreated journeysEnrolled warnings
      errors {
        index phone email
        error { __typename code message field ... on Error { retryable } }
      }
    }
    ... on Error { code message }
  }
}
"""
UPDATE = """
mutation Update($contact: ContactRefInput!, $fields: CustomFields!, $mode: FieldUpdateMode) {
  updateContactFields(provider: TRACKLY, contact: $contact, customFields: $fields, mode: $mode) {
    __typename
    ... on UpdateContactFieldsSuccess { contact { id phone customFields } customFields }
    ... on Error { code message field }
  }
}
"""
# Dry runs: the preview's JSON bodies and the stand-ins' answers, planned like any answer.
DRY_RUN = """
mutation Dry($provider: Provider!, $contact: ContactInput!, $dry: Boolean) {
  upsertContact(provider: $provider, contact: $contact, validateOnly: $dry) {
    __typename
    ... on UpsertContactSuccess {
      dryRun warnings created contact { id customFields }
      preview { method path body }
    }
    ... on Error { code message field }
  }
}
"""
DRY_UPDATE = """
mutation DryUpdate($contact: ContactRefInput!, $fields: CustomFields!) {
  updateContactFields(provider: TRACKLY, contact: $contact, customFields: $fields,
                      validateOnly: true) {
    __typename
    ... on UpdateContactFieldsSuccess { dryRun warnings customFields preview { path body } }
    ... on Error { code message field }
  }
}
"""
TWO_OPERATIONS = """
mutation First { upsertContact(provider: TRACKLY, contact: {phone: "4155550001"}) { __typename } }
mutation Second($p: String) {
  upsertContact(provider: TRACKLY, contact: {phone: $p}) { ... on Error { code field } }
}
"""
NOT_PLANNED = [
    # a directive, two root fields, a query: strawberry's executor every time
    (
        "mutation D($x: Boolean!) { upsertContact(provider: TRACKLY, contact: {phone: "
        '"4155550002"}) { __typename @include(if: $x) } }',
        {"x": True},
    ),
    (
        'mutation { a: upsertContact(provider: TRACKLY, contact: {phone: "4155550003"}) '
        '{ __typename } b: upsertContact(provider: TRACKLY, contact: {phone: "12"}) '
        "{ __typename } }",
        {},
    ),
    ("{ providers { provider configured } }", {}),
]

CASES: list[tuple[str, dict[str, Any] | None, str | None]] = [
    (FIRST_MUTATION, None, None),
    (UPSERT_FULL, {"provider": "TRACKLY", "contact": {"phone": "(415) 555-2671"}}, None),
    (
        UPSERT_FULL,
        {
            "provider": "TRACKLY",
            "contact": {
                "phone": "+1 415 555 2672",
                "email": "ann@example.com",
                "customFields": {"plan": "gold", "visits": 3, "vip": True, "score": 1.5},
                "fieldMode": "REPLACE",
                "enrollInJourneys": True,
                "trackly": {"adNetworkSource": "meta"},
                "heymarket": {"displayName": "Ann"},
            },
        },
        "Full",
    ),
    # errors the gateway finds, and errors the provider answers
    (UPSERT_FULL, {"provider": "TRACKLY", "contact": {"phone": "12"}}, None),
    (UPSERT_FULL, {"provider": "TRACKLY", "contact": {"phone": "(415) 555-0123"}}, None),
    (UPSERT_FULL, {"provider": "TRACKLY", "contact": {"customFields": {"a": [1]}}}, None),
    (UPSERT_FULL, {"provider": "HEYMARKET", "contact": {"phone": "4155550199"}}, None),
    (
        UPSERT_FULL,
        {"provider": "CAMPAIGNLARK", "contact": {"email": "c@example.com", "tags": ["vip"]}},
        None,
    ),
    (UPSERT_FULL, {"provider": "CAMPAIGNLARK", "contact": {"email": "not-an-email"}}, None),
    # variables graphql-core refuses: the fast path declines, strawberry words the errors
    (UPSERT_FULL, {"provider": "NOPE", "contact": {"phone": "4155550100"}}, None),
    (UPSERT_FULL, {"provider": "TRACKLY", "contact": {"phone": 4155550100}}, None),
    (UPSERT_FULL, {"provider": "TRACKLY", "contact": {"unknown": 1}}, None),
    (UPSERT_FULL, {"provider": "TRACKLY"}, None),
    (UPSERT_FULL, None, None),
    (UPSERT_FULL, {"provider": "TRACKLY", "contact": {"phone": "4155550100"}}, "Nope"),
    (
        BULK,
        {
            "provider": "TRACKLY",
            "contacts": [
                {"phone": "4155550150"},
                {"phone": "nope"},
                {"phone": "4155550151", "customFields": {"bad": {"x": 1}}},
                {"email": "e@example.com"},
                {
                    "phone": "4155550153",
                    "tags": ["a", "b"],
                    "status": "UNSUBSCRIBED",
                    "trackly": {"skipJourneyIfExists": False, "adNetworkId": "n1"},
                    "heymarket": {"assigneeId": 3},
                },
            ],
        },
        None,
    ),
    (BULK, {"provider": "TRACKLY", "contacts": {"phone": "4155550152"}}, None),  # one, not a list
    (BULK, {"provider": "TRACKLY", "contacts": []}, None),
    (UPDATE, {"contact": {"phone": "(415) 555-2671"}, "fields": {"tier": "b"}}, None),
    (
        UPDATE,
        {"contact": {"phone": "(415) 555-2671"}, "fields": {"tier": "c"}, "mode": "REPLACE"},
        None,
    ),
    (UPDATE, {"contact": {"phone": "(415) 555-2671"}, "fields": "oops"}, None),
    (
        DRY_RUN,
        {
            "provider": "HEYMARKET",
            "contact": {"phone": "(510) 555-3344", "customFields": {"plan": "é"}, "tags": ["vip"]},
            "dry": True,
        },
        None,
    ),
    (
        DRY_RUN,
        {
            "provider": "TRACKLY",
            "contact": {"phone": "4155550160", "customFields": {"n": 12345678901234567890}},
            "dry": True,
        },
        None,
    ),
    (
        DRY_RUN,
        {
            "provider": "CAMPAIGNLARK",
            "contact": {"email": "d@example.com", "customFields": {"lead_source": "w"}},
            "dry": True,
        },
        None,
    ),
    (DRY_RUN, {"provider": "CAMPAIGNLARK", "contact": {"email": "d@example.com"}}, None),
    (DRY_UPDATE, {"contact": {"phone": "(415) 555-2671"}, "fields": {"tier": "d"}}, None),
    (TWO_OPERATIONS, None, "First"),
    (TWO_OPERATIONS, {"p": "12"}, "Second"),
    (TWO_OPERATIONS, None, None),  # several operations and no name: an error, both ways
    *((query, variables, None) for query, variables in NOT_PLANNED),
]


@contextlib.asynccontextmanager
async def gateways() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for fast in (False, True):
            sandbox = Sandbox()
            config = sandbox.config(GatewaySettings(fast_path=fast))
            gateway = await stack.enter_async_context(serve(config, sandbox=sandbox))
            clients.append(gateway.http)
        yield clients[0], clients[1]


async def _post(
    client: httpx.AsyncClient, query: str, variables: Any, name: str | None
) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if name is not None:
        body["operationName"] = name
    return await client.post("/graphql", json=body)


def _same(reference: httpx.Response, fast: httpx.Response) -> None:
    assert fast.status_code == reference.status_code
    assert fast.headers["content-type"] == reference.headers["content-type"]
    assert fast.content == reference.content, (reference.content, fast.content)


async def test_the_fast_path_answers_exactly_what_strawberry_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken = 0
    execute = PlanRunner.execute

    async def counted(self: PlanRunner, prepared: Any) -> bytes:
        nonlocal taken
        taken += 1
        return await execute(self, prepared)

    monkeypatch.setattr(PlanRunner, "execute", counted)
    async with gateways() as (reference, fast):
        for query, variables, name in CASES:
            for _ in range(2):
                expected = await _post(reference, query, variables, name)
                _same(expected, await _post(fast, query, variables, name))
    # The second send of each accepted, planned request went the fast way.
    assert taken >= 12


async def test_documents_with_directives_or_several_fields_are_never_planned() -> None:
    async with gateways() as (_, fast):
        for query, variables in NOT_PLANNED:
            for _ in range(2):
                assert (await _post(fast, query, variables, None)).status_code == 200
        transport = fast._transport
        assert isinstance(transport, httpx.ASGITransport)
        book = _book(transport.app)
        assert all(book.find(query, None) is None for query, _ in NOT_PLANNED)


async def test_a_bug_under_the_fast_path_is_masked_as_strawberry_masks_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = ContactService.upsert

    async def breaks(self: ContactService, provider: Any, contact: Any) -> Any:
        if contact.email == "boom@example.org":
            raise RuntimeError("secret detail")
        return await real(self, provider, contact)

    monkeypatch.setattr(ContactService, "upsert", breaks)
    variables = {"provider": "TRACKLY", "contact": {"phone": "4155550177"}}
    broken = {
        "provider": "TRACKLY",
        "contact": {"phone": "4155550177", "email": "boom@example.org"},
    }
    async with gateways() as (reference, fast):
        for client in (reference, fast):
            await _post(client, UPSERT_FULL, variables, None)  # the fast side learns its plan
        expected = await _post(reference, UPSERT_FULL, broken, None)
        answer = await _post(fast, UPSERT_FULL, broken, None)
    _same(expected, answer)
    assert answer.json()["errors"][0]["message"] == "Unexpected error."
    assert answer.json()["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert b"secret detail" not in answer.content


def test_the_plan_book_is_bounded_by_the_memory_of_its_documents() -> None:
    from graphql import parse

    from gateway.schema import build_schema
    from gateway.schema.compiled.plan import PlanBook
    from gateway.schema.validation_cache import charge

    documents = [f"{FIRST_MUTATION}\n# {i}" for i in range(6)]
    book = PlanBook(maxsize=100, max_bytes=charge(len(documents[0]) + 10) * 8)
    book.schema = build_schema()
    for document in documents:
        book.learn(document, None, parse(document), None)
    assert len(book) == 6 and book.bytes <= book.max_bytes
    book.learn(FIRST_MUTATION + "#" * len(FIRST_MUTATION), None, parse(FIRST_MUTATION), None)
    assert book.find(FIRST_MUTATION + "#" * len(FIRST_MUTATION), None) is None  # too big
    more = [f"{FIRST_MUTATION}\n# more {i}" for i in range(10)]
    for document in more:
        book.learn(document, None, parse(document), None)
    assert book.bytes <= book.max_bytes
    assert book.find(documents[0], None) is None and book.find(more[-1], None) is not None


def _book(app: Any) -> Any:
    """The PlanBook behind the app's /graphql route."""
    return _fast_path(app).book


async def test_the_access_log_names_the_operation_either_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    variables = {"provider": "TRACKLY", "contact": {"phone": "4155552688"}}
    async with gateways() as (_, fast):
        with caplog.at_level("INFO", logger="gateway.access"):
            for _ in range(2):  # strawberry's path, then the plan's
                await _post(fast, UPSERT_FULL, variables, None)
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    assert [getattr(r, "operation", None) for r in lines] == ["Full", "Full"]
    assert [getattr(r, "outcome", None) for r in lines] == ["OK", "OK"]
