"""Provider adapters: each knows one provider's HTTP API and nothing of GraphQL."""

from providers.base import ContactAdapter, ProviderSpec, Runtime
from providers.errors import ErrorCode, ErrorKind, Failure, ProviderError
from providers.model import (
    BulkItemFailure,
    BulkResult,
    ContactDraft,
    ContactRecord,
    ContactRef,
    FieldMode,
    FieldsResult,
    HeymarketOptions,
    IndexedContact,
    ProviderName,
    SubscriptionStatus,
    TracklyOptions,
    UpsertResult,
)
from providers.settings import ProviderSettings

__all__ = [
    "BulkItemFailure",
    "BulkResult",
    "ContactAdapter",
    "ContactDraft",
    "ContactRecord",
    "ContactRef",
    "ErrorCode",
    "ErrorKind",
    "Failure",
    "FieldMode",
    "FieldsResult",
    "HeymarketOptions",
    "IndexedContact",
    "ProviderError",
    "ProviderName",
    "ProviderSettings",
    "ProviderSpec",
    "Runtime",
    "SubscriptionStatus",
    "TracklyOptions",
    "UpsertResult",
]
