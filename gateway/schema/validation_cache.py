"""Validate each parsed query once, keyed by the document's identity rather than its hash.

strawberry's ValidationCache keys an lru_cache on the DocumentNode, and graphql-core does not
cache a node's hash: every request walks the whole query tree to hash it (about 3% of an
upsert's CPU under the profiler). ParserCache already hands back the same DocumentNode object
for the same query text, so that object's identity is the key here, checked against the
document kept in the entry so a recycled id can never match.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

_Key = tuple[int, int, tuple[Any, ...]]


class ValidationResults:
    """A bounded LRU of validation errors per (schema, document, rules)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[_Key, tuple[DocumentNode, list[GraphQLError]]] = OrderedDict()

    def errors(
        self, schema: GraphQLSchema, document: DocumentNode, rules: Sequence[Any]
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), tuple(rules))
        hit = self._entries.get(key)
        if hit is not None and hit[0] is document:
            self._entries.move_to_end(key)
            return hit[1]
        errors = validate_document(schema, document, tuple(rules))
        self._entries[key] = (document, errors)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return errors


class DocumentValidationCache(SchemaExtension):
    """Pass as `lambda: DocumentValidationCache(results)`, one `results` per schema."""

    def __init__(self, results: ValidationResults) -> None:
        super().__init__()
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None  # strawberry validates parsed documents
        context.pre_execution_errors = self.results.errors(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield
