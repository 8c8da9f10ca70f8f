"""What a provider account can store and how it is reached, declared once per adapter.

The same declaration produces the gateway's local refusals (a missing contact key, too many
tags), its warnings (an input the provider has nowhere to keep is said, never dropped
silently) and what clients read as `providers { capabilities }`: the three cannot disagree.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from providers.errors import ErrorCode, Failure
from providers.model import ContactDraft, FieldMode, ProviderName, SubscriptionStatus
from providers.resilience.pacing import Rate
from providers.settings import ProviderSettings

# Every unified contact input: (ContactDraft attribute, the name clients know it by).
INPUTS: tuple[tuple[str, str], ...] = (
    ("phone", "phone"),
    ("email", "email"),
    ("first_name", "firstName"),
    ("last_name", "lastName"),
    ("list_number", "listNumber"),
    ("custom_fields", "customFields"),
    ("field_mode", "fieldMode"),
    ("tags", "tags"),
    ("status", "status"),
    ("enroll_in_journeys", "enrollInJourneys"),
    ("signup_date", "signupDate"),
    ("ip_address", "ipAddress"),
    ("signup_url", "signupUrl"),
    ("trackly", "trackly"),
    ("heymarket", "heymarket"),
)
_MISSING = {
    "phone": ErrorCode.MISSING_PHONE_NUMBER,
    "email": ErrorCode.MISSING_EMAIL,
    "listNumber": ErrorCode.MISSING_LIST_NUMBER,
}


@dataclass(frozen=True, slots=True)
class Stored:
    """Where the provider keeps one unified input."""

    provider_field: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FieldReport:
    field: str
    stored: bool
    provider_field: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Capabilities:
    provider: ProviderName
    contact_key: str  # the input a contact is found by: "phone" or "email"
    # Inputs a contact cannot go without (the contact key first), with what the gateway says
    # when one is missing.
    required: Mapping[str, str]
    update_finds_by: tuple[str, ...]  # the ContactRefInput fields an update can find it by
    stored: Mapping[str, Stored]  # unified input -> where it is kept; any other is not stored
    # Why an input is not kept, where that says more than "contacts have no <input>".
    not_stored: Mapping[str, str] = field(default_factory=dict)
    field_modes: tuple[FieldMode, ...] = (FieldMode.MERGE, FieldMode.REPLACE)
    statuses: tuple[SubscriptionStatus, ...] = ()
    max_tags: int | None = None
    native_bulk: bool = False
    max_contacts_per_request: int | None = None
    rate_limit: str | None = None
    # Requests a bulk spends on each contact besides its writes (Heymarket looks each new one
    # up before it creates it); with the writes and the budget, how long a bulk must take.
    bulk_reads_per_contact: int = 0
    _required: tuple[tuple[str, str, str], ...] = field(init=False, repr=False, compare=False)
    _unstored: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    _unstored_values: Callable[[ContactDraft], tuple[Any, ...]] = field(
        init=False, repr=False, compare=False
    )
    _none_given: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def bulk_seconds(self, contacts: int) -> float | None:
        """The least time `contacts` take under the account's budget (None: no budget): its
        requests (one per contact without a native bulk, else one per full request, plus the
        reads) at the budget's pace."""
        if self.rate_limit is None:
            return None
        rate = Rate.parse(self.rate_limit)
        per_request = self.max_contacts_per_request if self.native_bulk else None
        writes = math.ceil(contacts / per_request) if per_request else contacts
        requests = writes + contacts * self.bulk_reads_per_contact
        return requests * rate.period / rate.requests

    def fields(self) -> list[FieldReport]:
        """Every unified input, stored or not, in the schema's order."""
        reports = []
        for _, name in INPUTS:
            kept = self.stored.get(name)
            if kept is not None:
                reports.append(FieldReport(name, True, kept.provider_field, kept.note))
            else:
                reports.append(FieldReport(name, False, None, self._reason(name)))
        return reports

    def __post_init__(self) -> None:
        # Worked out once, not per contact (refusal and warnings run for each one a bulk or
        # an import sends): each required input's attribute, and the inputs nowhere stored.
        required = tuple(
            (_attribute(name), name, message) for name, message in self.required.items()
        )
        unstored = tuple((attr, name) for attr, name in _WARNED if name not in self.stored)
        object.__setattr__(self, "_required", required)
        object.__setattr__(self, "_unstored", unstored)
        # The unstored inputs' values in one C call, and what they are when none was given (a
        # draft's defaults: None, enrollInJourneys False): most contacts give none of them.
        attrs = [attr for attr, _ in unstored]
        get: Callable[[ContactDraft], tuple[Any, ...]]
        if len(attrs) > 1:  # attrgetter answers a tuple for two names or more
            get = operator.attrgetter(*attrs)
        else:
            get = lambda contact: tuple(getattr(contact, attr) for attr in attrs)  # noqa: E731
        object.__setattr__(self, "_unstored_values", get)
        object.__setattr__(self, "_none_given", tuple(_DEFAULTS[attr] for attr in attrs))

    def refusal(self, contact: ContactDraft) -> Failure | None:
        """What the gateway refuses itself, without a call: a required input missing (the
        contact key first), too many tags."""
        for attr, name, message in self._required:
            if not getattr(contact, attr):
                return Failure(_MISSING[name], message, field=name)
        tags = contact.tags
        if self.max_tags is not None and tags is not None and len(tags) > self.max_tags:
            return Failure(
                ErrorCode.TOO_MANY_TAGS,
                f"{len(tags)} tags; {self.provider.label} keeps at most {self.max_tags} per "
                "contact",
                field="tags",
            )
        return None

    def warnings(self, contact: ContactDraft) -> list[str]:
        """One warning per given input the provider has nowhere to keep."""
        notes: list[str] = []
        if self._unstored_values(contact) != self._none_given:  # else none to tell of
            self._unstored_notes(contact, notes)
        status = contact.status
        if status is not None and "status" in self.stored and status not in self.statuses:
            kept = " or ".join(s.value for s in self.statuses)
            notes.append(
                f"status {status.value} was not sent: {self.provider.label} stores only {kept}"
            )
        return notes

    def _unstored_notes(self, contact: ContactDraft, notes: list[str]) -> None:
        for attr, name in self._unstored:
            value = getattr(contact, attr)
            if value is None or value is False:
                continue
            if name in OPTIONS:
                notes.append(f"{name} options were ignored: {self._reason(name)}")
            else:
                verb = "ignored" if isinstance(value, bool) else "not sent"
                notes.append(f"{name} was {verb}: {self._reason(name)}")

    def _reason(self, name: str) -> str:
        if name in self.not_stored:
            return self.not_stored[name]
        if name in OPTIONS:
            return f"the contact was sent to {self.provider.label}"
        return f"{self.provider.label} contacts have no {name}"


# Inputs that are one provider's extras: another provider ignores them.
OPTIONS = frozenset({"trackly", "heymarket"})


def _attribute(name: str) -> str:
    return _ATTRIBUTES[name]


_ATTRIBUTES = {input_name: attr for attr, input_name in INPUTS}
_DEFAULTS = {item.name: item.default for item in fields(ContactDraft)}
# The inputs a warning can be about: fieldMode is how to write, never a value kept or not.
_WARNED = tuple((attr, name) for attr, name in INPUTS if name != "fieldMode")


def rate_limit_of(kind: type[ProviderSettings], settings: ProviderSettings | None) -> str | None:
    """The account's budget: its configured rate_limit, or the provider's documented default."""
    if settings is not None:
        return settings.rate_limit
    default = kind.model_fields["rate_limit"].default
    return default if isinstance(default, str) else None
