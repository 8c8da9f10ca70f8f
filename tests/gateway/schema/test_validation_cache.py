"""Validation results are reused for the same parsed document, and only for it."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, specified_rules

from gateway.schema import build_schema
from gateway.schema import validation_cache as cache_module
from gateway.schema.validation_cache import BoundedLRU, DocumentCache, ValidationResults, charge

QUERY = "query { providers { provider } }"
OTHER = "query { providers { configured } }"
RULES = tuple(specified_rules)
BAD = "query { noSuchField }"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = cache_module.validate_document  # type: ignore[attr-defined]

    def counting(*args: Any) -> Any:
        calls.append(args[1])
        return real(*args)

    monkeypatch.setattr(cache_module, "validate_document", counting)
    return calls


def test_the_same_document_is_validated_once(counted: list[Any]) -> None:
    schema = build_schema()._schema
    results = ValidationResults(maxsize=8)
    document = parse(QUERY)
    first = results.errors(schema, document, RULES)
    assert results.errors(schema, document, RULES) is first
    assert len(counted) == 1


def test_another_document_of_the_same_text_or_other_rules_is_validated_anew(
    counted: list[Any],
) -> None:
    schema = build_schema()._schema
    results = ValidationResults(maxsize=8)
    document = parse(BAD)
    assert results.errors(schema, document, RULES)  # the unknown field is reported
    results.errors(schema, parse(BAD), RULES)
    results.errors(schema, document, RULES[:-1])
    assert len(counted) == 3


def test_the_oldest_entry_goes_first_when_full(counted: list[Any]) -> None:
    schema = build_schema()._schema
    results = ValidationResults(maxsize=1)
    a, b = parse(QUERY), parse(OTHER)
    results.errors(schema, a, RULES)
    results.errors(schema, b, RULES)
    results.errors(schema, a, RULES)
    assert counted == [a, b, a]


def test_results_past_the_byte_budget_push_out_the_oldest(counted: list[Any]) -> None:
    schema = build_schema()._schema
    documents = [parse(f"query Q{i} {{ providers {{ provider }} }}") for i in range(9)]
    # room for eight such documents' estimated memory, not nine
    results = ValidationResults(
        maxsize=100, max_bytes=charge(len("query Q0 { providers { provider } }")) * 8
    )
    for document in documents:
        results.errors(schema, document, RULES)
    results.errors(schema, documents[-1], RULES)  # still kept
    results.errors(schema, documents[0], RULES)  # pushed out by the ninth
    assert counted == [*documents, documents[0]]


def test_the_lru_keeps_its_byte_total_and_refuses_one_entry_over_an_eighth() -> None:
    lru: BoundedLRU[str, int] = BoundedLRU(max_entries=10, max_bytes=800)
    for key in "abcd":
        lru.put(key, 1, 100)
    assert (len(lru), lru.bytes) == (4, 400)
    lru.put("big", 1, 101)  # over 800 // 8: never kept
    assert lru.get("big") is None and lru.bytes == 400
    lru.get("a")  # now the most recently used
    for key in "efghij":
        lru.put(key, 1, 100)
    assert lru.bytes <= 800 and lru.get("a") == 1 and lru.get("b") is None


def test_parsed_documents_are_charged_and_dropped_by_their_text() -> None:
    documents = DocumentCache(max_entries=100, max_bytes=charge(100) * 8, max_tokens=1_000)
    small, large = "{ providers { provider } }", "{ " + "__typename " * 20 + "}"
    documents.put(small, parse(small))
    documents.put(large, parse(large))  # 222 characters: more than an eighth of the budget
    assert documents.get(small) is not None and documents.get(large) is None
    assert documents.bytes == charge(len(small))


def test_a_refused_document_is_not_kept(counted: list[Any]) -> None:
    schema = build_schema()._schema
    results = ValidationResults(maxsize=8)
    document = parse(BAD)
    assert results.errors(schema, document, RULES)
    assert results.errors(schema, document, RULES)
    assert len(counted) == 2
