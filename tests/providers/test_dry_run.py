"""Dry runs (validateOnly) for every provider and mutation, through the app against the sandbox.

For each case: a dry run changes nothing at the simulator and sends it no write; the real call
that follows sends exactly the writes the preview showed, the same bytes (the simulators record
every request's target and body as it arrived). And what the gateway can know without writing
is answered by a dry run as the real call answers it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.sandbox import Sandbox
from providers.http import compact_json
from providers.model import ProviderName
from providers.simulator.base import Received
from tests.support import GatewayClient, serve

_ERROR = "... on Error { code message field origin }"
UPSERT = f"""
mutation Upsert($provider: Provider!, $contact: ContactInput!, $dry: Boolean) {{
  upsertContact(provider: $provider, contact: $contact, validateOnly: $dry) {{
    __typename
    ... on UpsertContactSuccess {{
      contact {{ id phone email customFields }} created warnings dryRun
      preview {{ method path body }}
    }}
    {_ERROR}
  }}
}}"""
BULK = f"""
mutation Bulk($provider: Provider!, $contacts: [ContactInput!]!, $dry: Boolean) {{
  bulkUpsertContacts(provider: $provider, contacts: $contacts, validateOnly: $dry) {{
    __typename
    ... on BulkUpsertContactsSuccess {{
      successCount errorCount warnings dryRun
      errors {{ index error {{ code field }} }}
      preview {{ method path body }}
    }}
    {_ERROR}
  }}
}}"""
UPDATE = f"""
mutation Update($provider: Provider!, $contact: ContactRefInput!, $fields: CustomFields!,
                $mode: FieldUpdateMode, $dry: Boolean) {{
  updateContactFields(provider: $provider, contact: $contact, customFields: $fields,
                      mode: $mode, validateOnly: $dry) {{
    __typename
    ... on UpdateContactFieldsSuccess {{
      contact {{ id }} customFields warnings dryRun
      preview {{ method path body }}
    }}
    {_ERROR}
  }}
}}"""

# The write endpoints, from the provider notes (not from the adapters).
WRITES: dict[ProviderName, re.Pattern[str]] = {
    ProviderName.TRACKLY: re.compile(r"^(POST /v2/contacts(/bulk)?|PUT /v2/contacts)$"),
    ProviderName.HEYMARKET: re.compile(
        r"^(POST /v1/contact|POST /v1/batch/contacts|POST /v1/tag|PUT /v[12]/contact/.+)$"
    ),
    ProviderName.CAMPAIGNLARK: re.compile(
        r"^(POST /v1/contacts(/upsert)?|POST /v1/tags|PUT /v1/contacts/.+)$"
    ),
}
T, H, C = ProviderName.TRACKLY, ProviderName.HEYMARKET, ProviderName.CAMPAIGNLARK
Setup = Callable[[GatewayClient, Sandbox], Awaitable[dict[str, Any]]]


async def nothing(gw: GatewayClient, sandbox: Sandbox) -> dict[str, Any]:
    return {}


def upserted(provider: str, **contact: Any) -> Setup:
    """A contact made for real first; the ids its answer carries are handed to the case."""

    async def setup(gw: GatewayClient, sandbox: Sandbox) -> dict[str, Any]:
        data = await gw.data(UPSERT, {"provider": provider, "contact": contact, "dry": False})
        assert data["upsertContact"]["__typename"] == "UpsertContactSuccess", data
        return {"id": data["upsertContact"]["contact"]["id"]}

    return setup


@dataclass(frozen=True)
class Case:
    name: str
    provider: ProviderName
    document: str
    variables: Callable[[dict[str, Any]], dict[str, Any]]
    setup: Setup = nothing
    writes: int = 1  # write requests the real call sends
    extra: dict[str, Any] = field(default_factory=dict)


HM_PHONE = "+15105553344"
CASES = [
    Case(
        "trackly-upsert",
        T,
        UPSERT,
        lambda _: {
            "provider": "TRACKLY",
            "contact": {
                "phone": "(415) 555-2671",
                "customFields": {"plan": "gold", "score": 12345678901234567890},
                "enrollInJourneys": True,
                "signupDate": "2024-05-01T10:00:00+02:00",
                "trackly": {"adNetworkSource": "ads"},
            },
        },
    ),
    Case(
        "trackly-bulk",
        T,
        BULK,
        lambda _: {
            "provider": "TRACKLY",
            "contacts": [
                {"phone": "+14155552672", "customFields": {"plan": "silver"}},
                {"phone": "+14155552673", "listNumber": "+18005550000", "fieldMode": "REPLACE"},
            ],
        },
    ),
    Case(
        "trackly-update",
        T,
        UPDATE,
        lambda _: {
            "provider": "TRACKLY",
            "contact": {"phone": "+14155552671"},
            "fields": {"plan": "platinum"},
            "mode": "MERGE",
        },
        setup=upserted("TRACKLY", phone="+14155552671", customFields={"tier": "a"}),
    ),
    Case(
        "heymarket-create",
        H,
        UPSERT,
        lambda _: {
            "provider": "HEYMARKET",
            "contact": {
                "phone": HM_PHONE,
                "firstName": "Grace",
                "customFields": {"plan": "gold", "score": 42},
                "tags": ["vip", "lead"],
                "status": "UNSUBSCRIBED",
            },
        },
    ),
    Case(
        "heymarket-update-existing",
        H,
        UPSERT,
        lambda _: {
            "provider": "HEYMARKET",
            "contact": {
                "phone": HM_PHONE,
                "email": "grace@example.com",
                "customFields": {"tier": "2"},
                "fieldMode": "REPLACE",
            },
        },
        setup=upserted("HEYMARKET", phone=HM_PHONE, firstName="Grace", lastName="Hopper"),
    ),
    Case(
        "heymarket-bulk",
        H,
        BULK,
        lambda _: {
            "provider": "HEYMARKET",
            "contacts": [
                {"phone": HM_PHONE, "tags": ["newsletter"]},
                {"phone": "+15105553345", "customFields": {"tier": "1"}},
            ],
        },
        setup=upserted("HEYMARKET", phone=HM_PHONE, firstName="Grace"),
        writes=2,
    ),
    Case(
        "heymarket-update-fields-v1",
        H,
        UPDATE,
        lambda ids: {
            "provider": "HEYMARKET",
            "contact": {"id": ids["id"]},
            "fields": {"score": 9},
            "mode": "REPLACE",
        },
        setup=upserted("HEYMARKET", phone=HM_PHONE, firstName="Grace", customFields={"plan": 1}),
    ),
    Case(
        "heymarket-update-fields-v2",
        H,
        UPDATE,
        lambda ids: {
            "provider": "HEYMARKET",
            "contact": {"id": ids["uuid"], "phone": HM_PHONE},
            "fields": {"vip": True},
        },
        setup=upserted("HEYMARKET", phone=HM_PHONE, lastName="Hopper"),
    ),
    Case(
        "campaignlark-upsert-merge",
        C,
        UPSERT,
        lambda _: {
            "provider": "CAMPAIGNLARK",
            "contact": {
                "email": "tyrion@example.com",
                "phone": "+14155552671",
                "customFields": {"lead_source": "web", "plan": "gold"},
                "tags": ["vip", "beta"],
                "status": "SUBSCRIBED",
            },
        },
    ),
    Case(
        "campaignlark-upsert-replace",
        C,
        UPSERT,
        lambda _: {
            "provider": "CAMPAIGNLARK",
            "contact": {
                "email": "tyrion@example.com",
                "customFields": {"lead_source": "ads", "score": 3},
                "fieldMode": "REPLACE",
            },
        },
        setup=upserted(
            "CAMPAIGNLARK",
            email="tyrion@example.com",
            firstName="Tyrion",
            customFields={"lead_source": "web", "plan": "gold"},
            tags=["vip"],
        ),
    ),
    Case(
        "campaignlark-bulk",
        C,
        BULK,
        lambda _: {
            "provider": "CAMPAIGNLARK",
            "contacts": [
                {"email": "sansa@example.com", "customFields": {"lead_source": "ads"}},
                {
                    "email": "arya@example.com",
                    "customFields": {"lead_source": "x"},
                    "tags": ["vip"],
                },
            ],
        },
        writes=2,
    ),
    Case(
        "campaignlark-update-merge",
        C,
        UPDATE,
        lambda _: {
            "provider": "CAMPAIGNLARK",
            "contact": {"email": "tyrion@example.com"},
            "fields": {"plan": "platinum", "score": 9},
        },
        setup=upserted(
            "CAMPAIGNLARK", email="tyrion@example.com", customFields={"lead_source": "web"}
        ),
    ),
    Case(
        "campaignlark-update-replace",
        C,
        UPDATE,
        lambda ids: {
            "provider": "CAMPAIGNLARK",
            "contact": {"id": ids["id"]},
            "fields": {"lead_source": "ads"},
            "mode": "REPLACE",
        },
        setup=upserted(
            "CAMPAIGNLARK",
            email="tyrion@example.com",
            customFields={"lead_source": "web", "plan": "gold"},
            tags=["beta"],
        ),
    ),
]


def state(sandbox: Sandbox, provider: ProviderName) -> Any:
    simulator = sandbox.simulators[provider]
    return copy.deepcopy((simulator.contacts, getattr(simulator, "tags", None)))


def writes(sandbox: Sandbox, provider: ProviderName, since: int) -> list[Received]:
    received = sandbox.simulators[provider].received[since:]
    path = WRITES[provider]
    return [r for r in received if path.match(f"{r.method} {r.target.split('?')[0]}")]


def answer_of(data: dict[str, Any]) -> dict[str, Any]:
    (answer,) = data.values()
    return answer  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_dry_run_writes_nothing_and_the_real_call_sends_exactly_its_preview(
    case: Case,
) -> None:
    sandbox = Sandbox()
    simulator = sandbox.simulators[case.provider]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        ids = await case.setup(gw, sandbox)
        if case.provider is H and ids:
            ids["uuid"] = simulator.contacts[int(ids["id"])].uuid
        variables = case.variables(ids)
        before, mark = state(sandbox, case.provider), len(simulator.received)

        dry = answer_of(await gw.data(case.document, {**variables, "dry": True}))

        assert dry["__typename"].endswith("Success"), dry
        assert dry["dryRun"] is True
        assert state(sandbox, case.provider) == before  # nothing created, nothing changed
        assert writes(sandbox, case.provider, mark) == []  # no write reached the provider
        assert any(w.startswith("dry run: nothing was written") for w in dry["warnings"])
        preview = dry["preview"]
        assert len(preview) == case.writes

        mark = len(simulator.received)
        real = answer_of(await gw.data(case.document, {**variables, "dry": False}))

    assert real["__typename"] == dry["__typename"], real
    assert (real["dryRun"], real["preview"]) == (False, None)
    sent = writes(sandbox, case.provider, mark)
    shown = [(p["method"], p["path"], compact_json(p["body"])) for p in preview]
    # The same requests, the same bytes; a bulk's concurrent requests may arrive in any order.
    assert sorted(shown) == sorted((r.method, r.target, r.body) for r in sent)
    for request in preview:
        assert request["path"].startswith("/") and "://" not in request["path"]
        assert "sandbox" not in json.dumps(request).lower()  # no key, no credential


async def test_a_dry_run_bulk_of_many_trackly_contacts_previews_each_chunk() -> None:
    sandbox = Sandbox()
    contacts = [{"phone": f"+1415555{3000 + n:04d}"} for n in range(1_500)]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        dry = answer_of(
            await gw.data(BULK, {"provider": "TRACKLY", "contacts": contacts, "dry": True})
        )
    assert (dry["successCount"], dry["errorCount"]) == (1_500, 0)
    assert [len(p["body"]["contacts"]) for p in dry["preview"]] == [1_000, 500]
    assert sandbox.trackly.received == []  # Trackly's bulk needs no read at all


def refusal(answer: dict[str, Any]) -> tuple[Any, ...]:
    return answer["__typename"], answer.get("code"), answer.get("field")


SAME_ANSWER = [
    ("heymarket-unknown-field", UPSERT, {"provider": "HEYMARKET", "contact": {
        "phone": HM_PHONE, "customFields": {"shoe_size": 9}}}),
    ("heymarket-unknown-tag", UPSERT, {"provider": "HEYMARKET", "contact": {
        "phone": HM_PHONE, "tags": ["vip", "nope"]}}),
    ("heymarket-too-many-tags", UPSERT, {"provider": "HEYMARKET", "contact": {
        "phone": HM_PHONE, "tags": ["vip", "lead", "customer", "newsletter", "churned", "x"]}}),
    ("heymarket-bad-phone", UPSERT, {"provider": "HEYMARKET", "contact": {"phone": "12345"}}),
    ("heymarket-update-missing-contact", UPDATE, {"provider": "HEYMARKET", "contact": {
        "phone": "+15105550000"}, "fields": {"plan": "x"}}),
    ("campaignlark-unknown-field", UPSERT, {"provider": "CAMPAIGNLARK", "contact": {
        "email": "jon@example.com", "customFields": {"lead_source": "w", "colour": "grey"}}}),
    ("campaignlark-unknown-tag", UPSERT, {"provider": "CAMPAIGNLARK", "contact": {
        "email": "jon@example.com", "customFields": {"lead_source": "w"}, "tags": ["nope"]}}),
    ("campaignlark-required-on-a-new-contact", UPSERT, {"provider": "CAMPAIGNLARK", "contact": {
        "email": "jon@example.com", "customFields": {"plan": "gold"}}}),
    ("campaignlark-required-on-replace", UPSERT, {"provider": "CAMPAIGNLARK", "contact": {
        "email": "jon@example.com", "customFields": {"plan": "g"}, "fieldMode": "REPLACE"}}),
    ("campaignlark-update-missing-contact", UPDATE, {"provider": "CAMPAIGNLARK", "contact": {
        "email": "nobody@example.com"}, "fields": {"plan": "x"}}),
    ("trackly-update-missing-contact", UPDATE, {"provider": "TRACKLY", "contact": {
        "phone": "+14155559999"}, "fields": {"plan": "x"}}),
    ("trackly-missing-phone", UPSERT, {"provider": "TRACKLY", "contact": {"email": "a@b.co"}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "variables"),
    [(document, variables) for _, document, variables in SAME_ANSWER],
    ids=[name for name, _, _ in SAME_ANSWER],
)
async def test_what_the_gateway_can_know_without_writing_a_dry_run_answers_as_the_real_call(
    document: str, variables: dict[str, Any]
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        dry = answer_of(await gw.data(document, {**variables, "dry": True}))
        real = answer_of(await gw.data(document, {**variables, "dry": False}))
    assert not dry["__typename"].endswith("Success"), dry
    assert refusal(dry) == refusal(real)


async def test_a_trackly_update_of_a_contact_not_on_the_list_is_refused_by_a_dry_run_too() -> None:
    sandbox = Sandbox()
    variables = {
        "provider": "TRACKLY",
        "contact": {"phone": "+14155552671", "listNumber": "+18005550000"},
        "fields": {"plan": "x"},
    }
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        await upserted("TRACKLY", phone="+14155552671")(gw, sandbox)
        dry = answer_of(await gw.data(UPDATE, {**variables, "dry": True}))
        real = answer_of(await gw.data(UPDATE, {**variables, "dry": False}))
    assert (
        refusal(dry)
        == refusal(real)
        == ("NotFoundError", "LIST_CONTACT_NOT_FOUND", "contact.listNumber")
    )


async def test_the_answer_says_which_reads_a_dry_run_made() -> None:
    sandbox = Sandbox()
    variables = {
        "provider": "HEYMARKET",
        "contact": {"phone": HM_PHONE, "customFields": {"plan": "gold"}},
        "dry": True,
    }
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        first = answer_of(await gw.data(UPSERT, variables))
        second = answer_of(await gw.data(UPSERT, variables))
    assert first["warnings"][1] == (
        "dry run: read from Heymarket (reads are allowed): "
        "POST /v1/contact-fields, POST /v1/contact/get"
    )
    # The field catalogue is cached now: only the look-up is read again.
    assert second["warnings"][1].endswith(": POST /v1/contact/get")
    assert first["created"] is True and first["contact"]["id"] == "0"  # a stand-in id
