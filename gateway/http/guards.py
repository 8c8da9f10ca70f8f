"""Pure ASGI guards in front of the GraphQL view: body size and client API keys.

Both answer with a JSON body shaped like a GraphQL-over-HTTP error, never a 500.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.input.unicode import printable
from gateway.schema.codes import Code
from providers.asgi import BodyTooLarge, BodyTooSlow, read_body, replay


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
        {"errors": [{"message": printable(message), "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413, whether or not it declares its length,
    and one that does not arrive in time with 408 (the connection then closes).

    In time: a body may not pause for `timeout` seconds (nginx's client_body_timeout), and once
    it has taken longer than `timeout` it may go on only while it has averaged at least
    `min_rate` bytes a second since it began: a big upload on a slow link gets the time it
    needs, a stalled or dribbling one is let go. A stalled body used to hold its connection,
    and what had arrived of it, for good (sixteen 30 MB ones held 441 MB).

    An upload (a multipart POST to /graphql) has a size limit of its own, `max_upload_bytes`,
    and is never held here: its bytes are counted, and timed, as they pass on to the multipart
    parser (which spools files to disk); a 413 or a 408 ends it.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_upload_bytes: int | None = None,
        timeout: float = 60.0,
        min_rate: int = 65_536,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes
        self.timeout = timeout
        self.min_rate = min_rate

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
            body = await self._read(receive)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)
            return
        except BodyTooSlow:
            await self._too_slow(scope, receive, send)
            return
        if body is None:  # the client left before sending its request
            return
        await self.app(scope, replay(body, receive), send)

    def _deadline(self) -> Callable[[int], float]:
        """When the next chunk must have come, given the bytes received so far."""
        loop = asyncio.get_running_loop()
        started = loop.time()

        def deadline(received: int) -> float:
            pause = loop.time() + self.timeout  # asked as each chunk has come
            extended = received / self.min_rate if self.min_rate else 0.0
            return min(pause, started + max(self.timeout, extended))

        return deadline

    async def _read(self, receive: Receive) -> bytes | None:
        return await read_body(receive, self.max_bytes, self._deadline())

    async def _too_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            408,
            Code.REQUEST_TIMEOUT,
            "The request body did not arrive in time.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, limit: int | None = None
    ) -> None:
        response = error_response(
            413,
            Code.PAYLOAD_TOO_LARGE,
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
        arriving = True  # until the last chunk: then receive() waits for a disconnect, untimed
        deadline = self._deadline()

        async def counted() -> Message:
            nonlocal size, arriving
            if not arriving:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline(size)):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(size) from None
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(size)
            arriving = message["type"] == "http.request" and bool(message.get("more_body"))
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
        except BodyTooSlow:
            if not answered:
                await self._too_slow(scope, receive, send)


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
            Code.UNAUTHENTICATED,
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
