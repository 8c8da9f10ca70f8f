"""GraphQL inputs -> the neutral model, with every gateway check applied on the way."""

from __future__ import annotations

from typing import Any, TypeVar

from strawberry import UNSET

from gateway import validation as check
from gateway.schema.inputs import ContactInput, ContactRefInput
from providers.model import (
    ContactDraft,
    ContactRef,
    FieldMode,
    HeymarketOptions,
    SubscriptionStatus,
    TracklyOptions,
)

T = TypeVar("T")


def given(value: T | None) -> T | None:
    """An input left out (UNSET) is the same as null for every check below."""
    return None if value is UNSET else value


def to_draft(contact: ContactInput, region: str) -> ContactDraft:
    """Raise ProviderError (field relative to the contact) for the first bad value."""
    fields, status = given(contact.custom_fields), given(contact.status)
    return ContactDraft(
        phone=check.phone(given(contact.phone), region),
        email=check.email(given(contact.email)),
        first_name=check.text(given(contact.first_name), "firstName"),
        last_name=check.text(given(contact.last_name), "lastName"),
        list_number=check.phone(given(contact.list_number), region, "listNumber"),
        custom_fields=None if fields is None else check.custom_fields(fields),
        field_mode=to_mode(given(contact.field_mode)),
        tags=check.tags(given(contact.tags)),
        status=SubscriptionStatus[status.name] if status else None,
        enroll_in_journeys=bool(given(contact.enroll_in_journeys)),
        signup_date=check.signup_date(given(contact.signup_date)),
        ip_address=check.ip_address(given(contact.ip_address)),
        signup_url=check.text(given(contact.signup_url), "signupUrl"),
        trackly=_trackly(contact),
        heymarket=_heymarket(contact),
    )


def to_ref(ref: ContactRefInput, region: str) -> ContactRef:
    return ContactRef(
        phone=check.phone(given(ref.phone), region),
        email=check.email(given(ref.email)),
        id=check.text(str(given(ref.id)), "id") if given(ref.id) is not None else None,
        list_number=check.phone(given(ref.list_number), region, "listNumber"),
    )


def to_mode(mode: Any) -> FieldMode:
    return FieldMode[mode.name] if mode is not None else FieldMode.MERGE


def _trackly(contact: ContactInput) -> TracklyOptions | None:
    options = given(contact.trackly)
    if options is None:
        return None
    return TracklyOptions(
        skip_journey_if_exists=given(options.skip_journey_if_exists) is not False,
        ad_network_source=check.text(given(options.ad_network_source), "trackly.adNetworkSource"),
        ad_network_id=check.text(given(options.ad_network_id), "trackly.adNetworkId"),
    )


def _heymarket(contact: ContactInput) -> HeymarketOptions | None:
    options = given(contact.heymarket)
    if options is None:
        return None
    return HeymarketOptions(
        display_name=check.text(given(options.display_name), "heymarket.displayName"),
        avatar_url=check.text(given(options.avatar_url), "heymarket.avatarUrl"),
        assignee_id=given(options.assignee_id),
    )
