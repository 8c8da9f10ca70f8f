"""The playground's ready examples, as data: one entry per provider, in the order tabs open.

Each example is one named operation plus variables that succeed against the sandbox (or, for an
error example, give the typed error named in `expect`). The documents are shared by every
provider: only the variables differ, so adding a provider means adding variables here.
tests/test_playground_examples.py checks every example against the schema, and runs the ones of
every provider whose simulator exists against the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.model import ProviderName

_ERRORS = "... on Error { code message provider providerCode field retryable }"

# Each document is named `Operation`; an example renames it (see Example.query).
UPSERT = (
    """mutation Operation($provider: Provider!, $contact: ContactInput!) {
  upsertContact(provider: $provider, contact: $contact) {
    __typename
    ... on UpsertContactSuccess {
      contact { id phone email customFields }
      created listMembershipCreated journeysEnrolled warnings
    }
    """
    + _ERRORS
    + """
  }
}"""
)

BULK = (
    """mutation Operation($provider: Provider!, $contacts: [ContactInput!]!) {
  bulkUpsertContacts(provider: $provider, contacts: $contacts) {
    __typename
    ... on BulkUpsertContactsSuccess {
      successCount errorCount contactsCreated listContactsCreated journeysEnrolled warnings
      errors { index phone email error { __typename code message field } }
    }
    """
    + _ERRORS
    + """
  }
}"""
)

UPDATE = (
    """mutation Operation(
  $provider: Provider!, $contact: ContactRefInput!, $fields: CustomFields!, $mode: FieldUpdateMode
) {
  updateContactFields(provider: $provider, contact: $contact, customFields: $fields, mode: $mode) {
    __typename
    ... on UpdateContactFieldsSuccess { contact { id phone email } customFields }
    """
    + _ERRORS
    + """
  }
}"""
)


@dataclass(frozen=True)
class Example:
    """One playground tab. `name` is the GraphQL operation name, shown as the tab's title."""

    name: str
    document: str  # UPSERT, BULK or UPDATE
    variables: Mapping[str, Any]
    expect: str  # the __typename the sandbox answers with
    note: str = ""

    @property
    def query(self) -> str:
        return self.document.replace("mutation Operation", f"mutation {self.name}", 1)


# Numbers from the Trackly simulator: +14155552671 is an ordinary mobile number; new numbers
# in 555-0100..555-0199 of any area code are VOIP lines the carrier check refuses.
_TRACKLY: tuple[Example, ...] = (
    Example(
        "TracklyUpsertContact",
        UPSERT,
        {
            "provider": "TRACKLY",
            "contact": {
                "phone": "(415) 555-2671",
                "firstName": "Ada",
                "customFields": {"plan": "gold"},
                "enrollInJourneys": True,
            },
        },
        expect="UpsertContactSuccess",
        note="Creates the contact on the default sending list and enrolls it in its journey.",
    ),
    Example(
        "TracklyBulkUpsertContacts",
        BULK,
        {
            "provider": "TRACKLY",
            "contacts": [
                {"phone": "+14155552672", "customFields": {"plan": "silver"}},
                {"phone": "+14155552673", "listNumber": "+18005550000"},
                {"phone": "+14155550124"},
            ],
        },
        expect="BulkUpsertContactsSuccess",
        note="Two contacts succeed; the third is a VOIP number, reported at its index.",
    ),
    Example(
        "TracklyUpdateContactFields",
        UPDATE,
        {
            "provider": "TRACKLY",
            "contact": {"phone": "(415) 555-2671"},
            "fields": {"plan": "platinum", "vip": True},
            "mode": "MERGE",
        },
        expect="UpdateContactFieldsSuccess",
        note="Run TracklyUpsertContact first: fields are set on an existing contact.",
    ),
    Example(
        "TracklyNotSendable",
        UPSERT,
        {"provider": "TRACKLY", "contact": {"phone": "+14155550123"}},
        expect="NotSendableError",
        note="A typed error: the carrier check refuses this VOIP number.",
    ),
)

# Heymarket and CampaignLark: add their examples here when their simulators land in the
# sandbox (see gateway/sandbox.py); the test then runs them against it.
EXAMPLES: Mapping[ProviderName, tuple[Example, ...]] = {
    ProviderName.TRACKLY: _TRACKLY,
    ProviderName.HEYMARKET: (),
    ProviderName.CAMPAIGNLARK: (),
}
