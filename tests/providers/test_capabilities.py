"""Each adapter's declared capabilities, its warnings and its local refusals cannot disagree:
every unified input, for every registered provider, walked through all three."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from providers.base import ContactAdapter, Runtime
from providers.capabilities import INPUTS, Stored
from providers.errors import ErrorCode
from providers.model import (
    ContactDraft,
    FieldMode,
    HeymarketOptions,
    ProviderName,
    SubscriptionStatus,
    TracklyOptions,
)
from providers.registry import REGISTRY

SAMPLES: dict[str, Any] = {
    "phone": "+14155552671",
    "email": "ann@example.com",
    "first_name": "Ann",
    "last_name": "Lee",
    "list_number": "+18005551234",
    "custom_fields": {"tier": "gold"},
    "field_mode": FieldMode.REPLACE,
    "tags": ("vip",),
    "status": SubscriptionStatus.SUBSCRIBED,
    "enroll_in_journeys": True,
    "signup_date": datetime(2024, 5, 1, tzinfo=UTC),
    "ip_address": "203.0.113.7",
    "signup_url": "https://example.com/join",
    "trackly": TracklyOptions(ad_network_source="fb"),
    "heymarket": HeymarketOptions(display_name="Ann"),
}
ATTRIBUTE = dict((name, attr) for attr, name in INPUTS)


def adapters(account: str) -> list[Any]:
    """One adapter per registered provider: on its sandbox account, or `describe(None)`'s."""
    built = []
    for spec in REGISTRY.values():
        settings = spec.sandbox.settings(f"http://{spec.name.value}.test")
        adapter = spec.build(settings, httpx.AsyncClient(), Runtime())
        if account == "unconfigured":
            adapter.capabilities = spec.describe(None)
        built.append(pytest.param(adapter, id=f"{spec.name.value}-{account}"))
    return built


ALL = adapters("sandbox") + adapters("unconfigured")


def minimal(adapter: ContactAdapter) -> ContactDraft:
    """A contact with just what the provider requires."""
    given = {ATTRIBUTE[name]: SAMPLES[ATTRIBUTE[name]] for name in adapter.capabilities.required}
    return ContactDraft(**given)


@pytest.mark.parametrize("adapter", ALL)
def test_the_minimal_contact_is_accepted_without_a_warning(adapter: ContactAdapter) -> None:
    contact = minimal(adapter)
    assert adapter.check(contact) is None
    assert adapter.warnings_for(contact) == []


@pytest.mark.parametrize("adapter", ALL)
@pytest.mark.parametrize(("attr", "name"), INPUTS, ids=[name for _, name in INPUTS])
def test_an_input_is_warned_about_exactly_when_it_is_declared_not_stored(
    adapter: ContactAdapter, attr: str, name: str
) -> None:
    given: dict[str, Any] = {attr: SAMPLES[attr]}
    contact = replace(minimal(adapter), **given)
    [declared] = [f for f in adapter.capabilities.fields() if f.field == name]
    warned = [w for w in adapter.warnings_for(contact) if w.split(" ", 1)[0] == name]
    assert adapter.check(contact) is None, name
    if declared.stored or name == "fieldMode":  # fieldMode always has a value: never warned
        assert warned == [], (name, warned)
        return
    assert len(warned) == 1, (name, adapter.warnings_for(contact))
    assert declared.note and declared.note in warned[0]  # the warning says the declared why


@pytest.mark.parametrize("adapter", ALL)
@pytest.mark.parametrize("status", list(SubscriptionStatus), ids=lambda s: s.value)
def test_a_status_is_sent_exactly_when_it_is_declared_storable(
    adapter: ContactAdapter, status: SubscriptionStatus
) -> None:
    contact = replace(minimal(adapter), status=status)
    capabilities = adapter.capabilities
    warned = [w for w in adapter.warnings_for(contact) if w.startswith("status")]
    if "status" not in capabilities.stored:
        assert len(warned) == 1 and warned[0].startswith("status was not sent")
    elif status in capabilities.statuses:
        assert warned == []
    else:
        assert warned == [f"{warned[0]}"] and status.value in warned[0]


@pytest.mark.parametrize("adapter", ALL)
def test_the_declared_tag_limit_is_the_one_refused(adapter: ContactAdapter) -> None:
    limit = adapter.capabilities.max_tags
    if limit is None:
        contact = replace(minimal(adapter), tags=tuple(f"t{n}" for n in range(50)))
        assert adapter.check(contact) is None
        return
    at_limit = replace(minimal(adapter), tags=tuple(f"t{n}" for n in range(limit)))
    over = replace(minimal(adapter), tags=tuple(f"t{n}" for n in range(limit + 1)))
    assert adapter.check(at_limit) is None
    refused = adapter.check(over)
    assert refused is not None and refused.code is ErrorCode.TOO_MANY_TAGS
    assert refused.field == "tags"


@pytest.mark.parametrize("adapter", ALL)
def test_each_declared_required_input_is_refused_when_missing(adapter: ContactAdapter) -> None:
    required = adapter.capabilities.required
    assert next(iter(required)) == adapter.capabilities.contact_key
    for name in required:
        missing: dict[str, Any] = {ATTRIBUTE[name]: None}
        contact = replace(minimal(adapter), **missing)
        refused = adapter.check(contact)
        assert refused is not None and refused.field == name
        assert refused.code.name.startswith("MISSING_")


def test_every_input_of_the_schema_is_declared_one_way_or_the_other() -> None:
    from gateway.schema import build_schema

    schema = build_schema()._schema
    contact_input = schema.type_map["ContactInput"]
    fields = getattr(contact_input, "fields", {})
    assert sorted(fields) == sorted(name for _, name in INPUTS)


# The emptiest value of its type each input can be given (a bool input: its one non-default).
EMPTIEST: dict[str, Any] = {
    **{attr: "" for attr in ("email", "first_name", "last_name", "ip_address", "signup_url")},
    "tags": (),
    "custom_fields": {},
    "enroll_in_journeys": True,
}


@pytest.mark.parametrize("adapter", ALL)
def test_an_empty_but_given_input_is_warned_about_as_any_other(adapter: ContactAdapter) -> None:
    # warnings() skips its walk when the unstored inputs are all at their defaults (None, and
    # False for enrollInJourneys); a given value that is merely empty is not a default.
    capabilities = adapter.capabilities
    for attr, name in capabilities._unstored:
        if attr not in EMPTIEST:
            continue
        contact = replace(minimal(adapter), **{attr: EMPTIEST[attr]})
        walked: list[str] = []
        capabilities._unstored_notes(contact, walked)
        told = [w for w in capabilities.warnings(contact) if w.split(" ", 1)[0] == name]
        assert told == walked, name
        assert told, name


@pytest.mark.parametrize("kept", [0, 1, 2], ids=["all-but-none", "all-but-one", "all-but-two"])
def test_warnings_hold_whatever_few_inputs_are_unstored(kept: int) -> None:
    # warnings() reads the unstored inputs' values together: for none, one or several of them.
    capabilities = REGISTRY[ProviderName.TRACKLY].describe(None)
    unstored = [name for attr, name in capabilities._unstored]
    stored = {name: Stored(name) for _, name in INPUTS if name not in unstored[:kept]}
    narrowed = replace(capabilities, stored=stored)
    assert [name for _, name in narrowed._unstored] == unstored[:kept]
    assert narrowed.warnings(ContactDraft()) == []
    for attr, name in narrowed._unstored:
        told = narrowed.warnings(ContactDraft(**{attr: SAMPLES[attr]}))
        assert [w.split(" ", 1)[0] for w in told] == [name]
