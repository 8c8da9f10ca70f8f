"""Which operation of a document a request runs, as the GraphQL spec says (GetOperation): the
only one, or the one `operationName` names; a document of several operations without a name
is a request error, not its first operation.

strawberry takes the first operation when no name is given (its ExecutionContext's
`operation_name` falls back to it) and hands that name to graphql-core, which so never sees
the ambiguity. The name the client gave is recorded by GatewaySchema.execute, before strawberry
fills it in; the validation step checks the document against it (gateway.schema.limits).
A name that names no operation is strawberry's own 400 ("Unknown operation named ..."); this
one is answered the same way: HTTP 400, `extensions.code` OPERATION_RESOLUTION_FAILURE.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence

from graphql import DefinitionNode, OperationDefinitionNode
from strawberry.schema.exceptions import CannotGetOperationTypeError

# The operationName of the request being executed, as the client gave it (None: none given).
requested_operation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "requested_operation", default=None
)


class OperationNameRequired(CannotGetOperationTypeError):
    """Several operations and no operationName: strawberry's view answers it with HTTP 400."""

    def __init__(self) -> None:
        super().__init__(None)

    def as_http_error_reason(self) -> str:
        return "Must provide operation name if query contains multiple operations."


def check_operation(definitions: Sequence[DefinitionNode]) -> None:
    """Raise OperationNameRequired when the request's document cannot say which to run."""
    if requested_operation.get() is not None:
        return  # strawberry has already refused a name that names no operation
    operations = sum(isinstance(d, OperationDefinitionNode) for d in definitions)
    if operations > 1:
        raise OperationNameRequired
