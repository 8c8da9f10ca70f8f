"""The neutral contact model between the GraphQL schema and the providers' wire formats.

Everything here is already validated and normalised by the gateway: phones and list numbers
are E.164 with '+', custom field values are scalars, dates are timezone-aware.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from providers.errors import Failure


class ProviderName(enum.Enum):
    TRACKLY = "trackly"
    HEYMARKET = "heymarket"
    CAMPAIGNLARK = "campaignlark"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ProviderName.TRACKLY: "Trackly",
    ProviderName.HEYMARKET: "Heymarket",
    ProviderName.CAMPAIGNLARK: "CampaignLark",
}


class FieldMode(enum.Enum):
    MERGE = "MERGE"
    REPLACE = "REPLACE"


class SubscriptionStatus(enum.Enum):
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    UNCONFIRMED = "UNCONFIRMED"
    CLEANED = "CLEANED"
    COMPLAINED = "COMPLAINED"


FieldValue = str | int | float | bool
CustomFields = Mapping[str, FieldValue]


@dataclass(frozen=True, slots=True)
class TracklyOptions:
    skip_journey_if_exists: bool = True
    ad_network_source: str | None = None
    ad_network_id: str | None = None


@dataclass(frozen=True, slots=True)
class HeymarketOptions:
    display_name: str | None = None
    avatar_url: str | None = None
    assignee_id: int | None = None  # -1 unassigns


@dataclass(frozen=True)
class ContactDraft:
    """A contact to create or update, as the client described it.

    Not slotted: `of` builds one from its given values at a fifth of the generated __init__'s
    cost (a frozen class' __init__ sets each of its 15 fields through object.__setattr__), and
    an import builds one per contact (`make bench` 7 (a)).
    """

    phone: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    list_number: str | None = None
    custom_fields: CustomFields | None = None
    field_mode: FieldMode = FieldMode.MERGE
    tags: tuple[str, ...] | None = None
    status: SubscriptionStatus | None = None
    enroll_in_journeys: bool = False
    signup_date: datetime | None = None
    ip_address: str | None = None
    signup_url: str | None = None
    trackly: TracklyOptions | None = None
    heymarket: HeymarketOptions | None = None

    @classmethod
    def of(cls, values: dict[str, Any]) -> ContactDraft:
        """ContactDraft(**values), for a new dict keyed by field names, which the draft takes
        over as its __dict__: a field left out reads the class attribute dataclass leaves
        holding its default (every field here has a plain default). What __init__ would set,
        one field at a time; tests/providers/test_model.py holds the two equal."""
        draft = object.__new__(cls)
        object.__setattr__(draft, "__dict__", values)
        return draft


@dataclass(frozen=True, slots=True)
class IndexedContact:
    """A bulk item: its position in the client's list, and the contact."""

    index: int
    contact: ContactDraft


@dataclass(frozen=True, slots=True)
class ContactRef:
    """Which existing contact an update is about."""

    phone: str | None = None
    email: str | None = None
    id: str | None = None
    list_number: str | None = None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A contact as the provider answered it; None where its answer did not say (never guessed
    from the input)."""

    provider: ProviderName
    id: str
    phone: str | None = None
    email: str | None = None
    custom_fields: CustomFields | None = None
    first_name: str | None = None
    last_name: str | None = None
    tags: tuple[str, ...] | None = None
    status: SubscriptionStatus | None = None


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """A custom field the account has: the key clients write it under, its label."""

    key: str
    label: str | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class UpsertResult:
    contact: ContactRecord
    created: bool
    list_membership_created: bool | None = None
    list_contact_id: str | None = None
    journeys_enrolled: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldsResult:
    contact: ContactRecord
    custom_fields: CustomFields


@dataclass(slots=True)
class BulkResult:
    """Counts and per-item failures of a bulk upsert; `errors` is keyed by input index."""

    errors: dict[int, BulkItemFailure] = field(default_factory=dict)
    contacts_created: int = 0
    list_contacts_created: int = 0
    journeys_enrolled: int = 0
    warnings: list[str] = field(default_factory=list)

    def fail(self, item: IndexedContact, failure: Failure) -> None:
        # First failure wins: each index appears at most once.
        self.errors.setdefault(
            item.index,
            BulkItemFailure(item.index, item.contact.phone, item.contact.email, failure),
        )

    def merge(self, part: BulkResult) -> None:
        """Add a chunk's outcome; an index already failed keeps its first failure."""
        for index, failure in part.errors.items():
            self.errors.setdefault(index, failure)
        self.contacts_created += part.contacts_created
        self.list_contacts_created += part.list_contacts_created
        self.journeys_enrolled += part.journeys_enrolled
        for warning in part.warnings:
            if warning not in self.warnings:
                self.warnings.append(warning)


@dataclass(frozen=True, slots=True)
class BulkItemFailure:
    index: int
    phone: str | None
    email: str | None
    failure: Failure
