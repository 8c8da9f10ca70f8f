"""The Starlette app: /graphql (and its playground), /healthz, sandbox mounts; provider clients
live for its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import strawberry
from cross_web import HTTPException
from opentelemetry.trace import TracerProvider
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from gateway.config import Config
from gateway.http.access_log import AccessLog
from gateway.http.cors import add_cors
from gateway.http.guards import AuthGuard, BodyLimit, error_response
from gateway.ops.fleet import build_fleet, fleet_metrics_text, redis_readiness
from gateway.ops.metrics import CONTENT_TYPE_LATEST, GatewayMetrics
from gateway.ops.provider_calls import ObservedTransport
from gateway.ops.tracing import OperationSpan, make_tracer
from gateway.playground import ASSETS_URL, PlaygroundOrGraphQL, assets_app
from gateway.sandbox import Sandbox
from gateway.schema import build_schema
from gateway.schema.compiled.plan import PlanBook
from gateway.schema.compiled.view import FastPath
from gateway.schema.context import GatewayContext
from gateway.schema.limits import QueryLimits
from gateway.schema.observed import OperationName
from gateway.service import ContactService
from providers.base import ContactAdapter, Runtime
from providers.http import TransportWrapper, make_client
from providers.model import ProviderName
from providers.observe import observed as observed_guard
from providers.registry import REGISTRY
from providers.resilience import CallGuard
from providers.resilience.pacing import Clock, Sleep, loop_time
from providers.simulator.transport import ServedSimulator

log = logging.getLogger("gateway")
_JSON_TYPE = (b"content-type", b"application/json")


class GraphQLApp(GraphQL[dict[str, Any], None]):
    """strawberry's ASGI view, with JSON error bodies and the gateway context."""

    def __init__(
        self,
        state: dict[str, GatewayContext],
        schema: strawberry.Schema,
        metrics: GatewayMetrics,
        fast: FastPath | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self._state = state
        self._metrics = metrics
        self._fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await error_response(404, "not_found", "Only HTTP is served here.")(
                scope, receive, send
            )
            return
        if self._fast is not None and self._fast.wanted(scope):
            body = await _read_body(receive)
            if body is None:  # the client left before sending its request
                return
            request = Request(scope=scope, receive=_replay(body, receive))
            context = await self.get_context(request, None)
            answer = await self._fast.answer(body, context)
            if answer is not None:
                # The two messages starlette's Response(answer, media_type=...) sends.
                headers = [(b"content-length", b"%d" % len(answer)), _JSON_TYPE]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": answer})
                return
            receive = _replay(body, receive)
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            status = 415 if exc.reason == "Unsupported content type" else exc.status_code
            response = error_response(status, "bad_request", exc.reason)
        await response(scope, receive, send)

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
            "gateway": self._state["context"],
            "metrics": self._metrics,
        }


def create_app(
    config: Config,
    *,
    transports: Mapping[ProviderName, httpx.AsyncBaseTransport] | None = None,
    sandbox: Sandbox | None = None,
    clock: Clock = loop_time,
    sleep: Sleep = asyncio.sleep,
    tracer_provider: TracerProvider | None = None,
    workers: int = 1,
) -> Starlette:
    """Build the app; pass `transports` to put a fake (or a simulator) under an adapter,
    `clock`/`sleep` to drive pacing and circuit breaking from a test's own clock, and
    `tracer_provider` to collect spans somewhere other than the process-wide provider.
    `workers` is how many processes `gateway serve` started on this host."""
    transports = dict(transports or {})
    if sandbox is not None:
        transports = {**sandbox.transports(), **transports}
    settings = config.gateway
    state: dict[str, GatewayContext] = {}
    clients: list[httpx.AsyncClient] = []
    metrics = GatewayMetrics()
    tracer = make_tracer(settings.tracing, tracer_provider)
    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_batch=settings.max_batch,
        max_fields=settings.max_fields,
        introspection=settings.introspection,
    )
    plans = PlanBook()
    schema = build_schema(
        limits, extensions=[OperationName, lambda: OperationSpan(tracer), plans.recorder]
    )
    plans.schema = schema
    fast = FastPath(plans, tracer) if settings.fast_path else None

    def observed_transport(name: ProviderName) -> TransportWrapper:
        return lambda inner: ObservedTransport(inner, name, metrics, tracer)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            fleet = build_fleet(settings, workers)
            stack.push_async_callback(fleet.aclose)
            app.state.fleet = fleet
            adapters: dict[ProviderName, ContactAdapter] = {}
            guards: dict[ProviderName, CallGuard] = {}
            for name, provider_settings in config.providers.items():
                client = make_client(
                    provider_settings, transports.get(name), wrap=observed_transport(name)
                )
                await stack.enter_async_context(client)
                clients.append(client)
                guards[name] = observed_guard(
                    fleet.guard(name, provider_settings, clock=clock, sleep=sleep), metrics
                )
                runtime = Runtime(
                    deadline_seconds=settings.deadline_seconds,
                    bulk_concurrency=settings.bulk_concurrency,
                    guard=guards[name],
                    cache=fleet.cache(name, provider_settings),
                )
                adapters[name] = REGISTRY[name].build(provider_settings, client, runtime)
            service = ContactService(
                adapters,
                deadline_seconds=settings.deadline_seconds,
                max_bulk_contacts=settings.max_bulk_contacts,
            )
            state["context"] = GatewayContext(
                service=service,
                region=settings.default_region,
                sandbox=config.sandbox,
                guards=guards,
                fleet=fleet,
            )
            await fleet.start()
            metrics.watch(guards)
            try:
                yield
            finally:
                state.clear()
                clients.clear()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "sandbox": config.sandbox})

    async def readyz(request: Request) -> Response:
        # Ready once the lifespan has built the service and every provider client is open.
        open_clients = bool(state) and all(not client.is_closed for client in clients)
        body: dict[str, object] = {
            "status": "ready" if open_clients else "starting",
            "providers": len(clients),
        }
        fleet = getattr(request.app.state, "fleet", None)
        if open_clients and fleet is not None:
            # Redis down is reported, not a reason to leave the load balancer: the gateway
            # still serves, on local fair-share budgets.
            redis = await redis_readiness(fleet)
            body["redis"] = {"ok": redis.ok, "detail": redis.detail}
        return JSONResponse(body, status_code=200 if open_clients else 503)

    async def metrics_page(request: Request) -> Response:
        page = metrics.render()
        fleet = getattr(request.app.state, "fleet", None)
        if fleet is not None:
            page += fleet_metrics_text(fleet).encode()
        return Response(page, media_type=CONTENT_TYPE_LATEST)

    routes: list[Route | Mount] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        # strawberry's own GraphiQL page loads scripts from a CDN; ours is served from here.
        Route(
            "/graphql",
            PlaygroundOrGraphQL(GraphQLApp(state, schema, metrics, fast, graphql_ide=None), config),
            methods=["GET", "POST"],
        ),
        Mount(ASSETS_URL, assets_app()),
    ]
    if settings.metrics:
        routes.append(Route("/metrics", metrics_page, methods=["GET"]))
    if sandbox is not None:
        routes += [
            Mount(f"/sandbox/{name.value}", ServedSimulator(app))
            for name, app in sandbox.apps.items()
        ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={StarletteHTTPException: _http_error},
    )
    keys = [key.get_secret_value() for key in settings.api_keys]
    app.add_middleware(AuthGuard, keys=keys)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    add_cors(app, settings.cors)
    app.add_middleware(AccessLog, metrics=metrics)  # outermost: every request gets an id
    return app


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` again, with the body already read handed out first."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(
        exc.status_code, "http_error", exc.detail, headers=dict(exc.headers or {})
    )
