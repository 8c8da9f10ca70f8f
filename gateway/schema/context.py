"""What every resolver may use: the service, and the settings that shape input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.types import Info

from gateway.service import ContactService
from providers.model import ProviderName
from providers.resilience import CallGuard
from providers.resilience.fleet import Fleet

if TYPE_CHECKING:
    from gateway.imports.jobs import Imports


@dataclass(frozen=True, slots=True)
class GatewayContext:
    service: ContactService
    region: str
    sandbox: bool
    guards: Mapping[ProviderName, CallGuard] = field(default_factory=dict)
    fleet: Fleet = field(default_factory=Fleet)
    imports: Imports | None = None  # contact import jobs (None: an app built without them)


def gateway_context(info: Info[Any, Any]) -> GatewayContext:
    context = info.context
    return context["gateway"] if isinstance(context, dict) else context  # type: ignore[no-any-return]
