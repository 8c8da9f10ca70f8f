"""One log line per HTTP request, and its request id: taken from X-Request-Id or made here.

Outermost of the app's own middleware, so refusals (401, 413) get an id and a line too.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.guards import header
from gateway.ops.metrics import GatewayMetrics
from gateway.ops.request_context import (
    RequestRecord,
    begin_request,
    current_request,
    end_request,
    request_id_from,
)

log = logging.getLogger("gateway.access")

ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")
# Probes and scrapes come every few seconds: keep them out of the INFO stream.
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


def route_of(path: str) -> str:
    if path in ROUTES:
        return path
    return "/sandbox" if path.startswith("/sandbox/") else "other"  # bounded label values


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(header(scope, b"x-request-id"))
        token = begin_request(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            record = current_request()
            end_request(token)
            route = route_of(scope["path"])
            self.metrics.http_served(route, status)
            level = logging.DEBUG if route in _QUIET and status < 400 else logging.INFO
            if log.isEnabledFor(level):  # the line's fields cost more than the check
                fields = _fields(request_id, record, scope["method"], route, status, started)
                log.log(level, "%s %s %s", scope["method"], route, status, extra=fields)


def _fields(
    request_id: str,
    record: RequestRecord | None,
    method: str,
    route: str,
    status: int,
    started: float,
) -> dict[str, object]:
    fields: dict[str, object] = {
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if record is None:
        return fields
    if record.operation:
        fields["operation"] = record.operation
    if record.outcomes:
        fields["mutations"] = [
            {"mutation": o.mutation, "provider": o.provider, "outcome": o.outcome}
            for o in record.outcomes
        ]
        fields["provider"] = record.outcomes[0].provider
        fields["outcome"] = next((o.outcome for o in record.outcomes if o.outcome != "OK"), "OK")
    fields["provider_calls"] = record.provider_calls
    fields["provider_writes"] = record.provider_writes
    fields["retries"] = record.retries
    fields["pacing_wait_ms"] = round(record.pacing_wait_seconds * 1000, 3)
    return fields
