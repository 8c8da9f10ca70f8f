"""The CampaignLark simulator on its own: the behaviours the provider notes document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from providers.campaignlark.sandbox import SANDBOX_API_KEY, CampaignLarkSimulator
from tests.support import FakeClock

HEADERS = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


@pytest.fixture
async def sim() -> AsyncIterator[tuple[CampaignLarkSimulator, httpx.AsyncClient]]:
    simulator = CampaignLarkSimulator()
    transport = httpx.ASGITransport(app=simulator.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://lark", headers=HEADERS
    ) as client:
        yield simulator, client


async def upsert(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    reply = await client.post(
        "/v1/contacts/upsert", json={"email_address": "a@example.com", **body}
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]  # type: ignore[no-any-return]


async def test_a_key_that_is_missing_or_wrong_is_a_401_with_a_message(sim: Any) -> None:
    _, client = sim
    missing = await client.get("/v1/fields", headers={"Authorization": ""})
    wrong = await client.get("/v1/fields", headers={"Authorization": "Bearer nope"})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert "revoked" in wrong.json()["error"]["message"]


async def test_a_full_upsert_replaces_fields_tags_and_status(sim: Any) -> None:
    _, client = sim
    await upsert(
        client,
        fields={"plan": "gold", "lead_source": "web"},
        tags=[1, 3],
        status="UNSUBSCRIBED",
        partial_update=True,
    )
    replaced = await upsert(client, fields={"lead_source": "ads"}, partial_update=False)
    assert "plan" not in replaced["data"] and replaced["data"]["lead_source"] == "ads"
    assert replaced["tags"] == [] and replaced["status"] == "SUBSCRIBED"


async def test_a_partial_upsert_keeps_what_it_is_not_sent(sim: Any) -> None:
    _, client = sim
    await upsert(client, fields={"plan": "gold", "lead_source": "web"}, tags=[3])
    merged = await upsert(client, fields={"score": 5}, partial_update=True)
    assert merged["data"]["plan"] == "gold" and merged["data"]["score"] == 5
    assert [tag["id"] for tag in merged["tags"]] == [3]


async def test_a_lookup_miss_by_email_is_the_documented_404(sim: Any) -> None:
    _, client = sim
    missing = await client.get("/v1/contacts/by-email", params={"email": "nobody@example.com"})
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"message": "We couldn't find a contact with that email address."}
    }


async def test_put_needs_fields_and_a_status(sim: Any) -> None:
    _, client = sim
    contact = await upsert(client, fields={"lead_source": "web"})
    no_fields = await client.put(f"/v1/contacts/{contact['id']}", json={"status": "SUBSCRIBED"})
    no_status = await client.put(f"/v1/contacts/{contact['id']}", json={"fields": {"plan": "a"}})
    bad_id = await client.put("/v1/contacts/xyz", json={"fields": {"plan": "a"}, "status": "X"})
    assert no_fields.json()["error"]["message"] == "Please provide at least one field to update."
    assert no_status.status_code == 400 and "status" in no_status.json()["error"]["message"]
    assert bad_id.json()["error"]["message"] == "The contact ID you provided is not valid."


async def test_unknown_merge_tags_and_tags_are_refused_by_message(sim: Any) -> None:
    _, client = sim
    field = await client.post(
        "/v1/contacts/upsert", json={"email_address": "a@example.com", "fields": {"tier": "x"}}
    )
    tag = await client.post(
        "/v1/contacts/upsert",
        json={"email_address": "a@example.com", "fields": {"lead_source": "w"}, "tags": [99]},
    )
    assert "merge_tag" in field.json()["error"]["message"] and "tier" in field.text
    assert tag.json()["error"]["message"].startswith("Tag ID")


async def test_tags_page_at_most_one_hundred(sim: Any) -> None:
    simulator, client = sim
    for n in range(150):
        simulator.tags[100 + n] = f"t{n}"
    page = (await client.get("/v1/tags", params={"page": 1, "limit": 500})).json()
    assert len(page["data"]) == 100 and page["pagination"]["total_pages"] == 2


async def test_simulator_answers_429_past_its_budget_and_recovers_after_the_window() -> None:
    clock = FakeClock()
    lark = CampaignLarkSimulator(rate_limit=3, clock=clock)
    transport = httpx.ASGITransport(app=lark.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lark") as client:
        first = [(await client.get("/v1/fields", headers=HEADERS)).status_code for _ in range(3)]
        refused = await client.get("/v1/fields", headers=HEADERS)
        clock.now += 0.5
        still = await client.get("/v1/fields", headers=HEADERS)
        clock.now += 0.6
        again = await client.get("/v1/fields", headers=HEADERS)
        stats = await client.get("/_sandbox/stats")  # sandbox plumbing: no key, no budget
    assert stats.json() == {"requests": 6, "rejected_429": 2}
    assert first == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"error": {"message": "Too many requests. Please slow down."}}
    assert (still.status_code, again.status_code) == (429, 200)
    assert lark.rejected_429 == 2
