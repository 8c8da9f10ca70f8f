"""How much one GraphQL request may ask for: depth, aliases, tokens, batch size, introspection.

The rule classes are made once, when the schema is built. strawberry's QueryDepthLimiter and
MaxAliasesLimiter make a new rule class each time they are constructed, and extensions are now
constructed per request, so passing them the way strawberry's docs ask puts a new class into
the validation-rule tuple of every request: ValidationCache keys on that tuple and never hits
(strawberry issue 4635). One stable list handed to a per-request AddValidationRules keeps the
key, and so the cache hit, identical from one request to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
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
    ValidationCache,
)
from strawberry.schema.config import BatchingConfig


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
        max_fields = self.max_fields
        return lambda: BudgetedValidationCache(cache_size, max_fields)

    def batching(self) -> BatchingConfig | None:
        return {"max_operations": self.max_batch} if self.max_batch > 1 else None


class BudgetedValidationCache(ValidationCache):
    """ValidationCache that first refuses documents with too many fields.

    graphql-core's OverlappingFieldsCanBeMerged compares fields pairwise: a few hundred copies
    of `providers { provider }` in one document cost seconds of CPU however few tokens they
    use. Counting fields is linear, so it runs first and the costly rules never see such a
    document. The count is cached per document, like the validation itself.
    """

    def __init__(self, maxsize: int, max_fields: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_fields = max_fields

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        fields = count_fields(document) if document is not None else 0
        if fields > self.max_fields:
            message = f"{fields} fields found. Allowed: {self.max_fields}"
            self.execution_context.pre_execution_errors = [GraphQLError(message)]
            yield
            return
        yield from super().on_validate()


@lru_cache(maxsize=512)
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
