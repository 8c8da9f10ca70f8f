"""What the CampaignLark adapter puts on the wire, and how it reads what comes back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.config import ConfigError, parse_config
from providers.campaignlark.errors import ERROR_TABLE
from providers.model import ProviderName
from tests.providers.battery import DOWN, LIMIT, V
from tests.providers.campaignlark.support import (
    CONTACT_ID,
    LARK_KEY,
    LARK_URL,
    FakeLark,
    contact_json,
    lark_config,
)
from tests.support import BULK, UPDATE, UPSERT, answer, serve

LARK = "CAMPAIGNLARK"


async def _run(lark: FakeLark, query: str, variables: dict[str, Any], **config: Any) -> Any:
    async with serve(
        lark_config(**config), transports={ProviderName.CAMPAIGNLARK: lark.transport()}
    ) as gw:
        data = await gw.data(query, variables)
    return next(iter(data.values()))


async def test_merge_upsert_is_one_partial_update_with_merge_tags_tag_ids_and_status() -> None:
    lark = FakeLark()
    result = await _run(
        lark,
        UPSERT,
        {
            "provider": LARK,
            "contact": {
                "email": "Tyrion@Example.com",
                "firstName": "Tyrion",
                "lastName": "Lannister",
                "phone": "415 555 2671",
                "customFields": {"plan": "gold", "company": "Lannister"},
                "tags": ["vip", "Newsletter"],
                "status": "SUBSCRIBED",
            },
        },
    )
    assert result["__typename"] == "UpsertContactSuccess", result
    assert lark.calls() == ["GET /v1/fields", "GET /v1/tags", "POST /v1/contacts/upsert"]
    [body] = lark.sent("POST", "/v1/contacts/upsert")
    assert body == {
        "email_address": "Tyrion@example.com",
        "fields": {
            "plan": "gold",
            "company": "Lannister",
            "first_name": "Tyrion",
            "last_name": "Lannister",
            "phone_number": "+14155552671",
        },
        "partial_update": True,
        "tags": [3, 1],
        "status": "SUBSCRIBED",
    }
    write = lark.requests[-1]
    assert write.headers["authorization"] == f"Bearer {LARK_KEY}"
    assert str(write.url).startswith(LARK_URL)
    tags_request = lark.requests[1]
    assert tags_request.url.params["limit"] == "100" and tags_request.url.params["page"] == "1"


async def test_upsert_without_fields_or_tags_sends_only_the_email() -> None:
    lark = FakeLark()
    await _run(lark, UPSERT, {"provider": LARK, "contact": {"email": "a@example.com"}})
    assert lark.calls() == ["POST /v1/contacts/upsert"]
    assert lark.sent("POST", "/v1/contacts/upsert") == [
        {"email_address": "a@example.com", "fields": {}, "partial_update": True}
    ]


async def test_replace_reads_the_contact_and_resends_its_tags_status_and_names() -> None:
    lark = FakeLark()
    result = await _run(
        lark,
        UPSERT,
        {
            "provider": LARK,
            "contact": {
                "email": "tyrion@example.com",
                "customFields": {"company": "Casterly Rock"},
                "fieldMode": "REPLACE",
            },
        },
    )
    assert result["created"] is False
    lookup = lark.requests[1]
    assert (lookup.url.path, lookup.url.params["email"]) == (
        "/v1/contacts/by-email",
        "tyrion@example.com",
    )
    [body] = lark.sent("POST", "/v1/contacts/upsert")
    assert body == {
        "email_address": "tyrion@example.com",
        "fields": {"first_name": "Tyrion", "company": "Casterly Rock"},
        "partial_update": False,
        "tags": [1, 3],
        "status": "UNSUBSCRIBED",
    }


async def test_replace_of_a_new_contact_sends_what_the_client_gave() -> None:
    def missing(request: httpx.Request) -> httpx.Response:
        message = "We couldn't find a contact with that email address."
        return httpx.Response(404, json={"error": {"message": message}})

    lark = FakeLark(**{"GET /v1/contacts/by-email": missing})
    result = await _run(
        lark,
        UPSERT,
        {
            "provider": LARK,
            "contact": {
                "email": "new@example.com",
                "customFields": {"company": "X"},
                "fieldMode": "REPLACE",
                "tags": ["vip"],
            },
        },
    )
    assert result["created"] is True
    assert lark.sent("POST", "/v1/contacts/upsert") == [
        {
            "email_address": "new@example.com",
            "fields": {"company": "X"},
            "partial_update": False,
            "tags": [3],
        }
    ]


@pytest.mark.parametrize(
    ("answer", "created"),
    [
        (
            {"data": contact_json(created="2024-01-10T08:00:00Z", updated="2024-01-10T08:00:00Z")},
            True,
        ),
        ({"data": contact_json()}, False),
        (contact_json(created="2024-01-10T08:00:00Z", updated="2024-01-10T08:00:00Z"), True),
    ],
    ids=["enveloped-new", "enveloped-existing", "no-envelope-new"],
)
async def test_upsert_answer_is_read_with_or_without_its_envelope(
    answer: dict[str, Any], created: bool
) -> None:
    lark = FakeLark(**{"POST /v1/contacts/upsert": lambda r: httpx.Response(200, json=answer)})
    result = await _run(lark, UPSERT, {"provider": LARK, "contact": {"email": "t@example.com"}})
    assert result["created"] is created
    assert result["contact"]["id"] == CONTACT_ID
    assert result["contact"]["email"] == "tyrion@example.com"
    assert result["contact"]["customFields"]["first_name"] == "Tyrion"


async def test_phone_without_a_merge_tag_is_a_warning_not_a_silent_drop() -> None:
    lark = FakeLark()
    result = await _run(
        lark,
        UPSERT,
        {"provider": LARK, "contact": {"email": "a@example.com", "phone": "4155552671"}},
        phone_merge_tag=None,
    )
    assert "phone was not sent" in " ".join(result["warnings"])
    [body] = lark.sent("POST", "/v1/contacts/upsert")
    assert body["fields"] == {}


async def test_phone_merge_tag_missing_from_the_workspace_is_unknown_field_on_phone() -> None:
    lark = FakeLark()
    result = await _run(
        lark,
        UPSERT,
        {"provider": LARK, "contact": {"email": "a@example.com", "phone": "4155552671"}},
        phone_merge_tag="mobile",
    )
    assert (result["code"], result["field"]) == ("UNKNOWN_FIELD", "contact.phone")
    assert "phone_merge_tag" in result["message"]
    assert lark.sent("POST", "/v1/contacts/upsert") == []


async def test_update_by_id_reads_the_status_and_puts_only_fields_with_it() -> None:
    lark = FakeLark()
    result = await _run(
        lark,
        UPDATE,
        {"provider": LARK, "contact": {"id": CONTACT_ID}, "fields": {"plan": "gold"}},
    )
    assert result["__typename"] == "UpdateContactFieldsSuccess", result
    assert lark.calls() == [
        "GET /v1/fields",
        f"GET /v1/contacts/{CONTACT_ID}",  # its email: the key of the contact's write lock
        f"GET /v1/contacts/{CONTACT_ID}",  # read again under the lock, then written back
        f"PUT /v1/contacts/{CONTACT_ID}",
    ]
    assert lark.sent("PUT", f"/v1/contacts/{CONTACT_ID}") == [
        {"fields": {"plan": "gold"}, "status": "UNSUBSCRIBED"}
    ]
    assert result["customFields"] == {
        "email_address": "tyrion@example.com",
        "first_name": "Tyrion",
        "company": "L",
    }


async def test_update_by_email_looks_the_contact_up_first() -> None:
    lark = FakeLark()
    await _run(
        lark,
        UPDATE,
        {"provider": LARK, "contact": {"email": "tyrion@example.com"}, "fields": {"plan": "a"}},
    )
    assert lark.calls()[1:] == ["GET /v1/contacts/by-email", f"PUT /v1/contacts/{CONTACT_ID}"]


async def test_update_replace_is_a_full_upsert_keeping_tags_status_and_names() -> None:
    lark = FakeLark()
    await _run(
        lark,
        UPDATE,
        {
            "provider": LARK,
            "contact": {"id": CONTACT_ID},
            "fields": {"company": "Casterly Rock"},
            "mode": "REPLACE",
        },
    )
    assert lark.sent("POST", "/v1/contacts/upsert") == [
        {
            "email_address": "tyrion@example.com",
            "fields": {"first_name": "Tyrion", "company": "Casterly Rock"},
            "tags": [1, 3],
            "status": "UNSUBSCRIBED",
            "partial_update": False,
        }
    ]


async def test_catalogue_is_fetched_once_for_many_upserts_and_tag_pages_are_walked() -> None:
    pages: list[str] = []

    def tags(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        pages.append(str(page))
        entries = [{"id": page * 1000 + n, "name": f"t{page}-{n}"} for n in range(100)]
        if page == 3:
            entries = [{"id": 9, "name": "last"}]
        return httpx.Response(200, json={"data": entries})  # no pagination block

    lark = FakeLark(**{"GET /v1/tags": tags})
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: lark.transport()}) as gw:
        for n in range(3):
            contact = {
                "email": f"c{n}@example.com",
                "customFields": {"plan": "a"},
                "tags": ["last"],
            }
            await gw.data(UPSERT, {"provider": LARK, "contact": contact})
    assert lark.calls().count("GET /v1/fields") == 1
    assert pages == ["1", "2", "3"]
    assert [b["tags"] for b in lark.sent("POST", "/v1/contacts/upsert")] == [[9], [9], [9]]


async def test_concurrent_misses_share_one_catalogue_refresh() -> None:
    lark = FakeLark()
    contacts = [{"email": f"c{n}@example.com", "customFields": {"plan": "a"}} for n in range(5)]
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: lark.transport()}) as gw:
        await asyncio.gather(*(gw.data(UPSERT, {"provider": LARK, "contact": c}) for c in contacts))
    assert lark.calls().count("GET /v1/fields") == 1


async def test_bulk_fans_out_one_upsert_per_contact() -> None:
    lark = FakeLark()
    contacts = [{"email": f"c{n}@example.com", "customFields": {"plan": "a"}} for n in range(6)]
    result = await _run(lark, BULK, {"provider": LARK, "contacts": contacts})
    assert (result["successCount"], result["errorCount"]) == (6, 0)
    emails = sorted(str(b["email_address"]) for b in lark.sent("POST", "/v1/contacts/upsert"))
    assert emails == sorted(str(c["email"]) for c in contacts)
    assert lark.calls().count("GET /v1/fields") == 1


def test_config_accepts_phone_merge_tag_and_paces_to_the_documented_budget() -> None:
    config = parse_config(
        {"providers": {"campaignlark": {"api_key": "${K}", "phone_merge_tag": "phone_number"}}},
        {"K": "secret"},
    )
    settings = config.providers[ProviderName.CAMPAIGNLARK]
    assert settings.base_url == "https://api.campaignlark.com"
    assert settings.rate_limit == "100/second"
    assert "secret" not in repr(settings)


@pytest.mark.parametrize("tag", ["Phone", "p", "phone-number", "a" * 17])
def test_config_refuses_a_phone_merge_tag_campaignlark_could_not_have(tag: str) -> None:
    with pytest.raises(ConfigError, match="phone_merge_tag"):
        parse_config({"providers": {"campaignlark": {"api_key": "k", "phone_merge_tag": tag}}}, {})


# Each message of the provider notes, word for word: a row of its own must match it.
NOTES = {
    "The contact ID you provided is not valid.": "INVALID_CONTACT_ID",
    "Please provide at least one field to update.": "MISSING_FIELDS",
    "Please provide a status.": "MISSING_STATUS",
    "Contact status is required.": "MISSING_STATUS",
    "The status you provided is not valid.": "INVALID_STATUS",
    "We were unable to find a field with the merge_tag `tier`": "UNKNOWN_FIELD",
    "We couldn't find a contact with that ID.": "CONTACT_NOT_FOUND",
    "An email address is required.": "MISSING_EMAIL",
    "Field '`Company`' is required.": "REQUIRED_FIELD_MISSING",
    "Tag ID `12` does not exist in this workspace": "UNKNOWN_TAG",
    "Please provide a valid API key\u2026": "UNAUTHORIZED",
    "\u2026invalid or has been revoked.": "UNAUTHORIZED",
    "Your IP address is not authorized\u2026": "FORBIDDEN",
    "We couldn't find a contact with that email address.": "CONTACT_NOT_FOUND",
}
STATUS_OF = {"UNAUTHORIZED": 401, "FORBIDDEN": 403}


@pytest.mark.parametrize(("message", "code"), NOTES.items())
def test_every_message_in_the_provider_notes_matches_a_row(message: str, code: str) -> None:
    found = ERROR_TABLE.classify(STATUS_OF.get(code, 400), message)
    assert found.rule is not None and found.code.value == code


@pytest.mark.parametrize(
    ("status", "message", "code", "member"),
    [
        (400, "Field 'Company' is required.", "REQUIRED_FIELD_MISSING", V),
        (400, "Tag ID 9 does not exist in this workspace", "UNKNOWN_TAG", V),
        (400, "Never seen before.", "INVALID_REQUEST", V),
        (500, "Internal server error.", "PROVIDER_ERROR", DOWN),
        (429, "Too many requests.", "RATE_LIMITED", LIMIT),
    ],
)
async def test_bulk_item_failure_reaches_the_client_at_its_index(
    status: int, message: str, code: str, member: str
) -> None:
    def upsert(request: httpx.Request) -> httpx.Response:
        if b"second@example.com" in request.content:
            return httpx.Response(status, json={"error": {"message": message}})
        return httpx.Response(200, json={"data": {"id": CONTACT_ID, "data": {}}})

    lark = FakeLark(**{"POST /v1/contacts/upsert": upsert})
    contacts = [{"email": "first@example.com"}, {"email": "second@example.com"}]
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: lark.transport()}) as gw:
        data = await gw.data(BULK, {"provider": LARK, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (1, 1)
    [item] = result["errors"]
    assert (item["index"], item["email"]) == (1, "second@example.com")
    error = item["error"]
    assert (error["__typename"], error["code"], error["providerCode"]) == (member, code, message)
    assert error["retryable"] is (member in (DOWN, LIMIT))


async def test_bulk_whose_catalogue_cannot_be_read_fails_each_contact_not_the_count() -> None:
    transport = answer(500, {"error": {"message": "Internal server error."}})
    contacts = [{"email": f"c{n}@example.com", "customFields": {"plan": "a"}} for n in range(3)]
    async with serve(lark_config(), transports={ProviderName.CAMPAIGNLARK: transport}) as gw:
        data = await gw.data(BULK, {"provider": LARK, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (0, 3)
    assert {e["error"]["code"] for e in result["errors"]} == {"PROVIDER_ERROR"}
