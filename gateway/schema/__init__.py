"""The GraphQL schema: contract names, the error union, caches and error masking."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache
from strawberry.schema.config import StrawberryConfig

from gateway.schema.errors import ALL_MEMBERS
from gateway.schema.mutations import Mutation
from gateway.schema.query import Query
from gateway.schema.scalars import SCALAR_MAP
from gateway.schema.validation_cache import DocumentValidationCache, ValidationResults

CACHE_SIZE = 512


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask bugs (an exception under a resolver); keep GraphQL's own errors readable."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def build_schema() -> strawberry.Schema:
    validated = ValidationResults(maxsize=CACHE_SIZE)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=list(ALL_MEMBERS),
        extensions=[
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: DocumentValidationCache(validated),
            lambda: MaskErrors(should_mask_error=_is_unexpected),
        ],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
