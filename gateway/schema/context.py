"""What every resolver may use: the service, and the settings that shape input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.types import Info

from gateway.service import ContactService


@dataclass(frozen=True, slots=True)
class GatewayContext:
    service: ContactService
    region: str
    sandbox: bool


def gateway_context(info: Info[Any, Any]) -> GatewayContext:
    context = info.context
    return context["gateway"] if isinstance(context, dict) else context  # type: ignore[no-any-return]
