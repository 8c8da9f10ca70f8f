"""How much one GraphQL request may ask for: depth, aliases, tokens, batch size, introspection.

The rule classes are made once, when the schema is built. strawberry's QueryDepthLimiter and
MaxAliasesLimiter make a new rule class each time they are constructed, and extensions are now
constructed per request, so passing them the way strawberry's docs ask puts a new class into
the validation-rule tuple of every request: ValidationCache keys on that tuple and never hits
(strawberry issue 4635). One stable list handed to a per-request AddValidationRules keeps the
key, and so the cache hit, identical from one request to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    MaxIntrospectionDepthRule,
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


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 300_000
    max_batch: int = 5
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

    def batching(self) -> BatchingConfig | None:
        return {"max_operations": self.max_batch} if self.max_batch > 1 else None
