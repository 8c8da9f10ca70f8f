"""What goes over the wire to Heymarket: paths, JWT claims, phones, overwrite, ids in custom."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest
import respx

from providers.heymarket import HeymarketSettings
from providers.heymarket.auth import JwtMinter
from providers.model import ProviderName
from tests.providers.heymarket.support import (
    FIELDS,
    HEYMARKET_URL,
    LEGACY_KEY,
    SECRET_ID,
    SECRET_KEY,
    TAGS,
    existing,
    heymarket_config,
    upsert_vars,
)
from tests.support import BULK, UPDATE, UPSERT, FakeClock, answer, serve

U = HEYMARKET_URL
UUID = "0b9c2f7e-4a53-4c3e-9a6f-1f2e3d4c5b6a"


def sent(route: respx.Route, call: int = -1) -> Any:
    return json.loads(route.calls[call].request.content)


def catalogues() -> tuple[respx.Route, respx.Route]:
    fields = respx.post(f"{U}/v1/contact-fields").respond(200, json=FIELDS)
    tags = respx.post(f"{U}/v1/tags").respond(200, json=TAGS)
    return fields, tags


@respx.mock
async def test_create_sends_every_mapped_field_with_ids_and_phone_without_plus() -> None:
    catalogues()
    lookup = respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    create = respx.post(f"{U}/v1/contact").respond(200, json={"id": 98765, "rev": 1, "uuid": UUID})
    contact = {
        "firstName": "Ann",
        "lastName": "Lee",
        "email": "ann@example.com",
        "customFields": {"plan": "gold", "tier": 2, "103": True},
        "tags": ["vip", "lead"],
        "status": "UNSUBSCRIBED",
        "heymarket": {
            "displayName": "Ann L.",
            "avatarUrl": "https://x.test/a",
            "assigneeId": -1,
        },
    }
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars(**contact))
    assert sent(lookup) == {"phone": "15105553344"}
    assert create.calls.last.request.url.params.get("overwrite") is None
    assert sent(create) == {
        "phone": "15105553344",
        "first": "Ann",
        "last": "Lee",
        "email": "ann@example.com",
        "custom": {"101": "gold", "102": 2, "103": True},
        "tags": [{"tag_id": 1}, {"tag_id": 2}],
        "is_opted_out": True,
        "display_name": "Ann L.",
        "avatar": "https://x.test/a",
        "assignee_id": -1,
    }
    result = data["upsertContact"]
    assert result["created"] is True and result["listMembershipCreated"] is None
    assert result["contact"] == {
        "provider": "HEYMARKET",
        "id": "98765",
        "phone": "+15105553344",
        "email": "ann@example.com",
        "customFields": {"plan": "gold", "tier": 2, "103": True},
    }


@respx.mock
async def test_every_request_carries_a_jwt_with_iss_and_iat_signed_with_id_and_key() -> None:
    respx.post(f"{U}/v1/contact/get").respond(200, json=existing())
    update = respx.put(f"{U}/v1/contact/98765").respond(200, json={"id": 98765})
    respx.post(f"{U}/v1/contact-fields").respond(200, json=FIELDS)
    before = int(time.time())
    async with serve(heymarket_config()) as gw:
        await gw.data(UPSERT, upsert_vars())
    token = update.calls.last.request.headers["authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(
        token, f"{SECRET_ID}||{SECRET_KEY}", algorithms=["HS256"], options={"verify_iat": False}
    )
    assert set(claims) == {"iss", "iat"} and claims["iss"] == SECRET_ID
    assert before <= claims["iat"] <= int(time.time())


@respx.mock
async def test_legacy_key_is_sent_as_the_bearer_token() -> None:
    lookup = respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    respx.post(f"{U}/v1/contact").respond(200, json={"id": 5})
    async with serve(heymarket_config(legacy=True)) as gw:
        await gw.data(UPSERT, upsert_vars())
    assert lookup.calls.last.request.headers["authorization"] == f"Bearer {LEGACY_KEY}"


@pytest.mark.parametrize(("mode", "flag"), [("MERGE", "false"), ("REPLACE", "true")])
@respx.mock
async def test_update_sends_current_names_back_and_overwrite_from_field_mode(
    mode: str, flag: str
) -> None:
    catalogues()
    respx.post(f"{U}/v1/contact/get").respond(200, json=existing(custom={"101": "gold"}))
    update = respx.put(f"{U}/v1/contact/98765").respond(200, json={"id": 98765, "rev": 2})
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars(customFields={"tier": "t2"}, fieldMode=mode))
    request = update.calls.last.request
    assert request.url.params["overwrite"] == flag
    assert sent(update) == {
        "phone": "15105553344",
        "first": "Ann",
        "last": "Lee",
        "custom": {"102": "t2"},
    }
    result = data["upsertContact"]
    assert result["created"] is False and result["contact"]["id"] == "98765"
    expected = {"tier": "t2"} if mode == "REPLACE" else {"plan": "gold", "tier": "t2"}
    assert result["contact"]["customFields"] == expected


@respx.mock
async def test_replace_without_custom_fields_never_wipes_them() -> None:
    respx.post(f"{U}/v1/contact/get").respond(200, json=existing())
    respx.post(f"{U}/v1/contact-fields").respond(200, json=FIELDS)
    update = respx.put(f"{U}/v1/contact/98765").respond(200, json={"id": 98765})
    async with serve(heymarket_config()) as gw:
        await gw.data(UPSERT, upsert_vars(firstName="Anna", fieldMode="REPLACE"))
    assert update.calls.last.request.url.params["overwrite"] == "false"
    assert sent(update) == {"phone": "15105553344", "first": "Anna", "last": "Lee"}


@pytest.mark.parametrize(("mode", "flag"), [("MERGE", "false"), ("REPLACE", "true")])
@respx.mock
async def test_update_fields_by_integer_id_looks_up_by_id_and_answers_names(
    mode: str, flag: str
) -> None:
    catalogues()
    lookup = respx.post(f"{U}/v1/contact/get").respond(200, json=existing(ident=7))
    update = respx.put(f"{U}/v1/contact/7").respond(200, json={"id": 7, "rev": 3})
    async with serve(heymarket_config()) as gw:
        data = await gw.data(
            UPDATE,
            {"provider": "HEYMARKET", "contact": {"id": "7"}, "fields": {"tier": 3}, "mode": mode},
        )
    assert sent(lookup) == {"id": 7}
    assert update.calls.last.request.url.params["overwrite"] == flag
    assert sent(update) == {
        "phone": "15105553344",
        "custom": {"102": 3},
        "first": "Ann",
        "last": "Lee",
    }
    result = data["updateContactFields"]
    expected = {"tier": 3} if mode == "REPLACE" else {"plan": "gold", "tier": 3}
    assert result["customFields"] == expected
    assert result["contact"] == {
        "provider": "HEYMARKET",
        "id": "7",
        "phone": "+15105553344",
        "email": "ann@example.com",
    }


@respx.mock
async def test_update_fields_by_uuid_goes_to_v2_and_reads_the_full_contact_back() -> None:
    catalogues()
    respx.post(f"{U}/v1/contact/get").respond(200, json=existing())
    v2 = respx.put(f"{U}/v2/contact/{UUID}").respond(
        200, json=existing(custom={"101": "gold", "102": "t9"})
    )
    async with serve(heymarket_config()) as gw:
        data = await gw.data(
            UPDATE,
            {
                "provider": "HEYMARKET",
                "contact": {"id": UUID.upper(), "phone": "510-555-3344"},
                "fields": {"tier": "t9"},
            },
        )
    assert sent(v2)["custom"] == {"102": "t9"} and sent(v2)["first"] == "Ann"
    result = data["updateContactFields"]
    assert result["customFields"] == {"plan": "gold", "tier": "t9"}
    assert result["contact"]["id"] == "98765"


@pytest.mark.parametrize(
    ("contact", "code", "field"),
    [
        ({"id": "not-an-id"}, "INVALID_CONTACT_ID", "contact.id"),
        ({"id": UUID}, "MISSING_PHONE_NUMBER", "contact.phone"),
        ({"email": "a@example.com"}, "MISSING_PHONE_NUMBER", "contact.phone"),
    ],
)
async def test_update_fields_refuses_refs_heymarket_cannot_find_without_a_call(
    contact: dict[str, str], code: str, field: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route(host="heymarket.test").respond(500)
        async with serve(heymarket_config()) as gw:
            data = await gw.data(
                UPDATE, {"provider": "HEYMARKET", "contact": contact, "fields": {"plan": "x"}}
            )
    result = data["updateContactFields"]
    assert (result["code"], result["field"]) == (code, field)
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("contact", "code", "field"),
    [
        ({"phone": None}, "MISSING_PHONE_NUMBER", "contact.phone"),
        ({"tags": ["vip", "a", "b", "c", "d", "e"]}, "TOO_MANY_TAGS", "contact.tags"),
    ],
)
async def test_upsert_refuses_without_a_call(
    contact: dict[str, Any], code: str, field: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route(host="heymarket.test").respond(500)
        async with serve(heymarket_config()) as gw:
            data = await gw.data(UPSERT, upsert_vars(**contact))
    result = data["upsertContact"]
    assert (result["code"], result["field"], result["provider"]) == (code, field, None)
    assert route.call_count == 0


@respx.mock
async def test_a_create_whose_answer_is_lost_is_looked_up_not_sent_again() -> None:
    lookup = respx.post(f"{U}/v1/contact/get")
    lookup.side_effect = [
        httpx.Response(404, json={"error": "not_found"}),
        httpx.Response(200, json=existing(custom={})),
    ]
    create = respx.post(f"{U}/v1/contact").mock(side_effect=httpx.ReadTimeout("lost"))
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars())
    result = data["upsertContact"]
    assert create.call_count == 1 and lookup.call_count == 2
    assert result["__typename"] == "UpsertContactSuccess" and result["created"] is True
    assert result["contact"]["id"] == "98765"
    assert any("lost" in w for w in result["warnings"])


@respx.mock
async def test_a_create_answered_502_is_looked_up_before_anything_else() -> None:
    lookup = respx.post(f"{U}/v1/contact/get")
    lookup.side_effect = [
        httpx.Response(404, json={"error": "not_found"}),
        httpx.Response(200, json=existing(custom={})),
    ]
    create = respx.post(f"{U}/v1/contact").respond(502, text="<html>Bad Gateway</html>")
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars())
    assert create.call_count == 1  # a create is never re-sent on 502
    assert data["upsertContact"]["contact"]["id"] == "98765"


@respx.mock
async def test_a_lost_create_that_did_not_happen_reports_the_timeout() -> None:
    respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    create = respx.post(f"{U}/v1/contact").mock(side_effect=httpx.ReadTimeout("lost"))
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars())
    result = data["upsertContact"]
    assert (result["code"], result["retryable"], create.call_count) == ("TIMEOUT", True, 1)


@respx.mock
async def test_tags_are_read_page_by_page_and_catalogues_are_cached_between_calls() -> None:
    page_one = [{"id": n, "tag": f"t{n}"} for n in range(1, 31)]
    tags = respx.post(f"{U}/v1/tags")
    tags.side_effect = [
        httpx.Response(200, json=page_one),
        httpx.Response(200, json=[{"id": 31, "tag": "late"}]),
    ]
    fields = respx.post(f"{U}/v1/contact-fields").respond(200, json=FIELDS)
    respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    create = respx.post(f"{U}/v1/contact").respond(200, json={"id": 1})
    async with serve(heymarket_config()) as gw:
        for _ in range(3):
            await gw.data(UPSERT, upsert_vars(tags=["late", "t2"], customFields={"plan": "p"}))
    assert [sent(tags, i) for i in range(2)] == [{"page": 1}, {"page": 2}]
    assert (tags.call_count, fields.call_count) == (2, 1)
    assert sent(create)["tags"] == [{"tag_id": 31}, {"tag_id": 2}]


@respx.mock
async def test_an_unknown_name_refreshes_the_catalogue_once_then_names_the_key() -> None:
    fields = respx.post(f"{U}/v1/contact-fields").respond(200, json=FIELDS)
    tags = respx.post(f"{U}/v1/tags").respond(200, json=TAGS)
    respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    respx.post(f"{U}/v1/contact").respond(200, json={"id": 1})
    async with serve(heymarket_config()) as gw:
        await gw.data(UPSERT, upsert_vars(customFields={"plan": 1}, tags=["vip"]))
        unknown_field = await gw.data(UPSERT, upsert_vars(customFields={"plan": 1, "nope": 2}))
        unknown_tag = await gw.data(UPSERT, upsert_vars(tags=["vip", "ghost"]))
    assert fields.call_count == 2 and tags.call_count == 2  # the first load, one refresh each
    field_error, tag_error = unknown_field["upsertContact"], unknown_tag["upsertContact"]
    assert (field_error["code"], field_error["field"]) == (
        "UNKNOWN_FIELD",
        "contact.customFields.nope",
    )
    assert (tag_error["code"], tag_error["field"]) == ("UNKNOWN_TAG", "contact.tags[1]")


@respx.mock
async def test_a_field_created_since_the_last_load_is_found_by_the_refresh() -> None:
    fields = respx.post(f"{U}/v1/contact-fields")
    fields.side_effect = [
        httpx.Response(200, json=FIELDS),
        httpx.Response(200, json=[*FIELDS["fields"], {"id": 109, "name": "fresh"}]),
    ]
    respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    create = respx.post(f"{U}/v1/contact").respond(200, json={"id": 1})
    async with serve(heymarket_config()) as gw:
        await gw.data(UPSERT, upsert_vars(customFields={"plan": 1}))
        data = await gw.data(UPSERT, upsert_vars(customFields={"fresh": 1}))
    assert data["upsertContact"]["contact"]["customFields"] == {"fresh": 1}
    assert sent(create)["custom"] == {"109": 1}


async def test_the_providers_request_id_is_kept_in_the_message() -> None:
    transport = answer(500, {"error": "server_error"}, headers={"X-Request-Id": "req-abc-123"})
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(UPSERT, upsert_vars())
    assert "req-abc-123" in data["upsertContact"]["message"]


async def test_bulk_item_failing_with_5xx_is_an_error_at_its_index_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"14155552672" in request.content:
            return httpx.Response(500, json={"error": "server_error"})
        if request.url.path == "/v1/contact/get":
            return httpx.Response(404, json={"error": "not_found"})
        return httpx.Response(200, json={"id": 1, "rev": 1, "uuid": "u"})

    contacts = [{"phone": f"41555526{n}"} for n in (71, 72, 73)]
    transport = httpx.MockTransport(handler)
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"], result["contactsCreated"]) == (2, 1, 2)
    [item] = result["errors"]
    assert (item["index"], item["error"]["code"]) == (1, "PROVIDER_ERROR")


async def test_a_lookup_miss_on_update_is_said_about_the_ref_it_looked_up_by() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/contact-fields":
            return httpx.Response(200, json=FIELDS)
        return httpx.Response(404, json={"error": "not_found"})

    transport = httpx.MockTransport(handler)
    async with serve(heymarket_config(), transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(
            UPDATE,
            {"provider": "HEYMARKET", "contact": {"id": "7"}, "fields": {"plan": "gold"}},
        )
    result = data["updateContactFields"]
    assert (result["code"], result["field"]) == ("CONTACT_NOT_FOUND", "contact.id")


KEY = "id-1||key-with-enough-bytes-for-hs256-000"


def test_one_token_is_shared_until_shortly_before_its_five_minutes_are_up() -> None:
    clock = FakeClock(start=1_700_000_000.0)
    minter = JwtMinter("id-1", "key-with-enough-bytes-for-hs256-000", clock=clock, margin=60)
    first = minter.token()
    clock.now += 239
    assert minter.token() == first and minter.minted == 1
    clock.now += 1  # 240 s old: less than the 60 s margin left of its 300 s
    second = minter.token()
    assert second != first and minter.minted == 2
    claims = jwt.decode(second, KEY, algorithms=["HS256"], options={"verify_iat": False})
    assert claims == {"iss": "id-1", "iat": 1_700_000_240}


@pytest.mark.parametrize(
    "auth",
    [{}, {"secret_id": "only-the-id"}, {"secret_key": "only-the-key"}],
)
def test_settings_need_jwt_secrets_in_pairs_or_a_legacy_key(auth: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        HeymarketSettings(**auth)


def test_settings_default_to_the_documented_budget() -> None:
    settings = HeymarketSettings(api_key="k")
    assert settings.rate_limit == "500/minute"
    assert settings.base_url == "https://api.heymarket.com"
