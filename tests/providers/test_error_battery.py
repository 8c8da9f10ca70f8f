"""One battery for every provider: each answer of its table (and the answers no provider
documents, and every transport failure), through each mutation, as the client sees it.

The rules the battery applies are the contract's, the same for every provider:
- upsertContact answers the member itself, its field under `contact.`;
- updateContactFields answers the member, or the nearest one its union has (a NotSendable
  answer is a ValidationError there), its field under `contact.` unless it is a custom field;
- bulkUpsertContacts answers a refusal of the account (credentials, payment, product) once, as
  the mutation's answer; any other failure is an error at the contact's index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from providers.model import ProviderName
from providers.registry import REGISTRY
from tests.providers.battery import (
    AUTH,
    CONF,
    DOWN,
    MUTATIONS,
    TRANSPORT_FAILURES,
    UNREADABLE_ANSWERS,
    ErrorCase,
    ProviderCases,
    V,
    registered,
    uncovered_rows,
)
from tests.support import BULK, UPDATE, UPSERT, serve

CASES = registered()
QUERIES = {"upsert": UPSERT, "update": UPDATE, "bulk": BULK}
RESULTS = {"upsert": "upsertContact", "update": "updateContactFields", "bulk": "bulkUpsertContacts"}
UPDATE_MEMBERS = {V, "NotFoundError", AUTH, CONF, "RateLimitedError", DOWN}


def _provided() -> list[ProviderCases]:
    return [cases for cases in CASES.values() if cases is not None]


def _answers() -> list[Any]:
    return [
        pytest.param(cases, case, mutation, id=f"{cases.provider.value}-{mutation}-{case.id}")
        for cases in _provided()
        for case in [*cases.answers, *UNREADABLE_ANSWERS]
        for mutation in MUTATIONS
    ]


def _failures() -> list[Any]:
    return [
        pytest.param(
            cases, fail, code, mutation, id=f"{cases.provider.value}-{mutation}-{code}-{n}"
        )
        for cases in _provided()
        for n, (fail, code) in enumerate(TRANSPORT_FAILURES)
        for mutation in MUTATIONS
    ]


def test_every_registered_provider_supplies_cases_for_every_mutation() -> None:
    assert set(CASES) == set(REGISTRY)
    missing = [name.value for name, cases in CASES.items() if cases is None]
    assert not missing, f"providers without tests/providers/<name>/cases.py CASES: {missing}"
    for cases in _provided():
        assert set(cases.flows) == set(MUTATIONS), cases.provider
        assert cases.answers, cases.provider


@pytest.mark.parametrize("cases", _provided(), ids=lambda c: c.provider.value)
def test_every_row_of_each_error_table_has_an_answer_that_lands_on_it(
    cases: ProviderCases,
) -> None:
    missing = uncovered_rows(cases)
    assert not missing, f"{cases.provider.value}: table rows without a battery case: {missing}"


@pytest.mark.parametrize(("cases", "case", "mutation"), _answers())
async def test_each_answer_reaches_the_client_as_its_union_member(
    cases: ProviderCases, case: ErrorCase, mutation: str
) -> None:
    result = await _run(cases, mutation, lambda: case.response())
    _assert_error(result, case, mutation, cases.provider)


@pytest.mark.parametrize(("cases", "fail", "code", "mutation"), _failures())
async def test_each_transport_failure_is_typed_and_retryable(
    cases: ProviderCases, fail: Callable[[], Exception], code: str, mutation: str
) -> None:
    def raise_it() -> httpx.Response:
        raise fail()

    result = await _run(cases, mutation, raise_it)
    error = _error_of(result, mutation, top_level=False)
    assert (error["__typename"], error["code"], error["retryable"]) == (DOWN, code, True), result
    assert (error["origin"], error["providerCode"]) == ("TRANSPORT", None), result


async def _run(
    cases: ProviderCases, mutation: str, answer: Callable[[], httpx.Response]
) -> dict[str, Any]:
    flow = cases.flows[mutation]

    def handler(request: httpx.Request) -> httpx.Response:
        return answer() if flow.target(request) else flow.ordinary(request)

    transports = {cases.provider: httpx.MockTransport(handler)}
    async with serve(cases.config(), transports=transports) as gw:
        data = await gw.data(QUERIES[mutation], flow.variables)
    return data[RESULTS[mutation]]  # type: ignore[no-any-return]


def _error_of(result: dict[str, Any], mutation: str, *, top_level: bool) -> dict[str, Any]:
    if mutation != "bulk" or top_level:
        return result
    assert result["__typename"] == "BulkUpsertContactsSuccess", result
    assert (result["successCount"], result["errorCount"]) == (0, 1), result
    [item] = result["errors"]
    assert item["index"] == 0, result
    return item["error"]  # type: ignore[no-any-return]


def _assert_error(
    result: dict[str, Any], case: ErrorCase, mutation: str, provider: ProviderName
) -> None:
    member, prefix = case.member, "contact"
    if mutation == "update":
        if member not in UPDATE_MEMBERS:
            member = DOWN if case.retryable else V
        if (case.field or "").startswith("customFields"):
            prefix = ""
    account = member in (AUTH, CONF)
    if mutation == "bulk":
        prefix = "" if account else "contacts[0]"
    error = _error_of(result, mutation, top_level=account)
    assert error["__typename"] == member, (case.id, result)
    assert error["code"] == case.code, (case.id, result)
    assert error["provider"] == provider.name, (case.id, result)
    assert error["providerCode"] == case.provider_code, (case.id, result)
    assert error["retryable"] is case.retryable, (case.id, result)
    assert error["origin"] == case.origin, (case.id, result)
    assert error["message"], case.id
    if case.field is not None:
        expected = f"{prefix}.{case.field}" if prefix else case.field
        assert error["field"] == expected, (case.id, result)
    if case.retry_after is not None:
        assert error["retryAfterSeconds"] == case.retry_after, (case.id, result)
