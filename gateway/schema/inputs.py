"""Mutation inputs, exactly as the contract names them."""

from __future__ import annotations

import strawberry

from gateway.schema.compiled.inputs import fast_input
from gateway.schema.enums import FieldUpdateMode, SubscriptionStatus
from gateway.schema.scalars import CustomFields


@fast_input
@strawberry.input(description="Trackly-only extras; ignored with a warning elsewhere.")
class TracklyContactOptions:
    skip_journey_if_exists: bool | None = True
    ad_network_source: str | None = strawberry.UNSET
    ad_network_id: str | None = strawberry.UNSET


@fast_input
@strawberry.input(description="Heymarket-only extras; ignored with a warning elsewhere.")
class HeymarketContactOptions:
    display_name: str | None = strawberry.UNSET
    avatar_url: str | None = strawberry.UNSET
    assignee_id: int | None = strawberry.field(
        default=strawberry.UNSET, description="-1 unassigns."
    )


@fast_input
@strawberry.input(description="A contact to create or update at a provider.")
class ContactInput:
    phone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Any usual format; normalised to E.164 with the default region.",
    )
    email: str | None = strawberry.UNSET
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    list_number: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Trackly sending list; defaults to providers.trackly.default_list_number.",
    )
    custom_fields: CustomFields | None = strawberry.UNSET
    field_mode: FieldUpdateMode | None = FieldUpdateMode.MERGE  # type: ignore[valid-type,attr-defined]
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Tag names.")
    status: SubscriptionStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    enroll_in_journeys: bool | None = strawberry.field(
        default=False, description="Trackly use_journeys."
    )
    signup_date: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 8601.")
    ip_address: str | None = strawberry.UNSET
    signup_url: str | None = strawberry.UNSET
    trackly: TracklyContactOptions | None = strawberry.UNSET
    heymarket: HeymarketContactOptions | None = strawberry.UNSET


@fast_input
@strawberry.input(description="Which existing contact to update.")
class ContactRefInput:
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Heymarket integer id (v1) or UUID (v2); CampaignLark 24-hex id; "
            "Trackly has no contact id in its write API."
        ),
    )
    list_number: str | None = strawberry.UNSET
