"""Fault injection for the simulators: make the next N (or a share of) matching calls fail.

Wraps any simulator ASGI app. Faults are set from Python (`FaultInjector.add`) or over HTTP on
the sandbox-only admin route the wrapper serves itself:

    POST   /_sandbox/faults   {"status": 503, "times": 2, "path": "/v2/contacts/bulk"}
    GET    /_sandbox/faults   the faults still pending
    DELETE /_sandbox/faults   clear them all
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from providers.asgi import read_body, replay

ADMIN_PATH = "/_sandbox/faults"


class DroppedConnection(Exception):
    """Raised instead of answering: the transport in front turns it into a dropped connection."""


@dataclass
class Fault:
    status: int = 500
    body: Any = None  # a JSON body; default: {"error": "injected fault"}
    raw: str | None = None  # a non-JSON body, sent as text/html
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (or before passing through)
    times: int | None = 1  # matching calls it applies to; None: until cleared
    rate: float | None = None  # apply to this share of matching calls instead of all of them
    path: str | None = None  # applies when the request path contains this
    method: str | None = None
    body_contains: str | None = None  # applies when the request body contains this text
    passthrough: bool = False  # only delay, then let the simulator answer
    drop: bool = False  # close the connection without an answer

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.path and self.path not in path:
            return False
        if self.body_contains and self.body_contains.encode() not in body:
            return False
        return self.rate is None or random.random() < self.rate


class FaultInjector:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.faults: list[Fault] = []
        self.injected = 0

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:  # the client left before sending its request
            return
        if scope["path"].endswith(ADMIN_PATH):
            await self._admin(scope["method"], body, send)
            return
        fault = self._take(scope["method"], scope["path"], body)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is None or fault.passthrough:
            await self.app(scope, replay(body, receive), send)
            return
        self.injected += 1
        if fault.drop:
            raise DroppedConnection(scope["path"])
        if fault.raw is not None:
            await _respond(send, fault.status, fault.raw.encode(), "text/html", fault.headers)
        else:
            payload = fault.body if fault.body is not None else {"error": "injected fault"}
            await _respond(
                send, fault.status, json.dumps(payload).encode(), "application/json", fault.headers
            )

    def _take(self, method: str, path: str, body: bytes) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path, body):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    async def _admin(self, method: str, body: bytes, send: Send) -> None:
        if method == "DELETE":
            self.clear()
        elif method == "POST":
            try:
                spec = json.loads(body or b"{}")
                specs = spec if isinstance(spec, list) else [spec]
                for one in specs:
                    self.add(Fault(**one))
            except (ValueError, TypeError) as exc:
                message = {"error": f"bad fault: {exc}"}
                await _respond(send, 400, json.dumps(message).encode(), "application/json", {})
                return
        payload = {"faults": [asdict(f) for f in self.faults], "injected": self.injected}
        await _respond(send, 200, json.dumps(payload).encode(), "application/json", {})


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    raw_headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
