"""How much one GraphQL request may ask for: depth, aliases, tokens, batch size, introspection.

The rule classes are made once, when the schema is built. strawberry's QueryDepthLimiter and
MaxAliasesLimiter make a new rule class each time they are constructed, and extensions are now
constructed per request, so passing them the way strawberry's docs ask puts a new class into
the validation-rule tuple of every request: a validation cache keyed on that tuple (strawberry's
ValidationCache, gateway.schema.validation_cache too) never hits (strawberry issue 4635). One
stable list handed to a per-request AddValidationRules keeps the key, and the hit, the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    MaxIntrospectionDepthRule,
    Node,
    NoSchemaIntrospectionCustomRule,
    specified_rules,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import BatchingConfig

from gateway.schema.validation_cache import DocumentValidationCache, ValidationResults


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 500_000
    max_batch: int = 5
    max_fields: int = 150
    introspection: bool = True

    def validation_rules(self) -> list[type[ASTValidationRule]]:
        # The depth limiter skips `__schema`/`__type`; cyclic introspection such as
        # `fields { type { fields { type ...` is refused by graphql-core's
        # MaxIntrospectionDepthRule (one of its specified rules since 3.3, so already on),
        # which GraphiQL's own introspection query passes.
        rules: list[type[ASTValidationRule]] = [
            *QueryDepthLimiter(max_depth=self.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=self.max_aliases).validation_rules,
        ]
        if MaxIntrospectionDepthRule not in specified_rules:  # an older graphql-core
            rules.append(MaxIntrospectionDepthRule)
        if not self.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        return rules

    def extensions(self) -> Sequence[Callable[[], SchemaExtension]]:
        """Per-request extension factories; the rule list inside them is built here, once."""
        rules = self.validation_rules()
        tokens = self.max_tokens
        return [
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=tokens),
        ]

    def validation(self, cache_size: int) -> Callable[[], SchemaExtension]:
        """The validation step: one result cache per schema, with the field budget in front."""
        results = BudgetedValidationResults(cache_size, self.max_fields)
        return lambda: DocumentValidationCache(results)

    def batching(self) -> BatchingConfig | None:
        return {"max_operations": self.max_batch} if self.max_batch > 1 else None


class BudgetedValidationResults(ValidationResults):
    """Validation results that first refuse, on a cache miss, documents with too many fields.

    graphql-core's OverlappingFieldsCanBeMerged compares fields pairwise: a few hundred copies
    of `providers { provider }` in one document cost seconds of CPU however few tokens they
    use. Counting fields is linear, so it runs before validation and the costly rules never
    see such a document; a cache hit (a document already validated) skips the count too.
    """

    def __init__(self, maxsize: int, max_fields: int) -> None:
        super().__init__(maxsize)
        self.max_fields = max_fields

    def errors(
        self, schema: GraphQLSchema, document: DocumentNode, rules: Sequence[Any]
    ) -> list[GraphQLError]:
        hit = self._entries.get((id(schema), id(document), tuple(rules)))
        if hit is None or hit[0] is not document:
            fields = count_fields(document)
            if fields > self.max_fields:
                return [GraphQLError(f"{fields} fields found. Allowed: {self.max_fields}")]
        return super().errors(schema, document, rules)


def count_fields(document: DocumentNode) -> int:
    """Field selections written in the document (fragments counted once, where written)."""
    count = 0
    stack: list[Node] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            count += 1
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return count
