"""The Error interface and its union members: one member per ErrorKind."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import strawberry

from gateway.schema.enums import ErrorCode, ErrorOrigin, Provider
from providers.errors import ErrorKind, Failure


@strawberry.interface(name="Error", description="Every expected failure implements Error.")
class Error:
    code: ErrorCode  # type: ignore[valid-type]
    message: str = strawberry.field(description="Human-readable, safe to show; no secrets.")
    provider: Provider | None = strawberry.field(  # type: ignore[valid-type]
        description="Null when the gateway itself refused the input."
    )
    provider_code: str | None = strawberry.field(
        description=(
            "What the provider said: its own code, or its message where it has no codes; "
            "null where the provider said nothing."
        )
    )
    field: str | None = strawberry.field(
        description='The input the error is about, e.g. "contact.phone".'
    )
    retryable: bool = strawberry.field(description="True when the same request may succeed later.")
    origin: ErrorOrigin = strawberry.field(  # type: ignore[valid-type]
        description="Who decided: the gateway, the provider, the connection, pacing, ..."
    )


@strawberry.type(description="Bad input, caught by the gateway or the provider.")
class ValidationError(Error):
    pass


@strawberry.type(description="The contact, list or list membership does not exist.")
class NotFoundError(Error):
    pass


@strawberry.type(description="The number failed carrier validation, or is a refused VOIP line.")
class NotSendableError(Error):
    pass


@strawberry.type(description="The provider refused the gateway's credentials (401/403).")
class AuthenticationError(Error):
    pass


@strawberry.type(description="Provider not configured, payment required, product not enabled.")
class ConfigurationError(Error):
    pass


@strawberry.type(description="The provider's rate limit, after the gateway's own retries.")
class RateLimitedError(Error):
    retry_after_seconds: float | None = None


@strawberry.type(description="5xx, timeout, connection failure or unreadable response.")
class ProviderUnavailableError(Error):
    retry_after_seconds: float | None = None


MEMBER_OF: dict[ErrorKind, type[Error]] = {
    ErrorKind.VALIDATION: ValidationError,
    ErrorKind.NOT_FOUND: NotFoundError,
    ErrorKind.NOT_SENDABLE: NotSendableError,
    ErrorKind.AUTHENTICATION: AuthenticationError,
    ErrorKind.CONFIGURATION: ConfigurationError,
    ErrorKind.RATE_LIMITED: RateLimitedError,
    ErrorKind.PROVIDER_UNAVAILABLE: ProviderUnavailableError,
}
ALL_MEMBERS = tuple(MEMBER_OF.values())


def error_from(
    failure: Failure, path: str | None = None, allowed: Collection[type[Error]] = ALL_MEMBERS
) -> Error:
    """The union member for `failure`, its field prefixed with the argument `path`.

    A mutation's union lists only the members it can meet; should a provider still answer
    something outside it, the client gets the nearest member it knows how to handle.
    """
    member = MEMBER_OF[failure.code.kind]
    if member not in allowed:
        member = ProviderUnavailableError if failure.is_retryable else ValidationError
    field = failure.field
    if path and field:
        field = f"{path}.{field}"
    common: dict[str, Any] = {
        "code": ErrorCode[failure.code.name],
        "message": failure.message,
        "provider": Provider[failure.provider.name] if failure.provider else None,
        "provider_code": failure.provider_code,
        "field": field,
        "retryable": failure.is_retryable,
        "origin": ErrorOrigin[failure.origin.name],
    }
    if member in (RateLimitedError, ProviderUnavailableError):
        return member(**common, retry_after_seconds=failure.retry_after)
    return member(**common)
