"""The Starlette app: its routes and middleware. What it serves with is built at start-up by
`GatewayRuntime` (gateway/runtime.py), for the lifespan of the app.

    AccessLog -> CORS -> InFlightLimit -> BodyLimit -> AuthGuard -> routes
    /graphql (GraphQLApp, or the playground page for a browser), /healthz, /readyz, /metrics,
    /playground-assets, /sandbox/<provider> (sandbox mode only)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

import httpx
from opentelemetry.trace import TracerProvider
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from strawberry.extensions import SchemaExtension

from gateway.config import Config
from gateway.http.access_log import AccessLog
from gateway.http.cors import add_cors
from gateway.http.edge import InFlightLimit
from gateway.http.graphql import GraphQLApp
from gateway.http.guards import AuthGuard, BodyLimit, error_response
from gateway.ops.fleet import fleet_metrics_text
from gateway.ops.metrics import CONTENT_TYPE_LATEST, GatewayMetrics
from gateway.ops.tracing import OperationSpan, make_tracer
from gateway.playground import ASSETS_URL, PlaygroundOrGraphQL, assets_app
from gateway.runtime import GatewayRuntime, Instruments
from gateway.sandbox import Sandbox
from gateway.schema import build_schema
from gateway.schema.compiled.plan import PlanBook
from gateway.schema.compiled.view import FastPath
from gateway.schema.context import GatewayContext
from gateway.schema.limits import QueryLimits
from gateway.schema.observed import OperationName
from providers.model import ProviderName
from providers.resilience.pacing import Clock, Sleep, loop_time
from providers.simulator.transport import ServedSimulator


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
    wire = dict(transports or {})
    if sandbox is not None:
        wire = {**sandbox.transports(), **wire}
    settings = config.gateway
    instruments = Instruments(GatewayMetrics(), make_tracer(settings.tracing, tracer_provider))
    running: list[GatewayRuntime] = []  # the runtime while the lifespan holds it

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with GatewayRuntime.started(
            config, instruments, transports=wire, clock=clock, sleep=sleep, workers=workers
        ) as runtime:
            app.state.fleet = runtime.fleet
            running.append(runtime)
            try:
                yield
            finally:
                running.clear()

    def context() -> GatewayContext:
        return running[0].context

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "sandbox": config.sandbox})

    async def readyz(request: Request) -> Response:
        if not running or not running[0].ready():
            return JSONResponse({"status": "starting", "providers": 0}, status_code=503)
        return JSONResponse(await running[0].readiness())

    async def metrics_page(request: Request) -> Response:
        page = instruments.metrics.render()
        if running:
            page += fleet_metrics_text(running[0].fleet).encode()
        return Response(page, media_type=CONTENT_TYPE_LATEST)

    graphql = _graphql_app(config, instruments, context)
    routes: list[Route | Mount] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        # strawberry's own GraphiQL page loads scripts from a CDN; ours is served from here.
        Route("/graphql", PlaygroundOrGraphQL(graphql, config), methods=["GET", "POST"]),
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
        routes=routes, lifespan=lifespan, exception_handlers={StarletteHTTPException: _http_error}
    )
    app.add_middleware(AuthGuard, keys=[key.get_secret_value() for key in settings.api_keys])
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
        min_rate=settings.min_body_bytes_per_second,
    )
    # Before the body is read: a request past the cap costs nothing but its answer.
    app.add_middleware(InFlightLimit, limit=settings.max_inflight_requests)
    add_cors(app, settings.cors)
    app.add_middleware(
        AccessLog, metrics=instruments.metrics
    )  # outermost: every request gets an id
    return app


def _graphql_app(
    config: Config, instruments: Instruments, context: Callable[[], GatewayContext]
) -> GraphQLApp:
    """The schema with its limits and telemetry, and the planned documents' fast path."""
    settings = config.gateway
    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_batch=settings.max_batch,
        max_fields=settings.max_fields,
        max_complexity=settings.max_complexity,
        max_query_length=settings.max_query_length,
        introspection=settings.introspection,
    )
    plans = PlanBook()
    extensions: list[Callable[[], SchemaExtension]] = [
        OperationName,
        lambda: OperationSpan(instruments.tracer),
    ]
    if settings.fast_path:  # plans are learnt only where the fast path reads them
        extensions.append(plans.recorder)
    schema = build_schema(limits, extensions=extensions)
    plans.schema = schema
    fast = FastPath(plans, instruments.tracer) if settings.fast_path else None
    return GraphQLApp(context, schema, instruments.metrics, fast, graphql_ide=None)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(
        exc.status_code, "http_error", exc.detail, headers=dict(exc.headers or {})
    )
