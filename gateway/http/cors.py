"""CORS for front-end apps on other origins: starlette's middleware, refusing more plainly.

Starlette answers a refused preflight in plain text with its CORS headers still set, and adds
Access-Control-Allow-Credentials to responses for any origin. Here a refused origin gets no
CORS header at all, and a refused preflight gets a JSON error body like every other 4xx.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from gateway.config import CorsSettings
from gateway.http.guards import error_response, header
from gateway.schema.codes import Code

METHODS = ("GET", "POST")


class GatewayCORS(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or header(scope, b"origin") is not None:
            await super().__call__(scope, receive, send)
            return
        # No Origin: not a browser's cross-origin request (API clients, probes), so no
        # preflight and no CORS header; the answer only says it varies by Origin, as
        # starlette's would, without starlette parsing every header to find that out.

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = vary_by_origin(message)
            await send(message)

        await self.app(scope, receive, send_with_vary)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        return error_response(
            403,
            Code.CORS_REFUSED,
            f"Cross-origin request refused ({refused} not allowed).",
            headers={"Vary": "Origin"},
        )

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is None or self.is_allowed_origin(origin):
            await super().send(message, send, request_headers)
            return
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).add_vary_header("Origin")
        await send(message)


def vary_by_origin(start: Message) -> Message:
    """What CORSMiddleware does to an answer to a request without Origin: Vary gets Origin."""
    headers = start.get("headers", ())
    if any(name.lower() == b"vary" for name, _ in headers):
        start.setdefault("headers", [])
        mutable = MutableHeaders(scope=start)
        mutable["Vary"] = ", ".join([*mutable.getlist("Vary"), "Origin"])
        return start
    start["headers"] = [*headers, (b"vary", b"Origin")]
    return start


def add_cors(app: Starlette, settings: CorsSettings) -> None:
    """Add last, so it is outermost: preflights never reach the API-key guard, and its 401s
    (and the body limit's 413s) still carry the CORS headers a browser needs to read them."""
    app.add_middleware(
        GatewayCORS,
        allow_origins=settings.allow_origins,
        allow_methods=METHODS,
        allow_headers=settings.allow_headers,
        allow_credentials=settings.allow_credentials,
        expose_headers=settings.expose_headers,
        max_age=settings.max_age_seconds,
    )
