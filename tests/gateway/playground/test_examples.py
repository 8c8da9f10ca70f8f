"""The playground's examples are data: each must fit the schema and do what its tab says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate
from graphql.execution.values import get_variable_values

from gateway.playground import EXAMPLES, HINTS, Example
from gateway.playground.examples import BULK, PROGRESS, UPDATE, UPSERT
from gateway.sandbox import Sandbox
from gateway.schema import build_schema
from providers.model import ProviderName
from tests.support import serve

SCHEMA: GraphQLSchema = build_schema()._schema
ALL = [(name, example) for name, examples in EXAMPLES.items() for example in examples]


def test_every_provider_has_a_place_for_examples_and_hints() -> None:
    assert set(EXAMPLES) == set(ProviderName) == set(HINTS)


def test_example_names_are_unique_so_each_tab_has_its_own_title() -> None:
    names = [example.name for _, example in ALL]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("provider", "example"), ALL, ids=[e.name for _, e in ALL])
def test_each_example_is_valid_against_the_schema(provider: ProviderName, example: Example) -> None:
    document = parse(example.query)
    assert validate(SCHEMA, document) == []
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert operation.name is not None and operation.name.value == example.name
    coerced = get_variable_values(
        SCHEMA, operation.variable_definitions or (), dict(example.variables)
    )
    assert not isinstance(coerced, list), [error.message for error in coerced]
    if example.document != PROGRESS:  # a job's progress is found by the job's id alone
        assert example.variables["provider"] == provider.name


@pytest.mark.parametrize("provider", list(Sandbox().apps))
def test_every_simulated_provider_has_the_three_mutations_and_a_typed_error(
    provider: ProviderName,
) -> None:
    examples = EXAMPLES[provider]
    assert {example.document for example in examples} >= {UPSERT, BULK, UPDATE}
    assert any(not example.expect.endswith("Success") for example in examples)


@pytest.mark.parametrize("provider", list(Sandbox().apps))
async def test_examples_give_their_expected_answer_against_the_sandbox_in_tab_order(
    provider: ProviderName,
) -> None:
    sandbox = Sandbox()
    answers: dict[str, dict[str, Any]] = {}
    # Subscriptions (an import's progress) run over the WebSocket: tests/gateway/playground/
    # test_browser.py runs that tab in a browser.
    examples = [example for example in EXAMPLES[provider] if example.document != PROGRESS]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        for example in examples:
            data = await gw.data(example.query, example.variables)
            (answers[example.name],) = data.values()
    got = {name: answer["__typename"] for name, answer in answers.items()}
    assert got == {example.name: example.expect for example in examples}


async def test_the_trackly_bulk_example_shows_one_item_error_among_successes() -> None:
    sandbox = Sandbox()
    (bulk,) = [e for e in EXAMPLES[ProviderName.TRACKLY] if e.document == BULK]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        result = (await gw.data(bulk.query, bulk.variables))["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (2, 1)
    assert result["errors"][0]["index"] == 2
    assert result["errors"][0]["error"]["__typename"] == "NotSendableError"


@pytest.mark.parametrize("provider", list(Sandbox().apps))
async def test_each_providers_dry_run_example_shows_the_exact_request_and_writes_nothing(
    provider: ProviderName,
) -> None:
    sandbox = Sandbox()
    (dry,) = [e for e in EXAMPLES[provider] if e.variables.get("validateOnly") is True]
    real = next(e for e in EXAMPLES[provider] if e.name != dry.name and e.document == dry.document)
    simulator = sandbox.simulators[provider]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        (answer,) = (await gw.data(dry.query, dry.variables)).values()
        assert simulator.contacts == {}  # nothing was created
        mark = len(simulator.received)
        await gw.data(real.query, real.variables)
    assert answer["dryRun"] is True
    (request,) = answer["preview"]
    sent = [r for r in simulator.received[mark:] if r.method == request["method"]]
    assert (sent[-1].target, json.loads(sent[-1].body)) == (request["path"], request["body"])
