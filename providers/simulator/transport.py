"""How the gateway reaches a simulator in-process, and how a simulator is served over HTTP."""

from __future__ import annotations

import json

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from providers.simulator.faults import DroppedConnection


class SimulatorTransport(httpx.ASGITransport):
    """httpx's ASGI transport, where a simulated drop looks like a real one to the client."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except DroppedConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None


class ServedSimulator:
    """A simulator mounted on the gateway's own HTTP port: an ASGI app cannot cut a TCP
    connection, so a simulated drop is answered 502 rather than crashing into a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except DroppedConnection:
            body = json.dumps({"error": "simulated dropped connection"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 502,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
