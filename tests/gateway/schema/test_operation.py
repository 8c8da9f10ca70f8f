"""Which operation runs: the only one, or the one operationName names (the GraphQL spec's
GetOperation); several without a name is a request error, on every path."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.sandbox import Sandbox
from gateway.schema import build_schema
from gateway.schema.operation import OperationNameRequired
from tests.support import GatewayClient, serve

TWO = (
    'mutation Write { upsertContact(provider: TRACKLY, contact: {phone: "+14155552671"}) '
    "{ __typename } } "
    "query Read { providers { provider } }"
)


async def post(client: GatewayClient, body: Any) -> tuple[int, Any]:
    response = await client.http.post("/graphql", json=body)
    return response.status_code, response.json()


def assert_resolution_failure(status: int, answer: Any, message: str) -> None:
    assert status == 400, answer
    assert answer["errors"] == [
        {"message": message, "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"}}
    ]


async def test_several_operations_without_a_name_run_none_of_them() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        for query in (TWO, "query A { __typename } query B { __typename }"):
            status, answer = await post(client, {"query": query})
            assert_resolution_failure(
                status, answer, "Must provide operation name if query contains multiple operations."
            )
        status, _ = await post(client, {"query": TWO, "operationName": None})
        assert status == 400
    assert sandbox.trackly.requests == []  # the first operation, a mutation, never ran


async def test_operation_name_picks_one_of_several() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        _, read = await post(client, {"query": TWO, "operationName": "Read"})
        assert sandbox.trackly.requests == []
        _, write = await post(client, {"query": TWO, "operationName": "Write"})
    assert read == {
        "data": {"providers": [{"provider": n} for n in ("TRACKLY", "HEYMARKET", "CAMPAIGNLARK")]}
    }
    assert write == {"data": {"upsertContact": {"__typename": "UpsertContactSuccess"}}}


async def test_a_name_that_names_no_operation_is_refused_the_same_way() -> None:
    async with serve(Sandbox().config()) as client:
        status, answer = await post(client, {"query": TWO, "operationName": "Nope"})
    assert_resolution_failure(status, answer, 'Unknown operation named "Nope".')


async def test_one_operation_runs_with_or_without_its_name() -> None:
    async with serve(Sandbox().config()) as client:
        for body in (
            {"query": "query Only { __typename }"},
            {"query": "query Only { __typename }", "operationName": "Only"},
            {"query": "{ ...F } fragment F on Query { __typename }"},
        ):
            assert await post(client, body) == (200, {"data": {"__typename": "Query"}})


@pytest.mark.parametrize("method", ["GET", "batch"])
async def test_get_requests_and_batches_choose_as_posts_do(method: str) -> None:
    query = "query A { __typename } query B { __typename }"
    async with serve(Sandbox().config()) as client:
        if method == "GET":
            response = await client.http.get("/graphql", params={"query": query})
        else:
            batch = [{"query": "{ __typename }"}, {"query": query}]
            response = await client.http.post("/graphql", json=batch)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"


async def test_the_schema_itself_refuses_to_guess() -> None:
    schema = build_schema()
    with pytest.raises(OperationNameRequired):
        await schema.execute("query A { __typename } query B { __typename }")
    result = await schema.execute(
        "query A { __typename } query B { __typename }", operation_name="B"
    )
    assert result.errors is None and result.data == {"__typename": "Query"}
