"""End to end: GraphQL in, the real ASGI app, the CampaignLark simulator behind the adapter."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.config import Config
from gateway.sandbox import Sandbox
from providers.campaignlark.sandbox import SANDBOX_API_KEY, CampaignLarkSimulator, FieldDef
from providers.model import ProviderName
from providers.simulator.faults import Fault
from tests.support import BULK, UPDATE, UPSERT, GatewayClient, serve

LARK = "CAMPAIGNLARK"


def _upsert(contact: dict[str, Any]) -> dict[str, Any]:
    return {"provider": LARK, "contact": contact}


def _outcome(result: dict[str, Any]) -> tuple[str, str, str | None]:
    return result["__typename"], result["code"], result["field"]


def _writes(simulator: CampaignLarkSimulator) -> list[tuple[str, str]]:
    return [(m, p) for m, p in simulator.requests if m in ("POST", "PUT")]


async def test_merge_upsert_creates_then_keeps_what_it_does_not_send() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        first = await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "Tyrion@Example.com",
                    "firstName": "Tyrion",
                    "phone": "(415) 555-2671",
                    "customFields": {"lead_source": "web", "plan": "gold", "score": 7},
                    "tags": ["newsletter", "VIP"],
                    "status": "UNCONFIRMED",
                }
            ),
        )
        again = await gw.data(
            UPSERT, _upsert({"email": "tyrion@example.com", "customFields": {"plan": "platinum"}})
        )
    created, updated = first["upsertContact"], again["upsertContact"]
    assert created["__typename"] == "UpsertContactSuccess", created
    assert (created["created"], updated["created"]) == (True, False)
    assert created["listMembershipCreated"] is None and created["journeysEnrolled"] == 0
    contact_id = created["contact"]["id"]
    assert len(contact_id) == 24 and int(contact_id, 16) >= 0
    assert updated["contact"]["id"] == contact_id
    assert created["contact"]["email"] == "Tyrion@example.com"
    assert created["contact"]["phone"] == "+14155552671"
    stored = lark.contacts[contact_id]
    assert stored.data == {
        "email_address": "tyrion@example.com",  # as the latest upsert wrote it
        "first_name": "Tyrion",
        "phone_number": "+14155552671",
        "lead_source": "web",
        "plan": "platinum",
        "score": 7,
    }
    assert (stored.status, lark.tag_names(stored)) == ("UNCONFIRMED", ["newsletter", "vip"])
    assert updated["contact"]["customFields"]["plan"] == "platinum"


async def test_replace_keeps_tags_and_status_but_replaces_custom_fields() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "jaime@example.com",
                    "firstName": "Jaime",
                    "customFields": {"lead_source": "ads", "plan": "gold", "score": 3},
                    "tags": ["vip", "beta"],
                    "status": "UNSUBSCRIBED",
                }
            ),
        )
        replaced = await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "jaime@example.com",
                    "customFields": {"lead_source": "referral"},
                    "fieldMode": "REPLACE",
                }
            ),
        )
    result = replaced["upsertContact"]
    assert result["__typename"] == "UpsertContactSuccess", result
    assert result["created"] is False
    stored = lark.find("jaime@example.com")
    assert stored is not None
    assert stored.data == {
        "email_address": "jaime@example.com",
        "first_name": "Jaime",
        "lead_source": "referral",
    }
    assert stored.status == "UNSUBSCRIBED"
    assert lark.tag_names(stored) == ["vip", "beta"]


async def test_replace_that_would_empty_a_required_field_is_refused_before_writing() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        await gw.data(
            UPSERT, _upsert({"email": "cersei@example.com", "customFields": {"lead_source": "x"}})
        )
        writes = len(_writes(lark))
        result = await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "cersei@example.com",
                    "customFields": {"plan": "a"},
                    "fieldMode": "REPLACE",
                }
            ),
        )
    assert _outcome(result["upsertContact"]) == (
        "ValidationError",
        "REQUIRED_FIELD_MISSING",
        "contact.customFields.lead_source",
    )
    assert len(_writes(lark)) == writes


async def test_new_contact_without_a_required_field_names_it_by_merge_tag() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(UPSERT, _upsert({"email": "bran@example.com", "firstName": "Bran"}))
    result = data["upsertContact"]
    assert _outcome(result) == (
        "ValidationError",
        "REQUIRED_FIELD_MISSING",
        "contact.customFields.lead_source",
    )
    assert result["providerCode"] == "Field 'Lead source' is required."
    assert result["provider"] == LARK


async def test_unknown_merge_tag_and_unknown_tag_are_refused_before_any_write() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        field = await gw.data(
            UPSERT,
            _upsert({"email": "a@example.com", "customFields": {"lead_source": "x", "nope": 1}}),
        )
        tag = await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "a@example.com",
                    "customFields": {"lead_source": "x"},
                    "tags": ["vip", "no-such-tag"],
                }
            ),
        )
    assert _outcome(field["upsertContact"]) == (
        "ValidationError",
        "UNKNOWN_FIELD",
        "contact.customFields.nope",
    )
    assert _outcome(tag["upsertContact"]) == ("ValidationError", "UNKNOWN_TAG", "contact.tags[1]")
    assert _writes(lark) == []
    # Just loaded: a miss does not fetch the catalogue again.
    assert lark.requests.count(("GET", "/v1/fields")) == 1
    assert lark.requests.count(("GET", "/v1/tags")) == 1


async def test_field_and_tag_added_in_the_workspace_are_found_by_one_refresh() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        base = {"email": "arya@example.com", "customFields": {"lead_source": "x"}}
        await gw.data(UPSERT, _upsert({**base, "tags": ["vip"]}))
        lark.fields.append(FieldDef(99, "Sword", "sword"))
        for n in range(5, 160):
            lark.tags[n] = f"house-{n}"  # more than one page of tags
        data = await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "arya@example.com",
                    "customFields": {"sword": "Needle"},
                    "tags": ["house-150"],
                }
            ),
        )
    assert data["upsertContact"]["__typename"] == "UpsertContactSuccess", data
    stored = lark.find("arya@example.com")
    assert stored is not None and stored.data["sword"] == "Needle"
    assert lark.tag_names(stored) == ["house-150"]
    assert lark.requests.count(("GET", "/v1/fields")) == 2
    assert lark.requests.count(("GET", "/v1/tags")) == 3  # one page, then two after the miss


async def test_gateway_refuses_missing_or_malformed_email_without_calling() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        missing = await gw.data(UPSERT, _upsert({"firstName": "Hodor"}))
        blank = await gw.data(UPSERT, _upsert({"email": "  "}))
        bad = await gw.data(UPSERT, _upsert({"email": "hodor@"}))
        no_dot = await gw.data(UPSERT, _upsert({"email": "hodor@winterfell"}))
    assert _outcome(missing["upsertContact"]) == (
        "ValidationError",
        "MISSING_EMAIL",
        "contact.email",
    )
    assert _outcome(blank["upsertContact"])[1] == "MISSING_EMAIL"
    for result in (bad["upsertContact"], no_dot["upsertContact"]):
        assert _outcome(result) == ("ValidationError", "INVALID_EMAIL", "contact.email")
        assert result["provider"] is None
    assert lark.requests == []


async def test_what_campaignlark_cannot_store_is_a_warning() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "sansa@example.com",
                    "customFields": {"lead_source": "x"},
                    "listNumber": "+18005551234",
                    "enrollInJourneys": True,
                    "signupUrl": "https://example.com",
                    "trackly": {"adNetworkId": "1"},
                }
            ),
        )
    warnings = data["upsertContact"]["warnings"]
    assert any(w.startswith("listNumber was not sent") for w in warnings), warnings
    assert any(w.startswith("signupUrl was not sent") for w in warnings), warnings
    assert any(w.startswith("enrollInJourneys was ignored") for w in warnings), warnings
    assert any(w.startswith("trackly options were ignored") for w in warnings), warnings


async def test_update_fields_by_email_and_by_id_keep_status_and_answer_every_field() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        made = await gw.data(
            UPSERT,
            _upsert(
                {
                    "email": "ned@example.com",
                    "customFields": {"lead_source": "x", "plan": "a"},
                    "tags": ["vip"],
                    "status": "COMPLAINED",
                }
            ),
        )
        contact_id = made["upsertContact"]["contact"]["id"]
        by_email = await gw.data(
            UPDATE,
            {"provider": LARK, "contact": {"email": "ned@example.com"}, "fields": {"score": 9}},
        )
        by_id = await gw.data(
            UPDATE,
            {
                "provider": LARK,
                "contact": {"id": contact_id},
                "fields": {"plan": "b", "lead_source": "y"},
                "mode": "REPLACE",
            },
        )
    merged = by_email["updateContactFields"]
    assert merged["__typename"] == "UpdateContactFieldsSuccess", merged
    assert merged["customFields"] == {
        "email_address": "ned@example.com",
        "lead_source": "x",
        "plan": "a",
        "score": 9,
    }
    assert merged["contact"]["id"] == contact_id
    assert ("PUT", f"/v1/contacts/{contact_id}") in lark.requests
    replaced = by_id["updateContactFields"]
    assert replaced["customFields"] == {
        "email_address": "ned@example.com",
        "plan": "b",
        "lead_source": "y",
    }
    stored = lark.contacts[contact_id]
    assert (stored.status, lark.tag_names(stored)) == ("COMPLAINED", ["vip"])


async def test_update_fields_errors_name_the_input() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    async with serve(sandbox.config(), sandbox=sandbox) as gw:

        async def update(contact: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
            data = await gw.data(UPDATE, {"provider": LARK, "contact": contact, "fields": fields})
            return data["updateContactFields"]  # type: ignore[no-any-return]

        unknown_email = await update({"email": "nobody@example.com"}, {"plan": "a"})
        unknown_id = await update({"id": "0" * 24}, {"plan": "a"})
        before = len(lark.requests)
        bad_id = await update({"id": "42"}, {"plan": "a"})
        neither = await update({"phone": "4155552671"}, {"plan": "a"})
        empty = await update({"email": "nobody@example.com"}, {})
        calls = len(lark.requests) - before
        unknown_field = await update({"email": "nobody@example.com"}, {"nope": 1})
    assert _outcome(unknown_email) == ("NotFoundError", "CONTACT_NOT_FOUND", "contact.email")
    assert _outcome(unknown_id) == ("NotFoundError", "CONTACT_NOT_FOUND", "contact.id")
    assert _outcome(bad_id) == ("ValidationError", "INVALID_CONTACT_ID", "contact.id")
    assert _outcome(neither) == ("ValidationError", "MISSING_EMAIL", "contact.email")
    assert _outcome(empty) == ("ValidationError", "MISSING_FIELDS", "customFields")
    assert calls == 0
    assert _outcome(unknown_field) == ("ValidationError", "UNKNOWN_FIELD", "customFields.nope")


async def test_bulk_reports_each_contact_at_its_index_and_the_counts_add_up() -> None:
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    contacts: list[dict[str, Any]] = [
        {"email": f"soldier{n}@example.com", "customFields": {"lead_source": "bulk"}}
        for n in range(12)
    ]
    contacts[2] = {"email": "x@example.com", "customFields": {"lead_source": "b", "nope": 1}}
    contacts[5] = {"firstName": "no email"}
    contacts[7] = {"email": "bad@"}
    contacts[9] = {"email": "y@example.com"}  # the provider refuses: lead_source is required
    contacts[10] = {"email": "z@example.com", "customFields": {"lead_source": "b"}, "tags": ["?"]}
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": LARK, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert result["__typename"] == "BulkUpsertContactsSuccess", result
    assert (result["successCount"], result["errorCount"]) == (7, 5)
    assert result["contactsCreated"] == 7
    got = {e["index"]: (e["error"]["code"], e["error"]["field"]) for e in result["errors"]}
    assert got == {
        2: ("UNKNOWN_FIELD", "contacts[2].customFields.nope"),
        5: ("MISSING_EMAIL", "contacts[5].email"),
        7: ("INVALID_EMAIL", "contacts[7].email"),
        9: ("REQUIRED_FIELD_MISSING", "contacts[9].customFields.lead_source"),
        10: ("UNKNOWN_TAG", "contacts[10].tags[0]"),
    }
    assert len(lark.contacts) == 7
    assert lark.requests.count(("GET", "/v1/fields")) == 1  # once for the whole import
    assert lark.rejected_429 == 0


HEADERS = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


@contextlib.asynccontextmanager
async def _gateway(
    rate_limit: str | None, budget: int
) -> AsyncIterator[tuple[GatewayClient, CampaignLarkSimulator]]:
    """The sandbox gateway and simulator, both on the event loop's (virtual) clock."""
    loop = asyncio.get_running_loop()
    sandbox = Sandbox(campaignlark=CampaignLarkSimulator(rate_limit=budget, clock=loop.time))
    base = sandbox.config()
    settings = base.providers[ProviderName.CAMPAIGNLARK].model_copy(
        update={"rate_limit": rate_limit}
    )
    config = Config(base.gateway, {ProviderName.CAMPAIGNLARK: settings}, sandbox=True)
    async with serve(config, sandbox=sandbox) as gw:
        yield gw, sandbox.campaignlark


def _contacts(n: int) -> list[dict[str, Any]]:
    return [{"email": f"c{i}@example.com", "customFields": {"lead_source": "x"}} for i in range(n)]


@pytest.mark.looptime
async def test_bulk_paced_to_the_workspace_budget_never_meets_a_429() -> None:
    loop = asyncio.get_running_loop()
    async with _gateway("5/second", budget=5) as (gw, lark):
        start = loop.time()
        data = await gw.data(BULK, {"provider": "CAMPAIGNLARK", "contacts": _contacts(14)})
        waited = loop.time() - start
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (14, 0)
    assert lark.rejected_429 == 0
    assert len(lark.requests) == 15  # the field catalogue, then one upsert per contact
    assert waited >= 2.0  # 15 requests at 5 a second: two full windows waited (virtual time)


@pytest.mark.looptime
async def test_unpaced_bulk_over_the_budget_gets_rate_limited_items_and_counts_add_up() -> None:
    async with _gateway(None, budget=5) as (gw, lark):
        data = await gw.data(BULK, {"provider": "CAMPAIGNLARK", "contacts": _contacts(8)})
    result = data["bulkUpsertContacts"]
    assert lark.rejected_429 > 0
    assert result["successCount"] + result["errorCount"] == 8
    assert result["errorCount"] > 0
    assert {e["error"]["code"] for e in result["errors"]} == {"RATE_LIMITED"}
    assert all(e["error"]["retryable"] for e in result["errors"])


async def _race(lark: CampaignLarkSimulator, slow_write: Fault, first: Any, then: Any) -> None:
    """`first` reads the contact, then writes it back slowly (`slow_write` delays its write
    on the way to the provider); `then` writes the same contact meanwhile."""
    lark.faults.add(slow_write)
    started = asyncio.create_task(first)
    await asyncio.sleep(0.15)  # `first` has read the contact and is writing it back now
    await then
    await started


async def test_a_full_upsert_never_undoes_a_write_of_the_same_contact_made_meanwhile() -> None:
    # The full upsert reads the contact and resends its tags and status; before the contact's
    # writes were serialised, a write landing between its read and its own write was undone:
    # here the contact would have been subscribed again, its new tag gone.
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    email = "race@example.com"
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        await gw.data(UPSERT, _upsert({"email": email, "customFields": {"lead_source": "web"}}))
        replace = gw.data(
            UPSERT,
            _upsert(
                {"email": email, "customFields": {"lead_source": "ads"}, "fieldMode": "REPLACE"}
            ),
        )
        merge = gw.data(
            UPSERT, _upsert({"email": email, "tags": ["vip"], "status": "UNSUBSCRIBED"})
        )
        slow = Fault(path="/v1/contacts/upsert", body_contains="ads", delay=0.3, passthrough=True)
        await _race(lark, slow, replace, merge)
    contact = lark.find(email)
    assert contact is not None
    assert (lark.tag_names(contact), contact.status) == (["vip"], "UNSUBSCRIBED")
    assert contact.data["lead_source"] == "ads"


async def test_a_field_update_by_id_never_undoes_a_status_written_meanwhile() -> None:
    # The MERGE update resends the status it read (the PUT requires one).
    sandbox = Sandbox()
    lark = sandbox.campaignlark
    email = "race2@example.com"
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        created = await gw.data(
            UPSERT, _upsert({"email": email, "customFields": {"lead_source": "web"}})
        )
        contact_id = created["upsertContact"]["contact"]["id"]
        update = gw.data(
            UPDATE,
            {"provider": LARK, "contact": {"id": contact_id}, "fields": {"plan": "gold"}},
        )
        unsubscribe = gw.data(UPSERT, _upsert({"email": email, "status": "UNSUBSCRIBED"}))
        slow = Fault(path=f"/v1/contacts/{contact_id}", method="PUT", delay=0.3, passthrough=True)
        await _race(lark, slow, update, unsubscribe)
    contact = lark.find(email)
    assert contact is not None
    assert (contact.status, contact.data["plan"]) == ("UNSUBSCRIBED", "gold")
