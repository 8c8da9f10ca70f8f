"""One log line per HTTP request, and its request id: taken from X-Request-Id or made here.

Outermost of the app's own middleware, so refusals (401, 413) get an id and a line too.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import GatewayMetrics
from gateway.request_context import begin_request, current_request, end_request, request_id_from

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
        request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
        token = begin_request(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            record = current_request()
            end_request(token)
            route = route_of(scope["path"])
            self.metrics.http.labels(route, str(status)).inc()
            fields: dict[str, object] = {
                "request_id": request_id,
                "method": scope["method"],
                "route": route,
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            }
            if record is not None:
                if record.operation:
                    fields["operation"] = record.operation
                if record.outcomes:
                    fields["mutations"] = [
                        {"mutation": o.mutation, "provider": o.provider, "outcome": o.outcome}
                        for o in record.outcomes
                    ]
                    fields["provider"] = record.outcomes[0].provider
                    fields["outcome"] = next(
                        (o.outcome for o in record.outcomes if o.outcome != "OK"), "OK"
                    )
                fields["provider_calls"] = record.provider_calls
                fields["retries"] = record.retries
                fields["pacing_wait_ms"] = round(record.pacing_wait_seconds * 1000, 3)
            level = logging.DEBUG if route in _QUIET and status < 400 else logging.INFO
            log.log(level, "%s %s %s", scope["method"], route, status, extra=fields)
