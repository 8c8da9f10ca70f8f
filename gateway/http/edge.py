"""The edge: how long a client may take to send a request, and how many may be served at once.

uvicorn gives the idle keep-alive timeout (`timeout_keep_alive`); what it lacks is written here,
as little as possible:
- `EdgeProtocol`, uvicorn's httptools protocol with a header deadline (headers must arrive
  within `header_timeout_seconds` of the connection opening or of the request's first byte,
  and be at most MAX_HEADER_BYTES; else 408 / 431 and the connection closes) and a cap on open
  connections per process (past `max_connections`, a connection's request is answered 503
  with Retry-After, and the connection closes);
- `InFlightLimit`, an ASGI middleware: past `max_inflight_requests` requests in progress,
  a fast 503 with Retry-After, before the body is read (health checks aside);
- the body deadline is `gateway.http.guards.BodyLimit`'s, which reads bodies anyway.

uvicorn's own `limit_concurrency` is not used: its 503 carries no Retry-After and counts
connections and requests as one. `limit_max_requests` neither: a single process would exit.

`EdgeProtocol` leans on uvicorn's HttpToolsProtocol beyond its documented options (the README
lists what): its hooks `connection_made`, `data_received`, `on_headers_complete`,
`connection_lost`, and its attributes `app`, `transport`, `loop`, `connections`, `cycle`.
tests/gateway/http/test_edge.py holds it to its behaviour with real sockets.
"""

from __future__ import annotations

import asyncio
import json
import resource
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.schema.codes import Code

if TYPE_CHECKING:
    from gateway.config import GatewaySettings

MAX_HEADER_BYTES = 64 * 1024  # request line and headers; nginx allows 32 KiB by default
RETRY_AFTER_SECONDS = 1
# Not counted against max_inflight_requests: cheap, and what says whether the process lives.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    header_timeout: float = 10.0
    max_connections: int = 1_000


def _error(code: str, message: str) -> bytes:
    return json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, separators=(",", ":")
    ).encode()


def _raw_response(status: bytes, body: bytes) -> bytes:
    """A whole HTTP/1.1 answer, written to the socket directly, after which it closes."""
    head = [
        b"HTTP/1.1 " + status,
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


_HEADERS_TOO_SLOW = _raw_response(
    b"408 Request Timeout",
    _error(Code.REQUEST_TIMEOUT, "The request's headers did not arrive in time."),
)
_HEADERS_TOO_LARGE = _raw_response(
    b"431 Request Header Fields Too Large",
    _error(Code.HEADERS_TOO_LARGE, f"Request headers over {MAX_HEADER_BYTES} bytes."),
)
_OVERLOADED_BODY = _error(Code.OVERLOADED, "The gateway is at capacity; retry shortly.")
_OVERLOADED_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", b"%d" % len(_OVERLOADED_BODY)),
    (b"retry-after", b"%d" % RETRY_AFTER_SECONDS),
    (b"connection", b"close"),
]


async def overloaded(scope: Scope, receive: Receive, send: Send) -> None:
    """503 with Retry-After, and the connection closed; nothing of the request is read."""
    await send({"type": "http.response.start", "status": 503, "headers": _OVERLOADED_HEADERS})
    await send({"type": "http.response.body", "body": _OVERLOADED_BODY})


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline, a header size cap and a cap on open
    connections. `limits` is set once per process (`configure`) before serving."""

    limits: ClassVar[EdgeLimits] = EdgeLimits()

    @classmethod
    def configure(cls, limits: EdgeLimits) -> None:
        cls.limits = limits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        over_capacity = len(self.connections) >= self.limits.max_connections
        super().connection_made(transport)
        if over_capacity:
            # Its request is read (so the client sees the answer, not a reset) and answered
            # 503; `overloaded` closes the connection.
            self.app = overloaded
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._await_headers()  # the first byte of the next request on a kept-alive connection
        if self._header_timer is not None:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._header_timer is not None and self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(_HEADERS_TOO_LARGE)

    def on_headers_complete(self) -> None:
        self._stop_waiting()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(
            self.limits.header_timeout, self._refuse, _HEADERS_TOO_SLOW
        )

    def _stop_waiting(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _refuse(self, answer: bytes) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()


class InFlightLimit:
    """At most `limit` HTTP requests in progress at once; past it, 503 with Retry-After."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await overloaded(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def configure_edge(settings: GatewaySettings) -> None:
    """This process' EdgeProtocol limits, from the [gateway] settings (gateway.config)."""
    EdgeProtocol.configure(EdgeLimits(settings.header_timeout_seconds, settings.max_connections))


def open_files_problem(max_connections: int) -> str | None:
    """Why `max_connections` may not be reachable: the process' open-files limit is lower.

    Past that limit every new client gets an empty reply; the cap must bind first. Besides the
    clients' sockets the process holds provider connections, Redis, logs: 256 spare.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= max_connections + 256:
        return None
    return (
        f"WARNING the open-files limit ({soft}) is below gateway.max_connections "
        f"({max_connections}) + 256: raise it (ulimit -n) or lower max_connections"
    )
