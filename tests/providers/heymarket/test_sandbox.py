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
