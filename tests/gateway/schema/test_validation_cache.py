"""Validation results are reused for the same parsed document, and only for it."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, specified_rules

from gateway.schema import build_schema
from gateway.schema import validation_cache as cache_module
from gateway.schema.validation_cache import ValidationResults

QUERY = "query { providers { provider } }"
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
    a, b = parse(QUERY), parse(BAD)
    results.errors(schema, a, RULES)
    results.errors(schema, b, RULES)
    results.errors(schema, a, RULES)
    assert counted == [a, b, a]
