"""Pure ASGI guards in front of the GraphQL view: body size and client API keys.

Both answer with a JSON body shaped like a GraphQL-over-HTTP error, never a 500.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from providers.asgi import BodyTooLarge, read_body, replay


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's first value, as Headers(scope=scope).get() gives it, for less.

    `name` in lower case: ASGI servers give header names in lower case.
    """
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413, whether or not it declares its length.

    An upload (a multipart POST to /graphql) has a limit of its own, `max_upload_bytes`, and
    is never held here: its bytes are counted as they pass on to the multipart parser (which
    spools files to disk), and a 413 ends it once the count goes past the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if self.max_upload_bytes is not None and _is_upload(scope):
            await self._upload(scope, receive, send, self.max_upload_bytes)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.max_bytes)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)
            return
        if body is None:  # the client left before sending its request
            return
        await self.app(scope, replay(body, receive), send)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, limit: int | None = None
    ) -> None:
        response = error_response(
            413,
            "payload_too_large",
            f"Request body is larger than {limit or self.max_bytes} bytes.",
        )
        await response(scope, receive, send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, receive, send, limit)
            return
        size = 0
        answered = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(size)
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            answered = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except BodyTooLarge:
            if not answered:
                await self._too_large(scope, receive, send, limit)


def _is_upload(scope: Scope) -> bool:
    content_type = (header(scope, b"content-type") or "").lower()
    return scope["path"] == "/graphql" and content_type.startswith("multipart/form-data")


class AuthGuard:
    """`Authorization: Bearer <key>` on /graphql when keys are set (the playground page aside)."""

    def __init__(self, app: ASGIApp, keys: list[str]) -> None:
        self.app = app
        self.keys = [key.encode() for key in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or not self._guarded(scope):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and self._known(token.strip().encode()):
            await self.app(scope, receive, send)
            return
        response = error_response(
            401,
            "unauthorized",
            "Send a gateway API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)

    def _known(self, token: bytes) -> bool:
        # Compare against every key so the time taken says nothing about which one matched.
        matched = False
        for key in self.keys:
            matched |= hmac.compare_digest(token, key)
        return matched

    @staticmethod
    def _guarded(scope: Scope) -> bool:
        if not scope["path"].startswith("/graphql"):
            return False
        # The playground page itself holds no data; a GET carrying a query does.
        return scope["method"] != "GET" or not wants_page(scope)


def wants_page(scope: Scope) -> bool:
    """A browser asking for the playground page: HTML accepted and no query in the URL."""
    accepts_html = "text/html" in Headers(scope=scope).get("accept", "")
    return accepts_html and b"query=" not in scope.get("query_string", b"")
