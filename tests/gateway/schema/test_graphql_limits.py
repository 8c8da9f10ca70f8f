"""GraphQL limits: depth, aliases, tokens, batches, introspection; and the validation cache hit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import get_introspection_query
from strawberry.extensions import QueryDepthLimiter

from gateway.sandbox import Sandbox
from gateway.schema import build_schema
from gateway.schema.limits import QueryLimits
from tests.support import BULK, GatewayClient, serve, trackly_config

CYCLIC_INTROSPECTION = (
    "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
)


def sandbox_server(**gateway: Any) -> Any:
    from gateway.config import GatewaySettings

    sandbox = Sandbox()
    return serve(sandbox.config(GatewaySettings(**gateway)), sandbox=sandbox)


async def errors_of(client: GatewayClient, query: str) -> list[str]:
    response = await client.http.post("/graphql", json={"query": query})
    assert response.status_code in (200, 400), response.text
    return [error["message"] for error in response.json().get("errors", [])]


def deep_query(depth: int) -> str:
    # Each level nests through inline fragments, which the depth count sees through.
    inner = "code"
    for _ in range(depth - 3):
        inner = f"... on BulkUpsertContactsSuccess {{ errors {{ error {{ {inner} }} }} }}"
    return f"mutation {{ bulkUpsertContacts(provider: TRACKLY, contacts: []) {{ {inner} }} }}"


async def test_graphiql_introspection_query_passes_the_limits() -> None:
    async with sandbox_server() as client:
        query = get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
        )
        data = await client.data(query)
    assert data["__schema"]["mutationType"]["name"] == "Mutation"


async def test_cyclic_introspection_is_refused() -> None:
    async with sandbox_server() as client:
        errors = await errors_of(client, CYCLIC_INTROSPECTION)
    assert "Maximum introspection depth exceeded" in errors


async def test_a_query_deeper_than_max_query_depth_is_refused() -> None:
    async with sandbox_server(max_query_depth=4) as client:
        assert await errors_of(client, deep_query(4)) == []
        errors = await errors_of(client, deep_query(6))
    assert any("exceeds maximum operation depth of 4" in e for e in errors), errors


async def test_too_many_aliases_are_refused() -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(4)) + " }"
    async with sandbox_server(max_aliases=3) as client:
        errors = await errors_of(client, query)
    assert errors == ["4 aliases found. Allowed: 3"]


async def test_too_many_tokens_are_refused() -> None:
    query = "{ " + "__typename " * 200 + "}"
    async with sandbox_server(max_tokens=100) as client:
        errors = await errors_of(client, query)
    assert any("more than 100 tokens" in e for e in errors), errors


async def test_batches_are_capped_at_max_batch() -> None:
    async with sandbox_server(max_batch=2) as client:
        ok = await client.http.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
        over = await client.http.post("/graphql", json=[{"query": "{ __typename }"}] * 3)
    assert ok.status_code == 200
    assert [item["data"] for item in ok.json()] == [{"__typename": "Query"}] * 2
    assert over.status_code == 400
    assert over.json()["errors"][0]["message"] == "Too many operations"


async def test_batching_off_when_max_batch_is_1() -> None:
    async with sandbox_server(max_batch=1) as client:
        response = await client.http.post("/graphql", json=[{"query": "{ __typename }"}])
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Batching is not enabled"


async def test_introspection_off_refuses_it_and_gives_no_field_suggestions() -> None:
    async with sandbox_server(introspection=False) as client:
        refused = await errors_of(client, "{ __schema { queryType { name } } }")
        typo = await errors_of(client, "{ provider { provider } }")
    assert any("introspection has been disabled" in e for e in refused), refused
    assert typo and not any("Did you mean" in e for e in typo), typo


@pytest.mark.parametrize(
    "query",
    [
        "{ provider { provider } }",
        'mutation { upsertContact(provider: TRACKLI, contact: {phone: "1"}) { __typename } }',
        'mutation { upsertContact(provider: TRACKLY, contact: {phon: "1"}) { __typename } }',
        'mutation { upsertContact(providr: TRACKLY, contact: {phone: "1"}) { __typename } }',
        "mutation { upsertContact(provider: TRACKLY, contact: {}) { ... on Contac { id } } }",
    ],
)
async def test_no_suggestion_of_any_kind_when_introspection_is_off(query: str) -> None:
    async with sandbox_server(introspection=False) as client:
        errors = await errors_of(client, query)
    assert errors and not any("Did you mean" in e for e in errors), errors
    async with sandbox_server() as client:
        assert any("Did you mean" in e for e in await errors_of(client, query))


async def test_field_suggestions_stay_on_while_introspection_is_on() -> None:
    async with sandbox_server() as client:
        typo = await errors_of(client, "{ provider { provider } }")
    assert any("Did you mean" in e for e in typo), typo


async def test_a_10000_contact_bulk_fits_inside_the_default_limits() -> None:
    # Routed to a provider this config leaves unconfigured: the document passes parsing and
    # every limit, and the answer is typed, without 10,000 contacts reaching a simulator.
    # About 32 tokens a contact: 320,000 for the document, under max_tokens' 500,000.
    contacts = ", ".join(
        f'{{phone: "+1415555{i:04d}", email: "c{i}@example.com", firstName: "F", '
        f'tags: ["a", "b"], customFields: {{plan: "gold", n: {i}, vip: true}}}}'
        for i in range(10_000)
    )
    inline = (
        f"mutation {{ bulkUpsertContacts(provider: HEYMARKET, contacts: [{contacts}]) "
        "{ __typename ... on Error { code } } }"
    )
    async with serve(trackly_config()) as client:
        data = await client.data(inline)
        by_variables = await client.data(
            BULK,
            {
                "provider": "HEYMARKET",
                "contacts": [{"phone": f"+1415556{i:04d}"} for i in range(10_000)],
            },
        )
    for answer in (data, by_variables):
        assert answer["bulkUpsertContacts"]["code"] == "PROVIDER_NOT_CONFIGURED"


class CountingValidate:
    def __init__(self) -> None:
        self.calls = 0
        self.real = strawberry_schema.validate  # type: ignore[attr-defined]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.real(*args, **kwargs)


@pytest.fixture
def validate_calls(monkeypatch: pytest.MonkeyPatch) -> CountingValidate:
    counter = CountingValidate()
    monkeypatch.setattr(strawberry_schema, "validate", counter)
    return counter


async def test_validation_cache_hits_with_the_limits_on(validate_calls: CountingValidate) -> None:
    schema = build_schema(QueryLimits(max_depth=5, max_aliases=2, max_tokens=500))
    query = f"query Unique{uuid.uuid4().hex} {{ __typename }}"  # new to the shared LRU cache
    for _ in range(3):
        result = await schema.execute(query)
        assert result.errors is None
    assert validate_calls.calls == 1


async def test_limiters_built_per_request_as_documented_miss_the_cache(
    validate_calls: CountingValidate,
) -> None:
    # The control for the test above: strawberry issue 4635's way makes every request validate.
    import strawberry
    from strawberry.extensions import ValidationCache

    from gateway.schema.query import Query

    schema = strawberry.Schema(
        query=Query,
        extensions=[lambda: QueryDepthLimiter(max_depth=5), lambda: ValidationCache(maxsize=8)],
    )
    query = f"query Unique{uuid.uuid4().hex} {{ __typename }}"
    for _ in range(3):
        await schema.execute(query)
    assert validate_calls.calls == 3


async def test_a_document_with_too_many_fields_is_refused_before_the_costly_rules() -> None:
    # Repeated identical fields make OverlappingFieldsCanBeMerged quadratic: refused first.
    wide = "{ " + " ".join("providers { provider }" for _ in range(20)) + " }"
    async with sandbox_server(max_fields=30) as client:
        errors = await errors_of(client, wide)
        fine = await errors_of(client, "{ providers { provider configured } }")
    assert errors == ["40 fields found. Allowed: 30"]
    assert fine == []
