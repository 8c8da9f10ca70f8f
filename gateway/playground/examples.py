"""The playground's ready examples, as data: one entry per provider, in the order tabs open.

Each example is one named operation plus variables that succeed against the sandbox (or, for an
error example, give the typed error named in `expect`). The documents are shared by every
provider: only the variables differ, so adding a provider means adding variables here.
tests/gateway/playground/test_examples.py checks every example against the schema, and runs
the ones of every provider whose simulator exists against the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.model import ProviderName

_ERRORS = "... on Error { code message provider providerCode field retryable origin }"
# Every document takes $validateOnly: a dry run's answer shows the exact write requests.
_DRY_RUN = "dryRun preview { method path body }"

# Each document is named `Operation`; an example renames it (see Example.query).
UPSERT = (
    """mutation Operation(
  $provider: Provider!, $contact: ContactInput!, $validateOnly: Boolean = false
) {
  upsertContact(provider: $provider, contact: $contact, validateOnly: $validateOnly) {
    __typename
    ... on UpsertContactSuccess {
      contact { id phone email customFields }
      created listMembershipCreated journeysEnrolled warnings
      """
    + _DRY_RUN
    + """
    }
    """
    + _ERRORS
    + """
  }
}"""
)

BULK = (
    """mutation Operation(
  $provider: Provider!, $contacts: [ContactInput!]!, $validateOnly: Boolean = false
) {
  bulkUpsertContacts(provider: $provider, contacts: $contacts, validateOnly: $validateOnly) {
    __typename
    ... on BulkUpsertContactsSuccess {
      successCount errorCount contactsCreated listContactsCreated journeysEnrolled warnings
      errors { index phone email error { __typename code message field } }
      """
    + _DRY_RUN
    + """
    }
    """
    + _ERRORS
    + """
  }
}"""
)

UPDATE = (
    """mutation Operation(
  $provider: Provider!, $contact: ContactRefInput!, $fields: CustomFields!, $mode: FieldUpdateMode,
  $validateOnly: Boolean = false
) {
  updateContactFields(
    provider: $provider, contact: $contact, customFields: $fields, mode: $mode,
    validateOnly: $validateOnly
  ) {
    __typename
    ... on UpdateContactFieldsSuccess {
      contact { id phone email } customFields warnings
      """
    + _DRY_RUN
    + """
    }
    """
    + _ERRORS
    + """
  }
}"""
)


IMPORT = """mutation Operation($provider: Provider!, $contacts: [ContactInput!]) {
  startContactImport(provider: $provider, contacts: $contacts) {
    __typename
    ... on ContactImportStarted { contactImport { id status total createdAt } }
    ... on Error { code message field }
  }
}"""

# Runs over the playground's WebSocket (graphql-transport-ws); each checkpoint redraws the
# answer, and the subscription completes when the job ends.
PROGRESS = """subscription Operation($id: ID!) {
  contactImportProgress(id: $id) {
    id status total processed succeeded failed contactsCreated contactsPerMinute etaSeconds
    errors(first: 5) { index phone error { code message } }
  }
}"""


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
        document = self.document.replace("mutation Operation", f"mutation {self.name}", 1)
        return document.replace("subscription Operation", f"subscription {self.name}", 1)


def dry_run(name: str, example: Example) -> Example:
    """`example` with validateOnly: what it would send, with nothing written."""
    return Example(
        name,
        example.document,
        {**example.variables, "validateOnly": True},
        expect=example.expect,
        note=(
            f"A dry run of {example.name}: nothing is written; `preview` shows the exact "
            "request(s) it would send (method, path, body), `warnings` the reads it made."
        ),
    )


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

# Heymarket's simulator knows the custom fields plan, tier, source, score and vip, and the tags
# vip, lead, customer, newsletter, churned; at most 5 tags on a contact.
_HEYMARKET: tuple[Example, ...] = (
    Example(
        "HeymarketUpsertContact",
        UPSERT,
        {
            "provider": "HEYMARKET",
            "contact": {
                "phone": "(510) 555-3344",
                "firstName": "Grace",
                "lastName": "Hopper",
                "email": "grace@example.com",
                "customFields": {"plan": "gold", "score": 42},
                "tags": ["vip", "lead"],
                "status": "SUBSCRIBED",
            },
        },
        expect="UpsertContactSuccess",
        note="Looks the phone up, creates the contact; field and tag names become their ids.",
    ),
    Example(
        "HeymarketBulkUpsertContacts",
        BULK,
        {
            "provider": "HEYMARKET",
            "contacts": [
                {"phone": "+15105553345", "firstName": "Alan", "customFields": {"tier": "2"}},
                {"phone": "+15105553346", "tags": ["newsletter"]},
                {"phone": "+15105553347", "customFields": {"shoe_size": 9}},
            ],
        },
        expect="BulkUpsertContactsSuccess",
        note="Paced under 500 requests a minute; the third has a field Heymarket does not know.",
    ),
    Example(
        "HeymarketUpdateContactFields",
        UPDATE,
        {
            "provider": "HEYMARKET",
            "contact": {"phone": "(510) 555-3344"},
            "fields": {"tier": "platinum", "vip": "yes"},
            "mode": "MERGE",
        },
        expect="UpdateContactFieldsSuccess",
        note="Run HeymarketUpsertContact first; names are sent back so Heymarket keeps them.",
    ),
    Example(
        "HeymarketTooManyTags",
        UPSERT,
        {
            "provider": "HEYMARKET",
            "contact": {
                "phone": "+15105553348",
                "tags": ["vip", "lead", "customer", "newsletter", "churned", "tag-06"],
            },
        },
        expect="ValidationError",
        note="A typed error: Heymarket takes at most 5 tags, refused before any call.",
    ),
)

# CampaignLark's simulator workspace: merge tags email_address, first_name, last_name,
# phone_number, plan, score and lead_source (required for a new contact); tags newsletter,
# customers, vip, beta.
_CAMPAIGNLARK: tuple[Example, ...] = (
    Example(
        "CampaignLarkUpsertContact",
        UPSERT,
        {
            "provider": "CAMPAIGNLARK",
            "contact": {
                "email": "tyrion@example.com",
                "firstName": "Tyrion",
                "phone": "(415) 555-2671",
                "customFields": {"lead_source": "web", "plan": "gold"},
                "tags": ["vip"],
                "status": "SUBSCRIBED",
            },
        },
        expect="UpsertContactSuccess",
        note="Upserts by email; MERGE keeps the fields, tags and status not sent.",
    ),
    Example(
        "CampaignLarkBulkUpsertContacts",
        BULK,
        {
            "provider": "CAMPAIGNLARK",
            "contacts": [
                {"email": "sansa@example.com", "customFields": {"lead_source": "ads"}},
                {
                    "email": "arya@example.com",
                    "customFields": {"lead_source": "web"},
                    "tags": ["newsletter"],
                },
                {"email": "not-an-email", "customFields": {"lead_source": "web"}},
            ],
        },
        expect="BulkUpsertContactsSuccess",
        note="One upsert per contact, paced under 100 a second; the third email is invalid.",
    ),
    Example(
        "CampaignLarkUpdateContactFields",
        UPDATE,
        {
            "provider": "CAMPAIGNLARK",
            "contact": {"email": "tyrion@example.com"},
            "fields": {"plan": "platinum", "score": 9},
            "mode": "MERGE",
        },
        expect="UpdateContactFieldsSuccess",
        note="Run CampaignLarkUpsertContact first; only the fields change, status is kept.",
    ),
    Example(
        "CampaignLarkUnknownField",
        UPSERT,
        {
            "provider": "CAMPAIGNLARK",
            "contact": {
                "email": "jon@example.com",
                "customFields": {"lead_source": "web", "favourite_colour": "grey"},
            },
        },
        expect="ValidationError",
        note="A typed error: UNKNOWN_FIELD naming the merge tag, before anything is written.",
    ),
)

# An import, then its progress live: the subscription's id is the one the import answered.
_IMPORT: tuple[Example, ...] = (
    Example(
        "TracklyStartImport",
        IMPORT,
        {
            "provider": "TRACKLY",
            "contacts": [
                {"phone": f"(415) 555-{2000 + n:04d}", "customFields": {"batch": "demo"}}
                for n in range(40)
            ]
            + [{"phone": "12345"}],
        },
        expect="ContactImportStarted",
        note="Starts a background import of 41 contacts (one refused); copy its id for the "
        "next tab.",
    ),
    Example(
        "TracklyImportProgress",
        PROGRESS,
        {"id": "paste the id TracklyStartImport answered"},
        expect="ContactImport",
        note="Follows an import live over the WebSocket (a subscription): paste the id, run it.",
    ),
)

EXAMPLES: Mapping[ProviderName, tuple[Example, ...]] = {
    # A dry run of each provider's upsert follows it: the exact request, nothing written.
    ProviderName.TRACKLY: (
        _TRACKLY[0],
        dry_run("TracklyDryRun", _TRACKLY[0]),
        *_TRACKLY[1:],
        *_IMPORT,
    ),
    ProviderName.HEYMARKET: (
        _HEYMARKET[0],
        dry_run("HeymarketDryRun", _HEYMARKET[0]),
        *_HEYMARKET[1:],
    ),
    ProviderName.CAMPAIGNLARK: (
        _CAMPAIGNLARK[0],
        dry_run("CampaignLarkDryRun", _CAMPAIGNLARK[0]),
        *_CAMPAIGNLARK[1:],
    ),
}
