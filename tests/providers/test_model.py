"""The neutral model's own behaviour."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from providers.model import (
    ContactDraft,
    FieldMode,
    HeymarketOptions,
    SubscriptionStatus,
    TracklyOptions,
)

EVERY_FIELD: dict[str, Any] = {
    "phone": "+14155552671",
    "email": "ann@example.com",
    "first_name": "Ann",
    "last_name": "Lee",
    "list_number": "+18005551234",
    "custom_fields": {"plan": "gold", "visits": 3},
    "field_mode": FieldMode.REPLACE,
    "tags": ("vip",),
    "status": SubscriptionStatus.UNSUBSCRIBED,
    "enroll_in_journeys": True,
    "signup_date": datetime(2026, 1, 2, tzinfo=UTC),
    "ip_address": "192.0.2.1",
    "signup_url": "https://example.com/join",
    "trackly": TracklyOptions(skip_journey_if_exists=False),
    "heymarket": HeymarketOptions(display_name="Ann"),
}


def test_every_field_is_in_the_differential_case() -> None:
    assert set(EVERY_FIELD) == {item.name for item in dataclasses.fields(ContactDraft)}


@pytest.mark.parametrize("given", [{}, {"phone": "+14155552671"}, EVERY_FIELD])
def test_of_builds_what_the_constructor_builds(given: dict[str, Any]) -> None:
    built, fast = ContactDraft(**given), ContactDraft.of(dict(given))
    assert fast == built
    assert repr(fast) == repr(built)
    assert dataclasses.asdict(fast) == dataclasses.asdict(built)
    assert dataclasses.replace(fast, email="b@example.com") == dataclasses.replace(
        built, email="b@example.com"
    )


def test_a_draft_built_by_of_is_as_frozen_as_any_other() -> None:
    draft = ContactDraft.of({"phone": "+14155552671"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.phone = "+14155550000"  # type: ignore[misc]


def test_of_does_not_share_state_between_drafts() -> None:
    first = ContactDraft.of({"phone": "+14155552671"})
    second = ContactDraft.of({})
    assert second.phone is None and first.phone == "+14155552671"


def test_a_field_left_out_of_of_reads_its_default() -> None:
    # `of` relies on dataclass leaving each field's plain default as a class attribute.
    draft = ContactDraft.of({})
    for item in dataclasses.fields(ContactDraft):
        assert item.default is not dataclasses.MISSING, item.name  # no default_factory
        assert getattr(draft, item.name) == item.default
    assert ContactDraft.of({}) == ContactDraft()
