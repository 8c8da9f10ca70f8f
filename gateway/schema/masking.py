"""Which GraphQL errors are bugs to mask, shared by strawberry's path and the fast path."""

from __future__ import annotations

from graphql import GraphQLError


def is_unexpected(error: GraphQLError) -> bool:
    """Mask bugs (an exception under a resolver); keep GraphQL's own errors readable."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
