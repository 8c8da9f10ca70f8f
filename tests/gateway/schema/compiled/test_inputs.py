"""Inputs built by gateway.schema.compiled.inputs equal what strawberry's own conversion builds."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from strawberry.types.arguments import convert_argument
from strawberry.types.base import get_object_definition

from gateway.schema import build_schema
from gateway.schema.enums import FieldUpdateMode, SubscriptionStatus
from gateway.schema.inputs import ContactInput, ContactRefInput

FULL = {
    "phone": "(415) 555-2671",
    "email": "a@example.com",
    "firstName": "Ada",
    "lastName": None,
    "listNumber": "+18005551234",
    "customFields": {"plan": "gold", "visits": 3, "vip": True},
    "fieldMode": FieldUpdateMode.REPLACE,  # type: ignore[attr-defined]
    "tags": ["a", "b"],
    "status": SubscriptionStatus.SUBSCRIBED,  # type: ignore[attr-defined]
    "enrollInJourneys": True,
    "signupDate": "2025-03-15T14:30:00Z",
    "ipAddress": "203.0.113.7",
    "signupUrl": "https://example.com",
    "trackly": {"skipJourneyIfExists": False, "adNetworkSource": "fb"},
    "heymarket": {"displayName": "Ada L.", "assigneeId": -1},
}


@pytest.fixture
def strawberry_own() -> Iterator[Any]:
    """Convert with strawberry's field-by-field path, the hook switched off for the call."""

    def convert(value: dict[str, Any], type_: type) -> Any:
        definitions = [get_object_definition(t, strict=True) for t in _input_types()]
        hooks = [d.from_input for d in definitions]
        for definition in definitions:
            definition.from_input = None
        try:
            return _convert(value, type_)
        finally:
            for definition, hook in zip(definitions, hooks, strict=True):
                definition.from_input = hook

    yield convert


def _input_types() -> list[type]:
    from gateway.schema.inputs import HeymarketContactOptions, TracklyContactOptions

    return [ContactInput, ContactRefInput, TracklyContactOptions, HeymarketContactOptions]


SCHEMA = build_schema()


def _convert(value: dict[str, Any], type_: type) -> Any:
    """What the schema's resolvers receive for `value` (already coerced by graphql-core)."""
    registry = SCHEMA.schema_converter.scalar_registry
    return convert_argument(value, type_, registry, SCHEMA.config)


@pytest.mark.parametrize(
    "value",
    [FULL, {"phone": "+14155552671"}, {}, {"tags": None, "trackly": None}],
    ids=["every field", "phone only", "empty", "explicit nulls"],
)
def test_a_contact_input_is_built_exactly_as_strawberry_builds_it(
    value: dict[str, Any], strawberry_own: Any
) -> None:
    fast, slow = _convert(value, ContactInput), strawberry_own(value, ContactInput)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    assert type(fast.trackly) is type(slow.trackly)


def test_a_list_value_is_copied_not_shared() -> None:
    tags = ["a"]
    built = _convert({"tags": tags}, ContactInput)
    assert built.tags == tags and built.tags is not tags


def test_a_contact_ref_input_is_built_exactly_as_strawberry_builds_it(strawberry_own: Any) -> None:
    value = {"phone": "+14155552671", "id": "42", "listNumber": None}
    fast, slow = _convert(value, ContactRefInput), strawberry_own(value, ContactRefInput)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
