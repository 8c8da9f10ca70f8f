"""The Heymarket simulator on its own: the documented behaviours the adapter relies on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from providers.heymarket.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_SECRET_ID,
    SANDBOX_SECRET_KEY,
    HeymarketSimulator,
)
from tests.support import FakeClock

AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


@pytest.fixture
async def sim() -> AsyncIterator[tuple[HeymarketSimulator, httpx.AsyncClient]]:
    simulator = HeymarketSimulator()
    transport = httpx.ASGITransport(app=simulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hm", headers=AUTH) as c:
        yield simulator, c


async def create(client: httpx.AsyncClient, **body: Any) -> int:
    reply = await client.post("/v1/contact", json={"phone": "15105553344", **body})
    assert reply.status_code == 200, reply.text
    return reply.json()["id"]  # type: ignore[no-any-return]


async def test_an_update_overwrites_both_names_whatever_overwrite_says(sim: Any) -> None:
    simulator, client = sim
    ident = await create(client, first="Ann", last="Lee", custom={"101": "gold"})
    await client.put(f"/v1/contact/{ident}", json={"phone": "15105553344", "custom": {}})
    stored = simulator.contacts[ident]
    assert (stored.first, stored.last, stored.custom) == (None, None, {"101": "gold"})


@pytest.mark.parametrize(
    ("flag", "expected"), [("false", {"101": "a", "102": "b"}), ("true", {"102": "b"})]
)
async def test_overwrite_merges_or_replaces_custom_values(
    sim: Any, flag: str, expected: dict[str, str]
) -> None:
    simulator, client = sim
    ident = await create(client, custom={"101": "a"})
    await client.put(
        f"/v1/contact/{ident}",
        params={"overwrite": flag},
        json={"phone": "15105553344", "custom": {"102": "b"}},
    )
    assert simulator.contacts[ident].custom == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tags": [{"tag_id": n} for n in range(1, 7)]}, "tags"),
        ({"tags": [{"tag_id": 999}]}, "tags"),
        ({"custom": {"999": "x"}}, "custom.999"),
        ({"phone": "+15105553344"}, "phone"),
    ],
)
async def test_bad_data_names_the_failing_field(sim: Any, body: dict[str, Any], field: str) -> None:
    _, client = sim
    reply = await client.post("/v1/contact", json={"phone": "15105553344", **body})
    assert reply.status_code == 400
    assert reply.json()["error"] == "bad_data" and reply.json()["field"] == field
    assert reply.headers["x-request-id"].startswith("req-sim-")


async def test_a_lookup_miss_is_404_and_ids_are_integers(sim: Any) -> None:
    _, client = sim
    miss = await client.post("/v1/contact/get", json={"phone": "15105550000"})
    ident = await create(client)
    hit = await client.post("/v1/contact/get", json={"id": ident})
    assert miss.status_code == 404
    assert isinstance(ident, int) and hit.json()["phone"] == "15105553344"


async def test_tags_come_thirty_a_page(sim: Any) -> None:
    _, client = sim
    pages = [(await client.post("/v1/tags", json={"page": p})).json() for p in (1, 2, 3)]
    assert [len(page) for page in pages] == [30, 5, 0]


def token(iat: int, key: str = SANDBOX_SECRET_KEY) -> dict[str, str]:
    signed = jwt.encode(
        {"iss": SANDBOX_SECRET_ID, "iat": iat}, f"{SANDBOX_SECRET_ID}||{key}", algorithm="HS256"
    )
    return {"Authorization": f"Bearer {signed}"}


async def test_jwts_are_checked_for_signature_and_age() -> None:
    wall = FakeClock(start=1_700_000_000.0)
    simulator = HeymarketSimulator(wall_clock=wall)
    transport = httpx.ASGITransport(app=simulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hm") as client:

        async def status(headers: dict[str, str]) -> int:
            return (await client.post("/v1/contact-fields", json={}, headers=headers)).status_code

        fresh = token(int(wall.now))
        assert await status(fresh) == 200
        assert await status(token(int(wall.now), key="wrong-key-0123456789abcdef0123")) == 401
        wall.now += 300
        assert await status(fresh) == 401  # five minutes after iat
        assert await status({"Authorization": "Bearer nope"}) == 401


async def test_the_budget_is_spent_per_window_then_429() -> None:
    clock = FakeClock()
    simulator = HeymarketSimulator(rate_limit=2, rate_period=60, clock=clock)
    transport = httpx.ASGITransport(app=simulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hm", headers=AUTH) as c:
        codes = [(await c.post("/v1/contact-fields", json={})).status_code for _ in range(3)]
        clock.now += 60
        after = (await c.post("/v1/contact-fields", json={})).status_code
    assert codes == [200, 200, 429] and after == 200
    assert simulator.rejected_429 == 1


async def test_a_create_for_a_phone_that_exists_says_so_as_bad_data_on_phone(sim: Any) -> None:
    _, client = sim
    await create(client)
    reply = await client.post("/v1/contact", json={"phone": "15105553344"})
    assert reply.status_code == 400
    assert reply.json() == {
        "error": "bad_data",
        "message": "A contact with this phone already exists.",
        "field": "phone",
    }


async def batch(client: httpx.AsyncClient, body: Any, overwrite: str = "false") -> Any:
    reply = await client.post("/v1/batch/contacts", params={"overwrite": overwrite}, json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_a_batch_creates_new_phones_as_a_create_would_and_answers_ok(sim: Any) -> None:
    simulator, client = sim
    body = [
        {
            "phone": "15105550001",
            "first": "Ann",
            "custom": {"101": "gold"},
            "tags": [{"tag_id": 1}],
        },
        {"phone": "15105550002", "email": "b@example.com", "is_opted_out": True},
    ]
    assert await batch(client, body) == "ok"
    one, two = simulator.by_phone("15105550001"), simulator.by_phone("15105550002")
    assert one is not None and two is not None
    assert (one.first, one.custom, one.tags) == ("Ann", {"101": "gold"}, [1])
    assert (two.email, two.is_opted_out, two.first) == ("b@example.com", True, None)


async def test_a_batch_skips_an_existing_phone_without_a_word_unless_overwrite(sim: Any) -> None:
    simulator, client = sim
    ident = await create(client, first="Ann", last="Lee", custom={"101": "gold", "102": "x"})
    changed = [{"phone": "15105553344", "first": "Bo", "custom": {"101": "silver"}}]
    assert await batch(client, changed) == "ok"
    kept = simulator.contacts[ident]
    assert (kept.first, kept.last, kept.custom, kept.rev) == (
        "Ann",
        "Lee",
        {"101": "gold", "102": "x"},
        1,
    )
    assert await batch(client, changed, overwrite="true") == "ok"
    # Overwritten as an update with overwrite=true: both names, every custom value replaced.
    over = simulator.contacts[ident]
    assert (over.first, over.last, over.custom, over.rev) == ("Bo", None, {"101": "silver"}, 2)
    assert len(simulator.contacts) == 1


async def test_a_batch_returns_the_contacts_that_failed_as_sent_without_reasons(
    sim: Any,
) -> None:
    simulator, client = sim
    bad_custom = {"phone": "15105550001", "custom": {"999": "x"}}
    bad_tags = {"phone": "15105550002", "tags": [{"tag_id": n} for n in range(1, 7)]}
    not_a_contact = "15105550003"
    good = {"phone": "15105550004", "first": "Ok"}
    answer = await batch(client, [bad_custom, good, bad_tags, not_a_contact])
    assert answer == [bad_custom, bad_tags, not_a_contact]
    assert [c.phone for c in simulator.contacts.values()] == ["15105550004"]


async def test_a_batch_is_one_request_against_the_budget_whatever_its_size() -> None:
    clock = FakeClock()
    simulator = HeymarketSimulator(rate_limit=2, rate_period=60, clock=clock)
    transport = httpx.ASGITransport(app=simulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hm", headers=AUTH) as c:
        contacts = [{"phone": f"1510555{n:04d}"} for n in range(300)]
        first = await c.post("/v1/batch/contacts", params={"overwrite": "false"}, json=contacts)
        lookup = await c.post("/v1/contact/get", json={"phone": "15105550299"})
        refused = await c.post("/v1/contact/get", json={"phone": "15105550000"})
    assert (first.status_code, lookup.status_code, refused.status_code) == (200, 200, 429)
    assert len(simulator.contacts) == 300 and simulator.rejected_429 == 1
