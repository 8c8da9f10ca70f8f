"""What a front-end needs to build a contact form for a provider: its capabilities (from the
adapter's own declaration, the one its checks and warnings use) and its field and tag
catalogues (through the same cached catalogues the writes use)."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from gateway.schema.enums import FieldUpdateMode, SubscriptionStatus
from providers.capabilities import Capabilities
from providers.errors import Failure
from providers.model import FieldDefinition


@strawberry.type(description="One ContactInput field: whether and where the provider keeps it.")
class FieldCapability:
    field: str = strawberry.field(description="The ContactInput field, e.g. firstName.")
    stored: bool
    provider_field: str | None = strawberry.field(
        description="Where the provider keeps it, in its own words; null when not stored."
    )
    note: str | None = strawberry.field(
        description="How it is kept, or why it is not (what the write's warning will say)."
    )


@strawberry.type(description="What a provider account stores and how it is reached.")
class ProviderCapabilities:
    contact_key: str = strawberry.field(
        description='The input a contact is found by: "phone" or "email".'
    )
    required_fields: list[str] = strawberry.field(
        description="ContactInput fields a contact cannot go without (the key first)."
    )
    update_finds_by: list[str] = strawberry.field(
        description="The ContactRefInput fields updateContactFields can find a contact by."
    )
    fields: list[FieldCapability] = strawberry.field(
        description="Every ContactInput field, stored or not."
    )
    field_modes: list[FieldUpdateMode]  # type: ignore[valid-type]
    statuses: list[SubscriptionStatus] = strawberry.field(  # type: ignore[valid-type]
        description="The statuses it can store; any other is not sent (a warning says so)."
    )
    max_tags: int | None = strawberry.field(description="Tags a contact may carry; null: any.")
    native_bulk: bool = strawberry.field(
        description="A bulk goes out through the provider's bulk endpoint (else single upserts)."
    )
    max_contacts_per_request: int | None = strawberry.field(
        description="Contacts in one bulk request to the provider; null without a bulk endpoint."
    )
    rate_limit: str | None = strawberry.field(
        description="The request budget the gateway paces to, e.g. 500/minute; null: none."
    )


@strawberry.type(description="A custom field the account has.")
class CustomFieldDefinition:
    key: str = strawberry.field(description="The customFields key to write it under.")
    label: str | None
    required: bool = strawberry.field(description="A new contact must have a value for it.")


def capabilities_of(declared: Capabilities) -> ProviderCapabilities:
    return ProviderCapabilities(
        contact_key=declared.contact_key,
        required_fields=list(declared.required),
        update_finds_by=list(declared.update_finds_by),
        fields=[
            FieldCapability(
                field=report.field,
                stored=report.stored,
                provider_field=report.provider_field,
                note=report.note,
            )
            for report in declared.fields()
        ],
        field_modes=[FieldUpdateMode[mode.name] for mode in declared.field_modes],
        statuses=[SubscriptionStatus[status.name] for status in declared.statuses],
        max_tags=declared.max_tags,
        native_bulk=declared.native_bulk,
        max_contacts_per_request=declared.max_contacts_per_request,
        rate_limit=declared.rate_limit,
    )


def definition_of(field: FieldDefinition) -> CustomFieldDefinition:
    return CustomFieldDefinition(key=field.key, label=field.label, required=field.required)


def query_error(failure: Failure) -> GraphQLError:
    """A catalogue read that failed: these fields are lists, not unions, so the failure is a
    GraphQL error whose extensions carry what an Error member would (code, provider, ...)."""
    return GraphQLError(
        failure.message,
        extensions={
            "code": failure.code.value,
            "provider": failure.provider.name if failure.provider else None,
            "providerCode": failure.provider_code,
            "retryable": failure.is_retryable,
            "origin": failure.origin.value,
        },
    )
