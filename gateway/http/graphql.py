"""/graphql: strawberry's ASGI view, with JSON error bodies, the gateway's context, and the
planned documents' fast path in front of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError

from gateway.http.guards import error_response
from gateway.input.unicode import ill_formed_part
from gateway.ops.metrics import GatewayMetrics
from gateway.schema.codes import Code
from gateway.schema.compiled.view import FastPath
from gateway.schema.context import GatewayContext
from providers.asgi import read_body, replay

_JSON_TYPE = (b"content-type", b"application/json")


class GraphQLApp(GraphQL[dict[str, Any], None]):
    def __init__(
        self,
        context: Callable[[], GatewayContext],
        schema: strawberry.Schema,
        metrics: GatewayMetrics,
        fast: FastPath | None = None,
        **kwargs: Any,
    ) -> None:
        """`context` gives the running gateway's context (built by the app's lifespan)."""
        super().__init__(schema, **kwargs)
        self._context = context
        self._metrics = metrics
        self._fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await error_response(404, "not_found", "Only HTTP is served here.")(
                scope, receive, send
            )
            return
        if self._fast is not None and self._fast.wanted(scope):
            body = await read_body(receive)
            if body is None:  # the client left before sending its request
                return
            request = Request(scope=scope, receive=replay(body, receive))
            context = await self.get_context(request, None)
            answer = await self._fast.answer(body, context)
            if answer is not None:
                # The two messages starlette's Response(answer, media_type=...) sends.
                headers = [(b"content-length", b"%d" % len(answer)), _JSON_TYPE]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": answer})
                return
            receive = replay(body, receive)
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            status = 415 if exc.reason == "Unsupported content type" else exc.status_code
            response = error_response(status, _code_of(exc), exc.reason)
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Never: the playground page is the gateway's own (gateway.playground), served before
        this view for a browser. A GET here is a GraphQL request, answered as GraphQL over HTTP
        says: a query runs, no query is a 400 that says so (strawberry answered 404)."""
        return False

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """strawberry's parsing, then each request's own parts checked for well-formed Unicode
        (the variables' values are checked as inputs: gateway.input.validation)."""
        parsed = await super().parse_http_body(request)
        if isinstance(parsed, list) and not parsed:
            raise HTTPException(400, "The batch is empty: send at least one operation.")
        for data in parsed if isinstance(parsed, list) else [parsed]:
            part = ill_formed_part(data.query, data.operation_name, data.extensions)
            if part is not None:
                raise HTTPException(
                    400, f"The request's {part} is not well-formed Unicode (a lone surrogate)."
                )
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = super().decode_json(data)
        except (ValueError, RecursionError) as exc:  # bad UTF-8 or absurd nesting, too
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        items = decoded if isinstance(decoded, list) else [decoded]
        if not all(isinstance(item, dict) for item in items):
            raise HTTPException(400, "The request body must be a JSON object")
        return decoded

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {
            "request": request,
            "response": response,
            "gateway": self._context(),
            "metrics": self._metrics,
        }


def _code_of(exc: HTTPException) -> str:
    """The `extensions.code` of a request strawberry's view refused before executing it."""
    if isinstance(exc.__cause__, CannotGetOperationTypeError):  # which operation, unclear
        return Code.OPERATION_RESOLUTION.value
    if exc.reason == "Too many operations":  # strawberry's word for a batch over max_batch
        return Code.TOO_MANY_OPERATIONS.value
    return Code.BAD_REQUEST.value
