"""What the gateway builds at start-up and holds while it serves: one provider client, call
guard and adapter per configured account, the fleet's shared state, the contact service, and
the gateway's own store (SQLite under data_dir; idempotency keys there, or in Redis for a fleet),
and the import worker (gateway/imports/runner.py), which runs import jobs in the background.

`GatewayRuntime.started(...)` is the app's lifespan: it opens everything in order and closes it
in reverse, so a request never meets a half-built gateway and shutdown leaks no connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import httpx
from opentelemetry import trace

from gateway.config import Config
from gateway.imports.jobs import Imports
from gateway.imports.runner import ImportRunner
from gateway.ops.fleet import build_fleet, redis_readiness
from gateway.ops.metrics import GatewayMetrics
from gateway.ops.provider_calls import ObservedTransport
from gateway.schema.context import GatewayContext
from gateway.service import ContactService
from gateway.store import (
    IdempotencyStore,
    RedisIdempotencyStore,
    SqliteDatabase,
    SqliteIdempotencyStore,
)
from gateway.store.imports import ImportStore
from gateway.store.owners import OwnerLock
from gateway.store.redis_imports import RedisImportStore
from gateway.store.sqlite_imports import SqliteImportStore
from providers.base import ContactAdapter, Runtime
from providers.http import TransportWrapper, make_client
from providers.model import ProviderName
from providers.registry import REGISTRY
from providers.resilience import CallGuard
from providers.resilience.fleet import Fleet
from providers.resilience.pacing import Clock, Sleep, loop_time


@dataclass(frozen=True)
class Instruments:
    """How the runtime reports itself, made before it starts."""

    metrics: GatewayMetrics
    tracer: trace.Tracer


@dataclass
class GatewayRuntime:
    context: GatewayContext
    fleet: Fleet
    database: SqliteDatabase
    idempotency: IdempotencyStore
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @classmethod
    @contextlib.asynccontextmanager
    async def started(
        cls,
        config: Config,
        instruments: Instruments,
        *,
        transports: Mapping[ProviderName, httpx.AsyncBaseTransport],
        clock: Clock = loop_time,
        sleep: Sleep = asyncio.sleep,
        workers: int = 1,
    ) -> AsyncIterator[GatewayRuntime]:
        settings = config.gateway
        async with contextlib.AsyncExitStack() as stack:
            fleet = build_fleet(settings, workers)
            stack.push_async_callback(fleet.aclose)
            database = await SqliteDatabase.open(settings.data_dir)
            stack.push_async_callback(database.aclose)
            idempotency: IdempotencyStore = (
                RedisIdempotencyStore(fleet.link)
                if fleet.link is not None
                else SqliteIdempotencyStore(database)
            )
            clients: list[httpx.AsyncClient] = []
            adapters: dict[ProviderName, ContactAdapter] = {}
            guards: dict[ProviderName, CallGuard] = {}
            for name, provider_settings in config.providers.items():
                client = make_client(
                    provider_settings,
                    transports.get(name),
                    wrap=_observed(name, instruments),
                )
                await stack.enter_async_context(client)
                clients.append(client)
                guards[name] = fleet.guard(
                    name, provider_settings, clock=clock, sleep=sleep, observer=instruments.metrics
                )
                runtime = Runtime(
                    deadline_seconds=settings.deadline_seconds,
                    bulk_concurrency=settings.bulk_concurrency,
                    background_share=settings.import_budget_share,
                    guard=guards[name],
                    cache=fleet.cache(name, provider_settings),
                    # a lease outlives any one operation: its deadline, and some
                    locks=fleet.locks(
                        name, provider_settings, lease_seconds=settings.deadline_seconds + 5
                    ),
                )
                adapters[name] = REGISTRY[name].build(provider_settings, client, runtime)
            service = ContactService(
                adapters,
                deadline_seconds=settings.deadline_seconds,
                max_bulk_contacts=settings.max_bulk_contacts,
            )
            owner = OwnerLock(settings.data_dir)  # this process, as the import leases name it
            import_store: ImportStore = SqliteImportStore(database, owner)
            if settings.redis_url is not None:  # a fleet: every process takes chunks of every job
                redis_store = RedisImportStore.from_url(
                    settings.redis_url.get_secret_value(), namespace=settings.redis_namespace
                )
                stack.push_async_callback(redis_store.aclose)
                import_store = redis_store
            imports = Imports(
                import_store,
                service,
                data_dir=settings.data_dir,
                region=settings.default_region,
                bulk_concurrency=settings.bulk_concurrency,
            )
            context = GatewayContext(
                service=service,
                region=settings.default_region,
                sandbox=config.sandbox,
                guards=guards,
                fleet=fleet,
                imports=imports,
            )
            await fleet.start()
            # Stopped first (the exit stack unwinds backwards): its chunks in flight use the
            # provider clients and the database.
            runner = ImportRunner(
                imports,
                owner,
                retention_seconds=settings.import_retention_days * 86_400,
                slots=settings.bulk_concurrency,  # a Trackly job's chunks in flight
            )
            await runner.start()
            stack.push_async_callback(runner.aclose)
            instruments.metrics.watch(guards)
            yield cls(context, fleet, database, idempotency, clients)

    def ready(self) -> bool:
        """Every provider client open: the service can call them."""
        return all(not client.is_closed for client in self.clients)

    async def readiness(self) -> dict[str, object]:
        """/readyz's body: Redis down is reported, not a reason to leave the load balancer
        (the gateway still serves, on local fair-share budgets)."""
        redis = await redis_readiness(self.fleet)
        return {
            "status": "ready",
            "providers": len(self.clients),
            "redis": {"ok": redis.ok, "detail": redis.detail},
        }


def _observed(name: ProviderName, instruments: Instruments) -> TransportWrapper:
    return lambda inner: ObservedTransport(inner, name, instruments.metrics, instruments.tracer)
