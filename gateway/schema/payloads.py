"""Success payloads and the three result unions."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from gateway.schema.enums import Provider, SubscriptionStatus
from gateway.schema.errors import (
    AuthenticationError,
    ConfigurationError,
    Error,
    NotFoundError,
    NotSendableError,
    ProviderUnavailableError,
    RateLimitedError,
    ValidationError,
)
from gateway.schema.scalars import CustomFields


@strawberry.type(
    description=(
        "A contact as the provider holds it after the mutation. A field is null where the "
        "provider's answer did not say it (never guessed from the input)."
    )
)
class Contact:
    provider: Provider  # type: ignore[valid-type]
    id: strawberry.ID = strawberry.field(
        description=(
            "One id per contact in every answer of a provider: Heymarket's integer id, "
            "CampaignLark's 24-hex id, the E.164 phone for Trackly (its write API has no id)."
        )
    )
    phone: str | None = None
    email: str | None = None
    custom_fields: CustomFields | None = None
    first_name: str | None = None
    last_name: str | None = None
    tags: list[str] | None = None
    status: SubscriptionStatus | None = None  # type: ignore[valid-type]


@strawberry.type(
    description=(
        "One write request a dry run (validateOnly) would have sent to the provider, exactly: "
        "no host, no header, no credential."
    )
)
class ProviderRequest:
    method: str
    path: str = strawberry.field(
        description="Relative to the provider account's base_url, with its query string."
    )
    body: JSON | None = strawberry.field(
        description="The JSON body, as the bytes a real call sends (null: no body)."
    )


_DRY_RUN = "True exactly when validateOnly was given: nothing was written."
_PREVIEW = "The write requests that would be sent, in order; null on real writes."


@strawberry.type
class UpsertContactSuccess:
    contact: Contact
    created: bool = strawberry.field(description="A new contact record was made at the provider.")
    list_membership_created: bool | None = strawberry.field(
        description="Trackly is_new_list_contact; null where the provider has no lists."
    )
    list_contact_id: strawberry.ID | None = strawberry.field(description="Trackly list_contact_id.")
    journeys_enrolled: int = strawberry.field(description="Trackly journeys_enrolled; 0 elsewhere.")
    warnings: list[str] = strawberry.field(
        description="The provider's warnings plus the gateway's (dropped fields, ...)."
    )
    dry_run: bool = strawberry.field(default=False, description=_DRY_RUN)
    preview: list[ProviderRequest] | None = strawberry.field(default=None, description=_PREVIEW)


@strawberry.type
class UpdateContactFieldsSuccess:
    contact: Contact
    custom_fields: CustomFields = strawberry.field(description="The full set after the update.")
    warnings: list[str] = strawberry.field(
        default_factory=list,
        description="The gateway's notes; a dry run's say which reads it made.",
    )
    dry_run: bool = strawberry.field(default=False, description=_DRY_RUN)
    preview: list[ProviderRequest] | None = strawberry.field(default=None, description=_PREVIEW)


@strawberry.type
class BulkItemError:
    index: int = strawberry.field(description="Position in the input list.")
    phone: str | None
    email: str | None
    error: Error


@strawberry.type
class BulkUpsertContactsSuccess:
    success_count: int = strawberry.field(
        description="successCount + errorCount == number of contacts sent, always."
    )
    error_count: int
    contacts_created: int
    list_contacts_created: int
    journeys_enrolled: int
    errors: list[BulkItemError]
    warnings: list[str]
    dry_run: bool = strawberry.field(default=False, description=_DRY_RUN)
    preview: list[ProviderRequest] | None = strawberry.field(default=None, description=_PREVIEW)


UPSERT_ERRORS = (
    ValidationError,
    NotFoundError,
    NotSendableError,
    AuthenticationError,
    ConfigurationError,
    RateLimitedError,
    ProviderUnavailableError,
)
UPDATE_ERRORS = (
    ValidationError,
    NotFoundError,
    AuthenticationError,
    ConfigurationError,
    RateLimitedError,
    ProviderUnavailableError,
)
BULK_ERRORS = (
    ValidationError,
    AuthenticationError,
    ConfigurationError,
    RateLimitedError,
    ProviderUnavailableError,
)

UpsertContactResult = Annotated[
    UpsertContactSuccess
    | ValidationError
    | NotFoundError
    | NotSendableError
    | AuthenticationError
    | ConfigurationError
    | RateLimitedError
    | ProviderUnavailableError,
    strawberry.union("UpsertContactResult"),
]
UpdateContactFieldsResult = Annotated[
    UpdateContactFieldsSuccess
    | ValidationError
    | NotFoundError
    | AuthenticationError
    | ConfigurationError
    | RateLimitedError
    | ProviderUnavailableError,
    strawberry.union("UpdateContactFieldsResult"),
]
BulkUpsertContactsResult = Annotated[
    BulkUpsertContactsSuccess
    | ValidationError
    | AuthenticationError
    | ConfigurationError
    | RateLimitedError
    | ProviderUnavailableError,
    strawberry.union("BulkUpsertContactsResult"),
]
