"""Read-only fields: what this gateway can route to."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.context import gateway_context
from gateway.schema.enums import Provider
from providers.model import ProviderName


@strawberry.type(description="One provider as this gateway sees it.")
class ProviderStatus:
    provider: Provider  # type: ignore[valid-type]
    configured: bool = strawberry.field(description="Mutations routed to it are attempted.")
    sandbox: bool = strawberry.field(description="It is the built-in simulator, not the API.")


@strawberry.type
class Query:
    @strawberry.field(description="Every provider the gateway knows, configured or not.")
    def providers(self, info: Info[Any, Any]) -> list[ProviderStatus]:
        context = gateway_context(info)
        return [
            ProviderStatus(
                provider=Provider[name.name],
                configured=name in context.service.adapters,
                sandbox=context.sandbox and name in context.service.adapters,
            )
            for name in ProviderName
        ]
