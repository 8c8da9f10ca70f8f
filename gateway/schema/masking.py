"""Which GraphQL errors are bugs to mask, and the `extensions.code` every error carries; shared
by strawberry's path and the compiled fast path, so both answer the same bytes."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors
from strawberry.types.execution import StreamExecutionResult

from gateway.input.unicode import printable
from gateway.schema.codes import Code

UNEXPECTED = "Unexpected error."  # MaskErrors' default message, kept


def is_unexpected(error: GraphQLError) -> bool:
    """Mask bugs (an exception under a resolver); keep GraphQL's own errors readable."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def anonymised(error: GraphQLError) -> GraphQLError:
    """What the client sees of a bug: MaskErrors' anonymous error, with its code."""
    return GraphQLError(
        UNEXPECTED,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": Code.INTERNAL.value},
    )


def coded(error: GraphQLError) -> GraphQLError:
    """`error` with an `extensions.code` (its own where it has one: limits, validation and
    operation errors are made with theirs; else by what kind of error it is), and a message
    that can be encoded."""
    # Never echo what cannot be encoded: a name graphql-core quotes may come from the client.
    error.message = printable(error.message)
    extensions = error.extensions or {}
    if extensions.get("code"):
        return error
    if isinstance(error, GraphQLSyntaxError):
        # graphql-core reports its limits as syntax errors: "Document contains more than N
        # tokens. Parsing aborted.", "Source contains more than N code points. ..."
        if "Document contains more than" in error.message:
            code = Code.TOO_MANY_TOKENS
        elif "Source contains more than" in error.message:
            code = Code.QUERY_TOO_LONG
        else:
            code = Code.PARSE_FAILED
    elif error.path is not None:
        code = Code.INTERNAL  # a field failed without being masked (a null where none may be)
    else:
        code = Code.BAD_USER_INPUT  # refused before any field ran: the variables
    error.extensions = {**extensions, "code": code.value}
    return error


class GatewayErrors(MaskErrors):
    """strawberry's MaskErrors for bugs, then a code on every error of the result."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        released(error)
        return anonymised(error)

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            released(coded(error))

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """A subscription's answers, each as it goes out: masked, then coded."""
        yield from super().on_stream_result(result)
        for error in getattr(result, "errors", None) or ():
            released(coded(error))


def released(error: GraphQLError) -> None:
    """Drop the tracebacks of an error already logged (schema.process_errors ran before).

    A traceback holds the frames the error went through, and one of them the request's
    ExecutionContext, which holds the error: a reference cycle that keeps the whole request
    (its document, its variables) alive until a cyclic collection, and gateway.ops.gc_tuning
    makes those rare. Refused 400 KB documents were holding 100 MB that way.
    """
    error.__traceback__ = None
    if error.original_error is not None:
        error.original_error.__traceback__ = None
