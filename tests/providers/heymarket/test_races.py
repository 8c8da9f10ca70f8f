"""Writers of one phone at once: every upsert succeeds, one of them creates, the last write wins.

Two upserts of a new phone both miss the look-up and both create; Heymarket refuses the second
("already exists", in whatever words): that writer looks again and updates instead.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import respx

from gateway.sandbox import Sandbox
from providers.heymarket.sandbox import Contact, HeymarketSimulator
from providers.simulator.faults import Fault
from tests.providers.heymarket.support import (
    FIELDS,
    HEYMARKET_URL,
    existing,
    heymarket_config,
    sandbox_config,
    upsert_vars,
)
from tests.support import UPSERT, serve

U = HEYMARKET_URL


class RecordingSimulator(HeymarketSimulator):
    """The simulator, remembering every write it applied, in the order it applied them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[dict[str, Any]] = []

    def _apply(  # type: ignore[override]
        self, contact: Contact, body: dict[str, Any], *, overwrite: bool
    ) -> None:
        self.writes.append(dict(body))
        HeymarketSimulator._apply(contact, body, overwrite=overwrite)


@pytest.mark.looptime
async def test_many_concurrent_upserts_of_one_phone_all_succeed_and_the_last_write_wins() -> None:
    simulator = RecordingSimulator()
    # Slow creates: every look-up misses before the first create lands, so they all race
    # (the twenty look-ups are paced 122 ms apart).
    creates = Fault(
        delay=5.0,
        passthrough=True,
        method="POST",
        path="/v1/contact",
        body_contains='"first"',  # a create's body (a look-up's is the phone alone)
        times=None,
    )
    simulator.faults.add(creates)
    sandbox = Sandbox(heymarket=simulator)
    writers = 20
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        answers = await asyncio.gather(
            *(
                gw.data(
                    UPSERT,
                    upsert_vars(firstName=f"W{n}", customFields={"plan": f"p{n}", "score": n}),
                )
                for n in range(writers)
            )
        )
    results = [answer["upsertContact"] for answer in answers]
    assert [r["__typename"] for r in results] == ["UpsertContactSuccess"] * writers, results
    assert sum(r["created"] for r in results) == 1
    assert len({r["contact"]["id"] for r in results}) == 1
    assert simulator.requests.count(("POST", "/v1/contact")) == writers  # they did race
    [stored] = simulator.contacts.values()
    last = simulator.writes[-1]
    assert len(simulator.writes) == writers  # one create, then one update each
    assert (stored.first, stored.custom) == (last["first"], last["custom"])


def sent(route: respx.Route, call: int = -1) -> Any:
    return json.loads(route.calls[call].request.content)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "bad_data", "message": "A contact with this phone already exists."}),
        (400, {"error": "bad_data", "field": "phone"}),
        (400, {"error": "bad_data", "message": "Phone number already taken"}),
        (400, {"error": "duplicate_contact"}),
        (409, {"error": "conflict"}),
    ],
    ids=["simulator", "phone-named", "taken", "duplicate-code", "409"],
)
@respx.mock
async def test_a_create_refused_because_the_phone_is_taken_looks_again_and_updates(
    status: int, body: dict[str, Any]
) -> None:
    lookup = respx.post(f"{U}/v1/contact/get")
    lookup.side_effect = [
        httpx.Response(404, json={"error": "not_found"}),
        httpx.Response(200, json=existing()),
    ]
    respx.post(f"{U}/v1/contact-fields").respond(200, json=FIELDS)
    create = respx.post(f"{U}/v1/contact").respond(status, json=body)
    update = respx.put(f"{U}/v1/contact/98765").respond(200, json={"id": 98765, "rev": 2})
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars(email="new@example.com"))
    result = data["upsertContact"]
    assert (result["__typename"], result["created"]) == ("UpsertContactSuccess", False), result
    assert (lookup.call_count, create.call_count, update.call_count) == (2, 1, 1)
    assert sent(update)["first"] == "Ann" and sent(update)["last"] == "Lee"  # names kept


@respx.mock
async def test_a_create_refusal_about_another_field_is_the_answer_at_once() -> None:
    lookup = respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    respx.post(f"{U}/v1/contact").respond(400, json={"error": "bad_data", "field": "email"})
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars(email="x@example.com"))
    assert data["upsertContact"]["code"] == "INVALID_EMAIL"
    assert lookup.call_count == 1


@respx.mock
async def test_a_phone_refused_as_taken_but_not_found_again_keeps_the_refusal() -> None:
    """Nothing to update: the create is not sent again, its answer is the client's."""
    lookup = respx.post(f"{U}/v1/contact/get").respond(404, json={"error": "not_found"})
    create = respx.post(f"{U}/v1/contact").respond(
        400, json={"error": "bad_data", "field": "phone", "message": "Invalid phone."}
    )
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars())
    result = data["upsertContact"]
    assert (result["code"], result["field"], result["retryable"]) == (
        "INVALID_PHONE",
        "contact.phone",
        False,
    )
    assert (lookup.call_count, create.call_count) == (2, 1)


@respx.mock
async def test_a_contact_deleted_between_look_up_and_update_is_created_again() -> None:
    lookup = respx.post(f"{U}/v1/contact/get")
    lookup.side_effect = [
        httpx.Response(200, json=existing()),
        httpx.Response(404, json={"error": "not_found"}),
    ]
    respx.put(f"{U}/v1/contact/98765").respond(404, json={"error": "not_found"})
    respx.post(f"{U}/v1/contact-fields").respond(200, json=FIELDS)
    create = respx.post(f"{U}/v1/contact").respond(200, json={"id": 5, "rev": 1, "uuid": "u"})
    async with serve(heymarket_config()) as gw:
        data = await gw.data(UPSERT, upsert_vars(firstName="Bo"))
    result = data["upsertContact"]
    assert (result["created"], result["contact"]["id"]) == (True, "5"), result
    assert sent(create)["first"] == "Bo" and "last" not in sent(create)
