"""The Starlette app: its routes and middleware. What it serves with is built at start-up by
`GatewayRuntime` (gateway/runtime.py), for the lifespan of the app.

    AccessLog -> CORS -> InFlightLimit -> BodyLimit -> AuthGuard -> Idempotency -> routes
    /graphql (GraphQLApp, or the playground page for a browser; WebSocket: subscriptions),
    /healthz, /readyz, /metrics,
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
from starlette.routing import Mount, Route, WebSocketRoute
from strawberry.extensions import SchemaExtension

from gateway.config import Config, ConfigError, GatewaySettings
from gateway.http.access_log import AccessLog
from gateway.http.cors import add_cors
from gateway.http.edge import InFlightLimit
from gateway.http.graphql import GraphQLApp
from gateway.http.guards import AuthGuard, BodyLimit, error_response
from gateway.http.idempotency import Idempotency, IdempotencySettings
from gateway.http.persisted import (
    ManifestError,
    MemoryQueryStore,
    PersistedOperations,
    PersistedPolicy,
    QueryStore,
    RedisQueryStore,
    load_manifest,
)
from gateway.ops.fleet import fleet_metrics_text
from gateway.ops.metrics import CONTENT_TYPE_LATEST, GatewayMetrics
from gateway.ops.tracing import OperationSpan, make_tracer
from gateway.playground import ASSETS_URL, PlaygroundOrGraphQL, assets_app
from gateway.runtime import GatewayRuntime, Instruments
from gateway.sandbox import Sandbox
from gateway.schema import build_schema
from gateway.schema.codes import Code
from gateway.schema.compiled.plan import PlanBook
from gateway.schema.compiled.view import FastPath
from gateway.schema.context import GatewayContext
from gateway.schema.limits import QueryLimits
from gateway.schema.observed import OperationName
from providers.model import ProviderName
from providers.resilience.pacing import Clock, Sleep, loop_time
from providers.resilience.redis_link import RedisLink
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

    manifest = _manifest(settings)
    graphql = _graphql_app(config, instruments, context, manifest)
    persisted = PersistedPolicy(
        manifest=manifest,
        only=settings.persisted_operations_only,
        introspection=settings.introspection,
        sandbox=config.sandbox,
    )
    queries = _QueryStore(lambda: running[0].fleet.link if running else None)
    routes: list[Route | WebSocketRoute | Mount] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        # strawberry's own GraphiQL page loads scripts from a CDN; ours is served from here.
        Route(
            "/graphql",
            PersistedOperations(PlaygroundOrGraphQL(graphql, config), persisted, queries),
            methods=["GET", "POST"],
        ),
        # Subscriptions (graphql-transport-ws): the view itself, which checks the origin and
        # the client's key (gateway/http/graphql.py).
        WebSocketRoute("/graphql", graphql),
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
    app.add_middleware(
        Idempotency,
        store=lambda: running[0].idempotency if running else None,
        settings=IdempotencySettings(
            ttl_seconds=settings.idempotency_ttl_seconds,
            lease_seconds=settings.idempotency_lease_seconds,
        ),
        has_keys=bool(settings.api_keys),
    )
    app.add_middleware(AuthGuard, keys=[key.get_secret_value() for key in settings.api_keys])
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
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
    config: Config,
    instruments: Instruments,
    context: Callable[[], GatewayContext],
    manifest: Mapping[str, str],
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
    if fast is not None:
        # The manifest's mutations are planned now, so their first call is as fast as any.
        for name, document in manifest.items():
            problem = plans.plan_ahead(document, limits.validation_rules())
            if problem:
                raise ConfigError(f"gateway.persisted_operations: {name}: {problem}")
            for plan in plans.plans_of(document):
                fast.runner.warm(plan)
    return GraphQLApp(
        context,
        schema,
        instruments.metrics,
        fast,
        keys=[key.get_secret_value() for key in settings.api_keys],
        graphql_ide=None,
        allowed_origins=settings.cors.allow_origins,
    )


def _manifest(settings: GatewaySettings) -> dict[str, str]:
    if not settings.persisted_operations:
        return {}
    try:
        return load_manifest(settings.persisted_operations)
    except ManifestError as exc:
        raise ConfigError(f"gateway.persisted_operations: {exc}") from None


class _QueryStore:
    """Automatic persisted queries' registrations: shared through the fleet's Redis when it
    has one, else this process' own. Chosen at each call: the fleet exists from start-up."""

    def __init__(self, link: Callable[[], RedisLink | None]) -> None:
        self._link = link
        self._memory = MemoryQueryStore()
        self._shared: RedisQueryStore | None = None

    def _store(self) -> QueryStore:
        link = self._link()
        if link is None:
            return self._memory
        if self._shared is None or self._shared.link is not link:
            self._shared = RedisQueryStore(link)
        return self._shared

    async def get(self, digest: str) -> str | None:
        return await self._store().get(digest)

    async def put(self, digest: str, document: str) -> None:
        await self._store().put(digest, document)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, Code.HTTP_ERROR)
    return error_response(exc.status_code, code, exc.detail, headers=dict(exc.headers or {}))


# starlette's own refusals (an unknown path, a method a route does not take), named as ours are
_HTTP_CODES = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED}
