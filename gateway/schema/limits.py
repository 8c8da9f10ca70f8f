"""How much one GraphQL request may ask for, and the steps that hold it to that.

Parsing: one cache of parsed documents per schema, bounded by entries and by (estimated)
bytes, parsing with `max_tokens` and `max_query_length`. Validation: one cache of results per
schema, keyed by the parsed document's identity; on a miss the document is first measured
(gateway.schema.cost: depth, fields, aliases, complexity, nesting, in one pass that visits each
fragment once) and only a document within every limit meets graphql-core's rules, some of
which are quadratic. Then the operation is chosen (gateway.schema.operation).

The rule list is made once per schema: strawberry's own limiters, passed as per-request
factories as its docs ask, put a new rule class into every request's rule tuple, so a cache
keyed on it never hits (strawberry issue 4635).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    ASTValidationRule,
    MaxIntrospectionDepthRule,
    NoSchemaIntrospectionCustomRule,
    specified_rules,
)
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.schema.config import BatchingConfig

from gateway.schema.cost import Budget
from gateway.schema.operation import check_operation
from gateway.schema.validation_cache import DocumentCache, ValidationResults

CACHE_SIZE = 512  # documents kept parsed, and validation results kept, per schema
# What those documents may take, estimated (DocumentCache): about 170 documents of the size of
# the playground's, far more than the few distinct documents clients send.
CACHE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    # The largest legitimate document is GraphiQL's introspection query (183 tokens; the
    # bulk mutation is 97, its 10,000 contacts go in variables): ten times that.
    max_tokens: int = 2_000
    max_batch: int = 5
    # GraphiQL's introspection query executes 232 fields (72 written); a mutation about 30.
    max_fields: int = 300
    max_complexity: int = 1_000
    # Characters: the lexer reads a string or a comment one character at a time (130 ms a MB),
    # however few tokens it makes. A mutation with a few 4,096-character values fits.
    max_query_length: int = 100_000
    introspection: bool = True

    def validation_rules(self) -> list[type[ASTValidationRule]]:
        # Cyclic introspection such as `fields { type { fields { type ...` is refused by
        # graphql-core's MaxIntrospectionDepthRule (one of its specified rules since 3.3, so
        # already on), which GraphiQL's own introspection query passes.
        rules: list[type[ASTValidationRule]] = []
        if MaxIntrospectionDepthRule not in specified_rules:  # an older graphql-core
            rules.append(MaxIntrospectionDepthRule)
        if not self.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        return rules

    def budget(self) -> Budget:
        return Budget(self.max_depth, self.max_fields, self.max_aliases, self.max_complexity)

    def extensions(
        self, cache_size: int = CACHE_SIZE, cache_bytes: int = CACHE_BYTES
    ) -> Sequence[Callable[[], SchemaExtension]]:
        """Per-request extension factories around one schema's caches, made here once."""
        rules = self.validation_rules()
        documents = DocumentCache(cache_size, cache_bytes, self.max_tokens, self.max_query_length)
        results = ValidationResults(cache_size, cache_bytes, self.budget())
        return [
            lambda: AddValidationRules(rules),
            lambda: DocumentChecks(documents, results),
        ]

    def batching(self) -> BatchingConfig | None:
        return {"max_operations": self.max_batch} if self.max_batch > 1 else None


class DocumentChecks(SchemaExtension):
    """Parsing and validation through one schema's caches.

    Parsing: a document seen before comes from the cache; else strawberry parses it (with the
    token limit, reporting a failure its own way). Validation: the cached result for the
    document, else the limits (gateway.schema.cost), then graphql-core's rules; then, for a
    valid document, whether the request says which of its operations to run
    (gateway.schema.operation). Only valid documents are kept: one that is refused is parsed
    and judged again if it comes again, and an attacker's stream of distinct documents
    leaves nothing behind in the caches.

    Keeping refused documents cost more than memory: a parsed document is cyclic (its tokens
    are a linked list), so once pushed out of the cache it waits for the oldest generation's
    collection, which gateway.ops.gc_tuning makes rare: a stream of distinct documents piled
    up until one pass freed 350,000 objects in 270 ms, the event loop held all the while.
    The caches' byte budget (CACHE_BYTES) bounds what any pass can find of them.
    """

    def __init__(self, documents: DocumentCache, results: ValidationResults) -> None:
        super().__init__()
        self.documents = documents
        self.results = results
        self.parsed_now = False

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # graphql-core's own limits, for strawberry's parse of a document not in the cache.
        options = cast(dict[str, Any], context.parse_options)
        options["max_tokens"] = self.documents.max_tokens
        options["max_source_length"] = self.documents.max_length
        if context.query and len(context.query) > self.documents.max_length:
            # Refused all the same (graphql-core's words), but its error locates itself by
            # scanning the text for newlines: 75 ms for 8 MB. One character past is enough.
            context.query = context.query[: self.documents.max_length + 1]
        if context.query:
            context.graphql_document = self.documents.get(context.query)
            self.parsed_now = context.graphql_document is None
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # strawberry validates parsed documents
        schema = context.schema._schema
        errors = self.results.errors(schema, document, context.validation_rules)
        if not errors:
            if self.parsed_now and context.query:
                self.documents.put(context.query, document)
            check_operation(document.definitions)  # a valid document: which operation runs
        context.pre_execution_errors = errors
        yield
