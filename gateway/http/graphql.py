"""/graphql: strawberry's ASGI view, with JSON error bodies, the gateway's context, and the
planned documents' fast path in front of it.

Besides JSON POSTs and GETs it serves:
- uploads, by the GraphQL multipart request spec (startContactImport's `file`). A multipart
  body is what an HTML form on any site can send without a CORS preflight, so one is taken
  only when it carries a header no form can set: `Authorization` (which AuthGuard checks when
  `api_keys` are set) or one of the preflight headers Apollo's and other upload clients send
  (`Apollo-Require-Preflight`, `X-Apollo-Operation-Name`, `GraphQL-Require-Preflight`).
- subscriptions over WebSocket (graphql-transport-ws, and the older graphql-ws), and over HTTP
  (`Accept: multipart/mixed;subscriptionSpec=1.0`, Apollo's; or `text/event-stream`). A browser
  page may open a WebSocket to any site, so a handshake from another origin is refused unless
  `[gateway.cors] allow_origins` lists it; with `api_keys`, the key goes in the handshake's
  `Authorization` header or in `connection_init`'s payload (`{"Authorization": "Bearer
  <key>"}`, what browsers can send), else the connection is closed with 4403.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types.unset import UnsetType

from gateway.http.guards import error_response, header
from gateway.input.unicode import ill_formed_part
from gateway.ops.metrics import GatewayMetrics
from gateway.schema.codes import Code
from gateway.schema.compiled.view import FastPath
from gateway.schema.context import GatewayContext
from providers.asgi import read_body, replay

_JSON_TYPE = (b"content-type", b"application/json")
# Subscriptions: over WebSocket, and over HTTP as a multipart/mixed or text/event-stream answer
# (chosen by the request's Accept header).
SUBSCRIPTION_PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
)
# Headers a cross-site HTML form cannot send: a multipart request carrying one was preflighted.
PREFLIGHT_HEADERS = (
    b"authorization",
    b"apollo-require-preflight",
    b"x-apollo-operation-name",
    b"graphql-require-preflight",
)


class GraphQLApp(GraphQL[dict[str, Any], None]):
    def __init__(
        self,
        context: Callable[[], GatewayContext],
        schema: strawberry.Schema,
        metrics: GatewayMetrics,
        fast: FastPath | None = None,
        *,
        keys: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        """`context` gives the running gateway's context (built by the app's lifespan); `keys`
        are the client API keys a WebSocket connection must show (none: no check)."""
        super().__init__(
            schema,
            multipart_uploads_enabled=True,
            subscription_protocols=SUBSCRIPTION_PROTOCOLS,
            **kwargs,
        )
        self._context = context
        self._metrics = metrics
        self._fast = fast
        self._keys = [key.encode() for key in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await super().__call__(scope, receive, send)
            return
        if scope["type"] != "http":
            await error_response(404, Code.NOT_FOUND, "Only HTTP is served here.")(
                scope, receive, send
            )
            return
        if _unpreflighted_upload(scope):
            await error_response(
                400,
                "CSRF_PREVENTION",
                "A multipart request must carry an Authorization header or a preflight header "
                "(Apollo-Require-Preflight: true): an HTML form on another site could send it "
                "otherwise.",
            )(scope, receive, send)
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
            if exc.reason == "mutations are not allowed when using GET":
                # GraphQL over HTTP: a mutation over GET is a method the endpoint does not allow.
                response = error_response(
                    405, Code.METHOD_NOT_ALLOWED, exc.reason, headers={"Allow": "POST"}
                )
            elif exc.reason.startswith("subscriptions are not allowed"):
                response = error_response(400, Code.BAD_REQUEST, STREAM_ONLY)
            else:
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

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        """With api_keys, a WebSocket shows one in its handshake or its connection_init."""
        if not self._keys:
            return await super().on_ws_connect(context)
        request = context.get("request")
        sent = request.headers.get("authorization", "") if request is not None else ""
        params = context.get("connection_params")
        if not sent and isinstance(params, dict):
            given = params.get("Authorization", params.get("authorization", ""))
            sent = given if isinstance(given, str) else ""
        scheme, _, token = sent.partition(" ")
        if scheme.lower() != "bearer" or not self._known(token.strip().encode()):
            raise ConnectionRejectionError({"message": "Send a gateway API key."})
        return await super().on_ws_connect(context)

    def _known(self, token: bytes) -> bool:
        matched = False  # every key compared: the time taken says nothing of which matched
        for key in self._keys:
            matched |= hmac.compare_digest(token, key)
        return matched

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {
            "request": request,
            "response": response,
            "gateway": self._context(),
            "metrics": self._metrics,
        }


STREAM_ONLY = (
    "A subscription streams its answers: open a WebSocket to /graphql (graphql-transport-ws or "
    "graphql-ws), or POST it with 'Accept: text/event-stream' (server-sent events) or "
    "'Accept: multipart/mixed; subscriptionSpec=1.0'."
)


def _unpreflighted_upload(scope: Scope) -> bool:
    content_type = (header(scope, b"content-type") or "").lower()
    if scope["method"] != "POST" or not content_type.startswith("multipart/"):
        return False
    return not any(name in PREFLIGHT_HEADERS for name, _ in scope["headers"])


def _code_of(exc: HTTPException) -> str:
    """The `extensions.code` of a request strawberry's view refused before executing it."""
    if isinstance(exc.__cause__, CannotGetOperationTypeError):  # which operation, unclear
        return Code.OPERATION_RESOLUTION.value
    if exc.reason == "Too many operations":  # strawberry's word for a batch over max_batch
        return Code.TOO_MANY_OPERATIONS.value
    return Code.BAD_REQUEST.value
