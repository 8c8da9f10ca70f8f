"""Read-only fields: what this gateway can route to, what each provider stores, and the
accounts' field and tag catalogues."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.capabilities import (
    CustomFieldDefinition,
    ProviderCapabilities,
    capabilities_of,
    definition_of,
    query_error,
)
from gateway.schema.context import GatewayContext, gateway_context
from gateway.schema.enums import CircuitState, Provider, provider_name
from providers.capabilities import Capabilities
from providers.errors import ProviderError
from providers.model import ProviderName
from providers.registry import REGISTRY
from providers.resilience import CallGuard


@strawberry.type(description="How calls to one provider account are going, in this process.")
class ProviderHealth:
    circuit: CircuitState  # type: ignore[valid-type]
    consecutive_failures: int = strawberry.field(
        description="Provider faults (5xx, timeouts, connection errors) in a row."
    )
    retry_after_seconds: float | None = strawberry.field(
        description="While the circuit is open: seconds until a probe may go out."
    )
    rate_limit: str | None = strawberry.field(
        description="The request budget the gateway paces to, e.g. 500/minute."
    )
    shared: bool = strawberry.field(
        description=(
            "The budget and circuit are shared with every gateway process through Redis right"
            " now; false without Redis, or while it is unreachable (local fair share)."
        )
    )


@strawberry.type(description="One provider as this gateway sees it.")
class ProviderStatus:
    provider: Provider  # type: ignore[valid-type]
    configured: bool = strawberry.field(description="Mutations routed to it are attempted.")
    sandbox: bool = strawberry.field(description="It is the built-in simulator, not the API.")
    health: ProviderHealth | None = strawberry.field(description="Null when not configured.")
    capabilities: ProviderCapabilities = strawberry.field(
        description="What it stores and how (the configured account's, or the provider's own)."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Every provider the gateway knows, configured or not, with its health."
    )
    def providers(self, info: Info[Any, Any]) -> list[ProviderStatus]:
        context = gateway_context(info)
        link = context.fleet.link
        shared = link is not None and not link.stats.down
        return [
            ProviderStatus(
                provider=Provider[name.name],
                configured=name in context.service.adapters,
                sandbox=context.sandbox and name in context.service.adapters,
                health=_health(context.guards[name], shared) if name in context.guards else None,
                capabilities=capabilities_of(_capabilities(context, name)),
            )
            for name in ProviderName
        ]

    @strawberry.field(
        description=(
            "The custom fields the provider's account has, read through the gateway's cached "
            "catalogue; [] where custom fields are free-form (Trackly)."
        )
    )
    async def custom_field_definitions(
        self,
        info: Info[Any, Any],
        provider: Provider,  # type: ignore[valid-type]
    ) -> list[CustomFieldDefinition]:
        service = gateway_context(info).service
        try:
            fields = await service.field_definitions(provider_name(provider))
        except ProviderError as error:
            raise query_error(error.failure) from None
        return [definition_of(field) for field in fields]

    @strawberry.field(
        description="The tags the provider's account has; [] where it has none (Trackly)."
    )
    async def tags(
        self,
        info: Info[Any, Any],
        provider: Provider,  # type: ignore[valid-type]
    ) -> list[str]:
        service = gateway_context(info).service
        try:
            return await service.tag_names(provider_name(provider))
        except ProviderError as error:
            raise query_error(error.failure) from None


def _capabilities(context: GatewayContext, name: ProviderName) -> Capabilities:
    adapter = context.service.adapters.get(name)
    return adapter.capabilities if adapter is not None else REGISTRY[name].describe(None)


def _health(guard: CallGuard, shared: bool) -> ProviderHealth:
    snapshot = guard.breaker.snapshot()
    rate = getattr(guard.pacer, "rate", None)
    return ProviderHealth(
        circuit=CircuitState[snapshot.state.name],
        consecutive_failures=snapshot.consecutive_failures,
        retry_after_seconds=snapshot.retry_after,
        rate_limit=str(rate) if rate is not None else None,
        shared=shared,
    )
