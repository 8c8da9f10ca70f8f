"""GraphQL enums generated from the one Python enum of each concept (never a copy by hand)."""

from __future__ import annotations

import enum
from typing import Any

import strawberry

from gateway.store.imports import ImportStatus as _ImportStatus
from gateway.store.imports import RowFormat as _RowFormat
from providers.errors import ErrorCode as _ErrorCode
from providers.errors import Origin as _Origin
from providers.model import FieldMode, ProviderName
from providers.model import SubscriptionStatus as _SubscriptionStatus
from providers.resilience import CircuitState as _CircuitState


def _mirror(source: type[enum.Enum], name: str, description: str) -> type[enum.Enum]:
    mirror = enum.Enum(name, {member.name: member.name for member in source})  # type: ignore[misc]
    return strawberry.enum(mirror, name=name, description=description)


Provider = _mirror(ProviderName, "Provider", "The provider a mutation is routed to.")
SubscriptionStatus = _mirror(
    _SubscriptionStatus, "SubscriptionStatus", "A contact's subscription status."
)
FieldUpdateMode = _mirror(
    FieldMode, "FieldUpdateMode", "MERGE keeps fields not sent; REPLACE drops them."
)
CircuitState = _mirror(
    _CircuitState,
    "CircuitState",
    "CLOSED: calls go out; OPEN: refused at once; HALF_OPEN: probing.",
)
ErrorCode = _mirror(_ErrorCode, "ErrorCode", "Every reason the gateway can give for a failure.")
ErrorOrigin = _mirror(
    _Origin,
    "ErrorOrigin",
    "Who decided a failure: the gateway's checks (GATEWAY), the provider's answer (PROVIDER), "
    "the connection (TRANSPORT: refused, reset, unreadable), the gateway's pacing (PACING), "
    "an open circuit (CIRCUIT), the deadline (DEADLINE).",
)

ImportFormat = _mirror(
    _RowFormat,
    "ImportFormat",
    "An uploaded file's format; guessed from its name, type and first line when not given.",
)
ImportStatus = _mirror(
    _ImportStatus,
    "ImportStatus",
    "QUEUED: waiting for a worker; RUNNING; SUCCEEDED: every contact processed (some may "
    "have failed); FAILED: stopped before the end (its warnings say why); CANCELLED.",
)


def provider_name(value: Any) -> ProviderName:
    """The providers' own name for a GraphQL Provider value."""
    return ProviderName[value.name]
