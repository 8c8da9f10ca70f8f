"""End to end: GraphQL in, the real ASGI app, the Heymarket simulator behind the adapter."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import SecretStr

from gateway.config import Config, GatewaySettings
from gateway.sandbox import Sandbox
from providers.heymarket import HeymarketSettings
from providers.heymarket.sandbox import (
    SANDBOX_API_KEY,
    HeymarketSimulator,
)
from providers.model import ProviderName
from providers.simulator.faults import Fault
from tests.providers.heymarket.support import sandbox_config
from tests.support import BULK, UPDATE, UPSERT, serve


def upsert(**contact: Any) -> dict[str, Any]:
    return {"provider": "HEYMARKET", "contact": {"phone": "(510) 555-3344", **contact}}


async def test_upsert_update_and_fields_keep_names_and_follow_overwrite() -> None:
    sandbox = Sandbox()
    sim = sandbox.heymarket
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        created = await gw.data(
            UPSERT,
            upsert(
                firstName="Ann",
                lastName="Lee",
                customFields={"plan": "gold"},
                tags=["vip", "tag-33"],
                status="UNSUBSCRIBED",
            ),
        )
        updated = await gw.data(UPSERT, upsert(email="ann@example.com", customFields={"tier": 2}))
        contact_id = created["upsertContact"]["contact"]["id"]
        merged = await gw.data(
            UPDATE,
            {"provider": "HEYMARKET", "contact": {"id": contact_id}, "fields": {"score": 9}},
        )
        uuid = sim.contacts[int(contact_id)].uuid
        replaced = await gw.data(
            UPDATE,
            {
                "provider": "HEYMARKET",
                "contact": {"id": uuid, "phone": "+15105553344"},
                "fields": {"vip": True},
                "mode": "REPLACE",
            },
        )
    first = created["upsertContact"]
    assert first["created"] is True and first["contact"]["phone"] == "+15105553344"
    second = updated["upsertContact"]
    assert second["created"] is False and second["contact"]["id"] == contact_id
    assert second["contact"]["customFields"] == {"plan": "gold", "tier": 2}
    assert merged["updateContactFields"]["customFields"] == {"plan": "gold", "tier": 2, "score": 9}
    assert replaced["updateContactFields"]["customFields"] == {"vip": True}
    stored = sim.contacts[int(contact_id)]
    assert (stored.first, stored.last, stored.email) == ("Ann", "Lee", "ann@example.com")
    assert stored.is_opted_out is True and stored.tags == [1, 33]
    assert stored.custom == {"105": True} and stored.phone == "15105553344"
    assert ("PUT", f"/v2/contact/{uuid}") in sim.requests


async def test_update_fields_for_a_contact_heymarket_does_not_have_is_not_found() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        by_phone = await gw.data(
            UPDATE, {"provider": "HEYMARKET", "contact": {"phone": "4155550000"}, "fields": {}}
        )
        by_id = await gw.data(
            UPDATE, {"provider": "HEYMARKET", "contact": {"id": "123"}, "fields": {}}
        )
    for data, field in ((by_phone, "contact.phone"), (by_id, "contact.id")):
        result = data["updateContactFields"]
        assert (result["__typename"], result["code"], result["field"]) == (
            "NotFoundError",
            "CONTACT_NOT_FOUND",
            field,
        )


async def test_bulk_answers_at_input_positions_and_counts_add_up() -> None:
    sandbox = Sandbox()
    contacts: list[dict[str, Any]] = [
        {"phone": "4155550101", "customFields": {"plan": "a"}},
        {"phone": "4155550102", "tags": ["ghost"]},
        {"email": "no-phone@example.com"},
        {"phone": "4155550104", "customFields": {"nope": 1}},
        {"phone": "4155550101", "firstName": "Again"},
        {"phone": "4155550106", "tags": ["vip", "lead", "customer", "newsletter", "churned", "x"]},
    ]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert result["successCount"] + result["errorCount"] == len(contacts)
    assert {e["index"]: e["error"]["code"] for e in result["errors"]} == {
        1: "UNKNOWN_TAG",
        2: "MISSING_PHONE_NUMBER",
        3: "UNKNOWN_FIELD",
        5: "TOO_MANY_TAGS",
    }
    assert result["successCount"] == 2
    assert len(sandbox.heymarket.contacts) == 1


@pytest.mark.parametrize(
    ("simulator", "settings"),
    [
        # The simulator's clock is six minutes ahead: every token the gateway mints is expired.
        (HeymarketSimulator(wall_clock=lambda: time.time() + 360), {}),
        (HeymarketSimulator(), {"secret_key": SecretStr("not-the-key-" + "0" * 24)}),
        (HeymarketSimulator(), {"secret_id": None, "secret_key": None, "api_key": SecretStr("x")}),
    ],
    ids=["expired-jwt", "badly-signed-jwt", "wrong-legacy-key"],
)
async def test_the_simulator_refuses_bad_credentials_with_401(
    simulator: HeymarketSimulator, settings: dict[str, Any]
) -> None:
    sandbox = Sandbox(heymarket=simulator)
    async with serve(sandbox_config(sandbox, **settings), sandbox=sandbox) as gw:
        data = await gw.data(UPSERT, upsert())
    result = data["upsertContact"]
    assert (result["__typename"], result["code"]) == ("AuthenticationError", "UNAUTHORIZED")
    assert "provider request id req-sim-" in result["message"]


async def test_the_legacy_key_is_accepted_by_the_simulator() -> None:
    sandbox = Sandbox()
    settings = HeymarketSettings(
        base_url="http://heymarket.sandbox", api_key=SecretStr(SANDBOX_API_KEY)
    )
    config = Config(sandbox.config().gateway, {ProviderName.HEYMARKET: settings}, sandbox=True)
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(UPSERT, upsert())
    assert data["upsertContact"]["__typename"] == "UpsertContactSuccess"


async def test_the_simulator_answers_429_past_its_budget() -> None:
    sandbox = Sandbox(heymarket=HeymarketSimulator(rate_limit=3, clock=lambda: 0.0))
    config = sandbox_config(sandbox, rate_limit=None, retry_attempts=1)
    async with serve(config, sandbox=sandbox) as gw:
        first = await gw.data(UPSERT, upsert())  # lookup + create: 2 of 3
        second = await gw.data(UPSERT, upsert())  # lookup: 3 of 3, then the update is refused
    assert first["upsertContact"]["__typename"] == "UpsertContactSuccess"
    result = second["upsertContact"]
    assert (result["__typename"], result["code"], result["retryable"]) == (
        "RateLimitedError",
        "RATE_LIMITED",
        True,
    )
    assert sandbox.heymarket.rejected_429 == 1


@pytest.mark.looptime
async def test_a_bulk_is_paced_to_the_budget_and_never_draws_a_429() -> None:
    """32 requests at 10 a minute (30 look-ups, their new contacts created in 2 batches),
    admitted one every 6.7 s: the import takes minutes, far past the gateway's deadline; that
    wait is the import's pace, so no contact is refused for it."""
    loop = asyncio.get_running_loop()
    simulator = HeymarketSimulator(rate_limit=10, rate_period=60.0, clock=loop.time)
    sandbox = Sandbox(heymarket=simulator)
    contacts = [{"phone": f"+1415555{n:04d}"} for n in range(30)]
    config = sandbox_config(sandbox, GatewaySettings(deadline_seconds=5), rate_limit="10/minute")
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["contactsCreated"]) == (30, 30)
    assert simulator.rejected_429 == 0
    # Nine look-ups a minute (one of the ten stays free); a batch waits up to 150 s (half a
    # claim's life) for more: the 23 new contacts looked up by then, then the last 7 when the
    # last look-up is done.
    assert simulator.requests.count(("POST", "/v1/contact/get")) == 30
    assert simulator.requests.count(("POST", "/v1/batch/contacts")) == 2
    assert len(simulator.requests) == 32


@pytest.mark.looptime
async def test_a_bulk_sends_contacts_sharing_a_phone_in_order() -> None:
    sandbox = Sandbox()
    # A slow API: contacts sent side by side would all miss the lookup, then collide on the
    # create ("a contact with this phone already exists").
    sandbox.heymarket.faults.add(Fault(delay=1.0, passthrough=True, path="/v1/contact", times=None))
    contacts = [
        {"phone": "4155550101", "customFields": {"plan": "a"}},
        {"phone": "+14155550101", "customFields": {"tier": "b"}},
        {"phone": "415-555-0101", "firstName": "Last"},
    ]
    async with serve(
        sandbox.config(gateway=GatewaySettings(bulk_concurrency=8)), sandbox=sandbox
    ) as gw:
        data = await gw.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"], result["contactsCreated"]) == (3, 0, 1)
    [stored] = sandbox.heymarket.contacts.values()
    assert stored.custom == {"101": "a", "102": "b"} and stored.first == "Last"


async def test_check_config_accepts_jwt_or_legacy_and_names_a_half_pair(tmp_path: Any) -> None:
    from gateway.config import ConfigError, load_config

    good = tmp_path / "good.toml"
    good.write_text('[providers.heymarket]\nsecret_id = "a"\nsecret_key = "b"\n')
    assert ProviderName.HEYMARKET in load_config(good, environ={}).providers
    bad = tmp_path / "bad.toml"
    bad.write_text('[providers.heymarket]\nsecret_id = "a"\n')
    with pytest.raises(ConfigError, match=r"providers\.heymarket.*secret_key"):
        load_config(bad, environ={})


@pytest.mark.looptime
async def test_a_5000_contact_bulk_at_the_documented_500_a_minute_draws_no_429() -> None:
    """The documented budget, the default pacing, a simulator that enforces it strictly."""
    loop = asyncio.get_running_loop()
    simulator = HeymarketSimulator(rate_limit=500, rate_period=60.0, clock=loop.time)
    sandbox = Sandbox(heymarket=simulator)
    contacts = [{"phone": f"+1415{n:07d}"} for n in range(2_000_000, 2_005_000)]
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"]) == (5_000, 0), result["errors"][:3]
    assert result["contactsCreated"] == 5_000
    assert simulator.rejected_429 == 0
    # A look-up a contact, the new ones created 50 a batch: 100 batches, plus a partial one
    # each time a pacing window ran out before its batch filled (11 windows at most).
    requests = simulator.requests
    assert requests.count(("POST", "/v1/contact/get")) == 5_000
    assert 100 <= requests.count(("POST", "/v1/batch/contacts")) <= 111
    assert ("POST", "/v1/contact") not in requests
    assert len(simulator.contacts) == 5_000


async def test_a_dry_run_leaves_no_stand_in_id_for_the_real_call_to_write_to() -> None:
    sandbox = Sandbox()
    dry = (
        "mutation($c: ContactInput!, $v: Boolean) { upsertContact(provider: HEYMARKET, "
        "contact: $c, validateOnly: $v) { __typename ... on UpsertContactSuccess { dryRun "
        "contact { id } } } }"
    )
    contact = {"phone": "4155552671", "firstName": "Ann", "lastName": "Lee"}
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        previewed = await gw.data(dry, {"c": contact, "v": True})
        real = await gw.data(dry, {"c": contact, "v": False})
        again = await gw.data(dry, {"c": contact, "v": False})
    assert previewed["upsertContact"]["dryRun"] is True
    assert sandbox.heymarket.by_phone("14155552671") is not None
    created_id = str(sandbox.heymarket.by_phone("14155552671").id)
    assert real["upsertContact"]["contact"]["id"] == created_id
    assert again["upsertContact"]["contact"]["id"] == created_id  # updated where it lives
    paths = [path for _, path in sandbox.heymarket.requests]
    assert not any(path.startswith("/v1/contact/0") for path in paths), paths
