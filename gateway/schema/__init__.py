"""The GraphQL schema: contract names, the error union, caches and error masking."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.logging import StrawberryLogger

from gateway.schema.errors import ALL_MEMBERS
from gateway.schema.imports import ImportMutation, ImportQuery, Subscription
from gateway.schema.limits import QueryLimits
from gateway.schema.masking import GatewayErrors, is_unexpected
from gateway.schema.mutations import Mutation as ContactMutation
from gateway.schema.operation import requested_operation
from gateway.schema.query import Query as ContactQuery
from gateway.schema.scalars import SCALAR_MAP

# Contacts and imports: each module keeps its own fields, the schema has one root of each.
Query = merge_types("Query", (ContactQuery, ImportQuery))
Mutation = merge_types("Mutation", (ContactMutation, ImportMutation))

log = logging.getLogger("gateway.graphql")


class GatewaySchema(strawberry.Schema):
    """strawberry's Schema, with the GraphQL errors it logs sorted by who is at fault, and the
    operationName each request gave kept for the operation's choice (gateway.schema.operation).
    """

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        if allowed_operation_types is not None:
            # A subscription streams (schema.subscribe over a WebSocket, schema.stream for SSE
            # and multipart); strawberry's view lets one through to execute() on a plain POST,
            # where its resolver's generator is no value (masked as "Unexpected error."). Not
            # allowed, it is the 400 the view gives any operation its method does not allow.
            allowed_operation_types = set(allowed_operation_types) - {OperationType.SUBSCRIPTION}
        token = requested_operation.set(operation_name)
        try:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        finally:
            requested_operation.reset(token)

    def execute_sync(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        token = requested_operation.set(operation_name)
        try:
            return super().execute_sync(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        finally:
            requested_operation.reset(token)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if self.config.disable_field_suggestions:
                # strawberry strips them from "Cannot query field" only; arguments, enum
                # values, input fields and type names make suggestions too.
                error.message = error.message.split(" Did you mean", 1)[0]
            if is_unexpected(error):  # a bug: strawberry's own record, traceback included
                StrawberryLogger.error(error, execution_context)
            else:  # the client's mistake: worth a line, not an ERROR with a stack
                log.info("GraphQL request refused: %s", error.message)


def build_schema(
    limits: QueryLimits | None = None,
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    """`extensions` (the gateway's telemetry) run outermost, so they see every outcome."""
    limits = limits or QueryLimits()
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(ALL_MEMBERS),
        extensions=[
            *extensions,
            *limits.extensions(),
            GatewayErrors,  # masks bugs, then gives every error its extensions.code
        ],
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP,
            # Suggestions ("Did you mean ...?") would leak the schema introspection hides.
            disable_field_suggestions=not limits.introspection,
            batching_config=limits.batching(),
        ),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
