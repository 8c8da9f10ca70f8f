"""The one error vocabulary every adapter speaks.

    ProviderError (exception)  -- carries one Failure
    Failure (value)            -- code, message, origin, provider, provider_code, field, ...
      .code: ErrorCode         -- the single source of truth for the GraphQL ErrorCode enum
      .code.kind: ErrorKind    -- which GraphQL union member the client gets
      .origin: Origin          -- who decided: the gateway, the provider, the connection, ...

Adapters raise ProviderError; nothing else may escape an adapter for an expected outcome.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from providers.model import ProviderName


class ErrorKind(enum.Enum):
    """The families of failure; the gateway turns each into one union member."""

    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    NOT_SENDABLE = "not_sendable"
    AUTHENTICATION = "authentication"
    CONFIGURATION = "configuration"
    RATE_LIMITED = "rate_limited"
    PROVIDER_UNAVAILABLE = "provider_unavailable"


class Origin(enum.Enum):
    """Who decided a failure; the retry layer and the circuit breaker reason on it, and the
    client sees it as `Error.origin`."""

    GATEWAY = "GATEWAY"  # the gateway's own checks of the input (or of what a catalogue says)
    PROVIDER = "PROVIDER"  # the provider's answer; provider_code is what it said
    TRANSPORT = "TRANSPORT"  # the connection: refused, reset, timed out, an unreadable answer
    PACING = "PACING"  # the gateway's pacing: the provider's budget is spent for now
    CIRCUIT = "CIRCUIT"  # an open circuit: the provider kept failing
    DEADLINE = "DEADLINE"  # the operation's deadline passed


class ErrorCode(enum.Enum):
    MISSING_PHONE_NUMBER = "MISSING_PHONE_NUMBER"
    MISSING_LIST_NUMBER = "MISSING_LIST_NUMBER"
    MISSING_EMAIL = "MISSING_EMAIL"
    MISSING_CUSTOM_FIELDS = "MISSING_CUSTOM_FIELDS"
    MISSING_STATUS = "MISSING_STATUS"
    MISSING_FIELDS = "MISSING_FIELDS"
    MISSING_CONTACTS = "MISSING_CONTACTS"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_LIST_NUMBER = "INVALID_LIST_NUMBER"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_CUSTOM_FIELDS = "INVALID_CUSTOM_FIELDS"
    INVALID_STATUS = "INVALID_STATUS"
    INVALID_CONTACT_ID = "INVALID_CONTACT_ID"
    INVALID_REQUEST = "INVALID_REQUEST"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    UNKNOWN_TAG = "UNKNOWN_TAG"
    REQUIRED_FIELD_MISSING = "REQUIRED_FIELD_MISSING"
    TOO_MANY_TAGS = "TOO_MANY_TAGS"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    TOO_MANY_CONTACTS = "TOO_MANY_CONTACTS"
    CONTACT_NOT_FOUND = "CONTACT_NOT_FOUND"
    LIST_NOT_FOUND = "LIST_NOT_FOUND"
    LIST_CONTACT_NOT_FOUND = "LIST_CONTACT_NOT_FOUND"
    NOT_SENDABLE = "NOT_SENDABLE"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    PROVIDER_NOT_CONFIGURED = "PROVIDER_NOT_CONFIGURED"
    PAYMENT_REQUIRED = "PAYMENT_REQUIRED"
    PRODUCT_NOT_ENABLED = "PRODUCT_NOT_ENABLED"
    RATE_LIMITED = "RATE_LIMITED"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    TIMEOUT = "TIMEOUT"
    UNAVAILABLE = "UNAVAILABLE"

    @property
    def kind(self) -> ErrorKind:
        return _KIND_OF[self]

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later without the client changing it."""
        return self.kind in (ErrorKind.RATE_LIMITED, ErrorKind.PROVIDER_UNAVAILABLE)


_V, _NF = ErrorKind.VALIDATION, ErrorKind.NOT_FOUND
_KIND_OF: dict[ErrorCode, ErrorKind] = {
    **{code: _V for code in ErrorCode if code.name.startswith(("MISSING_", "INVALID_"))},
    ErrorCode.UNKNOWN_FIELD: _V,
    ErrorCode.UNKNOWN_TAG: _V,
    ErrorCode.REQUIRED_FIELD_MISSING: _V,
    ErrorCode.TOO_MANY_TAGS: _V,
    ErrorCode.PAYLOAD_TOO_LARGE: _V,
    ErrorCode.TOO_MANY_CONTACTS: _V,
    ErrorCode.CONTACT_NOT_FOUND: _NF,
    ErrorCode.LIST_NOT_FOUND: _NF,
    ErrorCode.LIST_CONTACT_NOT_FOUND: _NF,
    ErrorCode.NOT_SENDABLE: ErrorKind.NOT_SENDABLE,
    ErrorCode.UNAUTHORIZED: ErrorKind.AUTHENTICATION,
    ErrorCode.FORBIDDEN: ErrorKind.AUTHENTICATION,
    ErrorCode.PROVIDER_NOT_CONFIGURED: ErrorKind.CONFIGURATION,
    ErrorCode.PAYMENT_REQUIRED: ErrorKind.CONFIGURATION,
    ErrorCode.PRODUCT_NOT_ENABLED: ErrorKind.CONFIGURATION,
    ErrorCode.RATE_LIMITED: ErrorKind.RATE_LIMITED,
    ErrorCode.PROVIDER_ERROR: ErrorKind.PROVIDER_UNAVAILABLE,
    ErrorCode.TIMEOUT: ErrorKind.PROVIDER_UNAVAILABLE,
    ErrorCode.UNAVAILABLE: ErrorKind.PROVIDER_UNAVAILABLE,
}


@dataclass(frozen=True, slots=True)
class Failure:
    """One expected failure, as the client will see it (minus GraphQL)."""

    code: ErrorCode
    message: str
    provider: ProviderName | None = None
    # Only what the provider said (its code, else its message); None where it said nothing.
    provider_code: str | None = None
    # The unified input name the failure is about ("phone", "customFields.tier");
    # the gateway prefixes it with the argument path.
    field: str | None = None
    retryable: bool | None = None
    retry_after: float | None = None
    origin: Origin = Origin.GATEWAY

    @property
    def is_retryable(self) -> bool:
        return self.code.retryable if self.retryable is None else self.retryable

    def with_field(self, field: str | None) -> Failure:
        return replace(self, field=field)


class ProviderError(Exception):
    """Raised by adapters (and the gateway's own checks) for every expected failure.

    `status` is the HTTP status of the provider's answer (None: there was no answer), and
    `reached` is False only when the request certainly never reached the provider; the retry
    layer uses both to decide what is safe to send again.
    """

    def __init__(self, failure: Failure, *, status: int | None = None, reached: bool = True):
        super().__init__(failure.message)
        self.failure = failure
        self.status = status
        self.reached = reached

    @classmethod
    def of(
        cls,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        provider: ProviderName | None = None,
    ) -> ProviderError:
        return cls(Failure(code=code, message=message, field=field, provider=provider))
