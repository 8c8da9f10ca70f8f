"""GraphQL inputs -> the neutral model, with every gateway check applied on the way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from strawberry import UNSET

from gateway.input import validation as check
from gateway.schema.enums import FieldUpdateMode
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
    """Raise ProviderError (field relative to the contact) for the first bad value.

    Only the values the client gave are checked, in the input's field order (a bulk contact
    usually gives two or three of fifteen): left out (UNSET) or null, a field keeps the
    draft's default.
    """
    return draft_of(vars(contact), region)


def draft_of(values: Mapping[str, Any], region: str) -> ContactDraft:
    """`to_draft` of a ContactInput whose attributes are `values` (each of its fields, in its
    field order: the order decides which bad value is reported first), without building it."""
    draft: dict[str, Any] = {}
    for name, value in values.items():
        if value is not UNSET and value is not None:
            check_value = CHECKS.get(name)
            if check_value is not None:
                draft[name] = check_value(value, region)
    return ContactDraft.of(draft)


def to_ref(ref: ContactRefInput, region: str) -> ContactRef:
    return ContactRef(
        phone=check.phone(given(ref.phone), region),
        email=check.email(given(ref.email)),
        id=check.text(str(given(ref.id)), "id") if given(ref.id) is not None else None,
        list_number=check.phone(given(ref.list_number), region, "listNumber"),
    )


def to_mode(mode: Any) -> FieldMode:
    if mode is None:
        return FieldMode.MERGE
    return _MODES.get(mode) or FieldMode[mode.name]


_MODES = {mode: FieldMode[mode.name] for mode in FieldUpdateMode}


def _trackly(options: Any, region: str) -> TracklyOptions:
    return TracklyOptions(
        skip_journey_if_exists=given(options.skip_journey_if_exists) is not False,
        ad_network_source=check.text(given(options.ad_network_source), "trackly.adNetworkSource"),
        ad_network_id=check.text(given(options.ad_network_id), "trackly.adNetworkId"),
    )


def _heymarket(options: Any, region: str) -> HeymarketOptions:
    return HeymarketOptions(
        display_name=check.text(given(options.display_name), "heymarket.displayName"),
        avatar_url=check.text(given(options.avatar_url), "heymarket.avatarUrl"),
        assignee_id=given(options.assignee_id),
    )


def _text(field: str) -> Callable[[str, str], str | None]:
    return lambda value, region: check.text(value, field)


# ContactInput attribute -> what turns a given (not null) value into the draft's value (also
# what an import's CSV rows are checked with: gateway/imports/rows.py).
CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "phone": check.phone,
    "email": lambda value, region: check.email(value),
    "first_name": _text("firstName"),
    "last_name": _text("lastName"),
    "list_number": lambda value, region: check.phone(value, region, "listNumber"),
    "custom_fields": lambda value, region: check.custom_fields(value),
    "field_mode": lambda value, region: to_mode(value),
    "tags": lambda value, region: check.tags(value),
    "status": lambda value, region: SubscriptionStatus[value.name],
    "enroll_in_journeys": lambda value, region: bool(value),
    "signup_date": lambda value, region: check.signup_date(value),
    "ip_address": lambda value, region: check.ip_address(value),
    "signup_url": _text("signupUrl"),
    "trackly": _trackly,
    "heymarket": _heymarket,
}
