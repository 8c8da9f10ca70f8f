"""GraphQL limits: depth, aliases, tokens, batches, introspection; and the validation cache hit."""

from __future__ import annotations

import gc
import logging
import time
import uuid
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import get_introspection_query
from strawberry.extensions import QueryDepthLimiter

from gateway.sandbox import Sandbox
from gateway.schema import build_schema
from gateway.schema.cost import MAX_NESTING
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


async def test_a_10000_contact_bulk_fits_the_default_limits_as_variables_not_inline() -> None:
    # Routed to a provider this config leaves unconfigured: the document passes parsing and
    # every limit, and the answer is typed, without 10,000 contacts reaching a simulator.
    # As variables the document stays 97 tokens. Written inline it is about 32 tokens a
    # contact (320,000, in 1.2 MB): parsing and holding that cost seconds of CPU and hundreds
    # of MB (issue 14), so the default limits refuse it at once: 1.2 MB is more than
    # max_query_length, and its first 100,000 characters more than max_tokens.
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
        by_variables = await client.data(
            BULK,
            {
                "provider": "HEYMARKET",
                "contacts": [{"phone": f"+1415556{i:04d}"} for i in range(10_000)],
            },
        )
        refused = await client.post(inline)
    assert by_variables["bulkUpsertContacts"]["code"] == "PROVIDER_NOT_CONFIGURED"
    assert refused.status_code == 200
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_LONG"
    async with serve(trackly_config(max_query_length=2_000_000)) as client:
        [error] = (await client.post(inline)).json()["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_TOKENS"
    assert "more than 2000 tokens" in error["message"]


async def test_every_legitimate_document_fits_the_default_token_budget_ten_times() -> None:
    # The budget's headroom, as README says: the largest document the gateway's own clients
    # send (GraphiQL's introspection query, 183 tokens) ten times over.
    from gateway.playground.examples import EXAMPLES

    documents = [example.query for examples in EXAMPLES.values() for example in examples]
    documents += [BULK, get_introspection_query(descriptions=True, input_value_deprecation=True)]
    largest = max(token_count(document) for document in documents)
    assert largest * 10 <= QueryLimits().max_tokens


def token_count(document: str) -> int:
    from graphql.language import Lexer, Source, TokenKind

    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


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


async def codes_of(client: GatewayClient, query: str) -> list[str]:
    response = await client.http.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return [error["extensions"]["code"] for error in response.json()["errors"]]


async def test_each_limit_names_itself_in_extensions_code() -> None:
    four_aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(4)) + " }"
    async with sandbox_server(max_query_depth=4, max_complexity=100_000) as client:
        assert await codes_of(client, deep_query(6)) == ["QUERY_TOO_DEEP"]
    async with sandbox_server(
        max_aliases=3, max_tokens=100, max_fields=30, max_complexity=50
    ) as client:
        assert await codes_of(client, four_aliases) == ["TOO_MANY_ALIASES"]
        assert await codes_of(client, "{ " + "__typename " * 200 + "}") == ["TOO_MANY_TOKENS"]
        long_comment = "{ __typename } # " + "x" * 200_000  # one token, 200,000 characters
        assert await codes_of(client, long_comment) == ["QUERY_TOO_LONG"]
        wide = "{ " + " ".join("__typename" for _ in range(40)) + " }"
        assert await codes_of(client, wide) == ["TOO_MANY_FIELDS"]
        # 1 + 10 x 6: `providers` is a list, its selection counted ten times
        heavy = "{ providers { provider configured health { circuit shared rateLimit } } }"
        assert await codes_of(client, heavy) == ["QUERY_TOO_COMPLEX"]
        assert await codes_of(client, "{ nope }") == ["GRAPHQL_VALIDATION_FAILED"]
        assert await codes_of(client, "{ providers {") == ["GRAPHQL_PARSE_FAILED"]


async def test_fragment_spreads_count_each_time_they_are_spread() -> None:
    # Written, the document has 6 fields; executed, `providers` and twice F's five.
    five = "provider configured health { circuit shared }"
    query = f"{{ providers {{ ...F ...F }} }} fragment F on ProviderStatus {{ {five} }}"
    async with sandbox_server(max_fields=10) as client:
        assert await errors_of(client, query) == ["11 fields found. Allowed: 10"]
    async with sandbox_server(max_fields=11) as client:
        assert await errors_of(client, query) == []


def doubling(levels: int) -> str:
    body = " ".join(
        f"fragment F{i} on ProviderStatus {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ providers {{ ...F0 }} }} {body} fragment F{levels} on ProviderStatus {{ provider }}"


async def test_fragments_that_multiply_are_measured_once_each() -> None:
    # 60 levels of `...F ...F`: 2**60 fields, judged by visiting each fragment once.
    async with sandbox_server() as client:
        started = time.perf_counter()
        codes = await codes_of(client, doubling(60))
        elapsed = time.perf_counter() - started
    assert "TOO_MANY_FIELDS" in codes
    assert elapsed < 2, f"{elapsed:.1f}s"  # was exponential: 24 s at 22 levels


def chain(length: int) -> str:
    body = " ".join(f"fragment F{i} on ProviderStatus {{ ...F{i + 1} }}" for i in range(length))
    return f"{{ providers {{ ...F0 }} }} {body} fragment F{length} on ProviderStatus {{ provider }}"


async def test_a_fragment_chain_of_any_length_is_refused_without_recursion(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with sandbox_server(max_tokens=1_000_000, max_query_length=10_000_000) as client:
        for length in (MAX_NESTING, 5_000):
            response = await client.http.post("/graphql", json={"query": chain(length)})
            [error] = response.json()["errors"]
            assert error["extensions"]["code"] == "NESTING_TOO_DEEP", error
        assert await errors_of(client, chain(MAX_NESTING - 3)) == []
    logged = "\n".join(record.getMessage() + str(record.exc_info) for record in caplog.records)
    assert "recursion" not in logged and "Traceback" not in logged
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_fragment_cycle_is_refused_as_graphql_would_refuse_it() -> None:
    query = (
        "{ providers { ...A } } fragment A on ProviderStatus { provider ...B } "
        "fragment B on ProviderStatus { configured ...C } fragment C on ProviderStatus { ...A }"
    )
    async with sandbox_server() as client:
        response = await client.http.post("/graphql", json={"query": query})
    [error] = response.json()["errors"]
    assert error == {
        "message": "Cannot spread fragment 'A' within itself via 'B', 'C'.",
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }


async def test_the_default_complexity_lets_every_playground_example_through() -> None:
    from gateway.playground.examples import EXAMPLES

    async with sandbox_server() as client:
        for examples in EXAMPLES.values():
            for example in examples:
                body = {"query": example.query, "variables": example.variables}
                if example.query.startswith("subscription"):
                    # Streamed; its id is a placeholder, so the one answer is the job's absence.
                    streamed = await client.http.post(
                        "/graphql", json=body, headers={"accept": "text/event-stream"}
                    )
                    assert streamed.status_code == 200, (example.name, streamed.text)
                    assert '"code":"NOT_FOUND"' in streamed.text.replace(" ", ""), streamed.text
                    continue
                response = await client.http.post("/graphql", json=body)
                assert "errors" not in response.json(), (example.name, response.text)


async def test_a_refused_document_is_not_kept_alive_by_reference_cycles() -> None:
    # A refused request's error used to hold, through its traceback, the frame that held the
    # request: a cycle only a (rare, tuned) cyclic collection frees. 400 KB refused documents
    # kept 100 MB that way.
    big = "mutation { x(list: [" + ",".join(["1"] * 100_000) + "]) { __typename } }"
    async with sandbox_server() as client:
        gc.collect()
        gc.disable()
        try:
            response = await client.http.post("/graphql", json={"query": big})
            del response
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            held = [o for o in gc.garbage if isinstance(o, str | bytes) and len(o) > 100_000]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert held == []


async def test_a_document_longer_than_max_query_length_is_refused_without_reading_it() -> None:
    # A string or a comment is one token, lexed a character at a time (130 ms a megabyte);
    # and graphql-core's error would locate itself by scanning the whole text for newlines.
    async with sandbox_server(max_query_length=1_000) as client:
        fits = await errors_of(client, "{ __typename } # " + "x" * 900)
        started = time.perf_counter()
        refused = await client.http.post(
            "/graphql", json={"query": "{ __typename } # " + "x" * 8_000_000}
        )
        elapsed = time.perf_counter() - started
    assert fits == []
    [error] = refused.json()["errors"]
    assert (
        error["message"]
        == "Syntax Error: Source contains more than 1000 code points. Parsing aborted."
    )
    assert error["extensions"]["code"] == "QUERY_TOO_LONG"
    assert elapsed < 2
