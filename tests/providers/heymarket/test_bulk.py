"""A Heymarket bulk through the real app and the simulator: new contacts in batches, existing
ones updated singly, the same end state as single upserts, and each contact's own answer when a
batch fails (whole, or some of its contacts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from providers.heymarket.sandbox import SANDBOX_API_KEY, HeymarketSimulator
from providers.model import ProviderName
from providers.simulator.faults import Fault
from tests.providers.battery import (
    AUTH,
    CONF,
    DOWN,
    TRANSPORT_FAILURES,
    UNREADABLE_ANSWERS,
    ErrorCase,
)
from tests.providers.heymarket.cases import CASES
from tests.providers.heymarket.support import (
    heymarket_config,
    heymarket_settings,
    sandbox_config,
)
from tests.support import BULK, UPSERT, serve

HM = "HEYMARKET"
LOOKUP, CREATE, BATCH = (
    ("POST", "/v1/contact/get"),
    ("POST", "/v1/contact"),
    (
        "POST",
        "/v1/batch/contacts",
    ),
)


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


def wire(n: int) -> str:
    return phone(n).removeprefix("+")


def state(simulator: HeymarketSimulator) -> dict[str, tuple[Any, ...]]:
    """Every contact the provider holds, by phone: everything a client can set."""
    return {
        c.phone: (
            c.first,
            c.last,
            c.email,
            dict(c.custom),
            list(c.tags),
            c.is_opted_out,
            c.display_name,
            c.avatar,
            c.assignee_id,
        )
        for c in simulator.contacts.values()
    }


async def seed(simulator: HeymarketSimulator, numbers: list[int]) -> None:
    """Contacts that exist before the bulk, with names, fields and tags of their own."""
    transport = httpx.ASGITransport(app=simulator.app)
    auth = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hm", headers=auth) as c:
        for n in numbers:
            body = {
                "phone": wire(n),
                "first": "Old",
                "last": f"Name{n}",
                "email": f"old{n}@example.com",
                "custom": {"101": "old", "103": f"src{n}"},
                "tags": [{"tag_id": 5}],
                "display_name": "Old display",
            }
            assert (await c.post("/v1/contact", json=body)).status_code == 200


def contact(n: int) -> dict[str, Any]:
    """Four shapes of input: names, REPLACE, status and options, a last name alone."""
    shapes: list[dict[str, Any]] = [
        {
            "firstName": f"F{n}",
            "lastName": f"L{n}",
            "customFields": {"plan": f"p{n}"},
            "tags": ["vip"],
        },
        {"customFields": {"tier": n}, "fieldMode": "REPLACE"},
        {
            "email": f"new{n}@example.com",
            "status": "UNSUBSCRIBED",
            "heymarket": {"displayName": f"D{n}", "avatarUrl": "https://x.test/a.png"},
        },
        {"lastName": f"Only{n}", "tags": ["lead", "customer"], "customFields": {"score": n}},
    ]
    return {"phone": phone(n), **shapes[n % 4]}


SCENARIOS = {
    "all new": [],
    "all existing": list(range(120)),
    "half and half": list(range(0, 120, 2)),
}


@pytest.mark.looptime  # 366 requests at the sandbox's 500 a minute: 45 s of real time
@pytest.mark.parametrize("existing", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_the_batch_path_ends_in_the_same_state_as_single_upserts(
    existing: list[int],
) -> None:
    contacts = [contact(n) for n in range(120)]
    # Two more for phones already in the list: they go after it, as single upserts would.
    contacts += [{"phone": phone(3), "firstName": "Again"}, {**contact(8), "lastName": "Twice"}]
    batched, single = Sandbox(), Sandbox()
    for sandbox in (batched, single):
        await seed(sandbox.heymarket, existing)
    seeded = len(batched.heymarket.requests)
    # Batches go out full, or when the look-ups are over, however slow the machine is today.
    config = sandbox_config(batched, batch_wait_seconds=60)
    async with serve(config, sandbox=batched) as gw:
        bulk = (await gw.data(BULK, {"provider": HM, "contacts": contacts}))["bulkUpsertContacts"]
    created = 0
    async with serve(sandbox_config(single), sandbox=single) as gw:
        for one in contacts:
            data = await gw.data(UPSERT, {"provider": HM, "contact": one})
            assert data["upsertContact"]["__typename"] == "UpsertContactSuccess", data
            created += data["upsertContact"]["created"]
    assert (bulk["successCount"], bulk["errorCount"]) == (len(contacts), 0), bulk["errors"][:3]
    assert bulk["contactsCreated"] == created == 120 - len(existing)
    assert state(batched.heymarket) == state(single.heymarket)
    requests = batched.heymarket.requests[seeded:]
    new = 120 - len(existing)
    # Not vacuous: the new contacts went in batches of 50, never as single creates.
    assert requests.count(BATCH) == -(-new // 50) and CREATE not in requests
    # One look-up each, but for the second contact of phone 8 when the first was found: its
    # id is known then, and it gives both names.
    assert requests.count(LOOKUP) == len(contacts) - (8 in existing)


# -- a batch that fails ---------------------------------------------------------------------


async def test_a_batch_answering_500_gives_each_contact_its_own_answer() -> None:
    """Each is sent again as a single create: one typed error at its index, the others
    created, each once."""
    sandbox = Sandbox()
    sandbox.heymarket.faults.add(Fault(status=500, path="/v1/batch/contacts"))
    contacts: list[dict[str, Any]] = [{"phone": phone(n)} for n in range(5)]
    contacts[3]["customFields"] = {"999": "not a field of this account"}
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"], result["contactsCreated"]) == (4, 1, 4)
    [error] = result["errors"]
    assert (error["index"], error["error"]["code"], error["error"]["field"]) == (
        3,
        "INVALID_CUSTOM_FIELDS",
        "contacts[3].customFields",
    )
    # The batch was answered by the fault (the simulator never saw it), then five creates.
    assert sandbox.heymarket.faults.injected == 1
    assert sandbox.heymarket.requests.count(CREATE) == 5
    assert sorted(state(sandbox.heymarket)) == [wire(n) for n in (0, 1, 2, 4)]


class LoseFirstBatchAnswer:
    """The provider applies the first batch, then its answer is lost (502)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lost = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.lost or scope.get("path") != "/v1/batch/contacts":
            await self.app(scope, receive, send)
            return
        self.lost += 1

        async def discard(message: Any) -> None:
            pass

        await self.app(scope, receive, discard)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"<html>Bad Gateway</html>"})


async def test_a_batch_sent_again_after_its_answer_was_lost_creates_nothing_twice() -> None:
    """overwrite=false: the second batch finds every contact the first made, and skips it."""
    simulator = HeymarketSimulator()
    lose = LoseFirstBatchAnswer(simulator.faults.app)
    simulator.faults.app = lose  # behind the fault injector, in front of the endpoints
    sandbox = Sandbox(heymarket=simulator)
    contacts = [{"phone": phone(n), "firstName": f"F{n}"} for n in range(6)]
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"], result["contactsCreated"]) == (6, 0, 6)
    assert lose.lost == 1 and simulator.requests.count(BATCH) == 2
    assert CREATE not in simulator.requests
    assert sorted(c.first or "" for c in simulator.contacts.values()) == [f"F{n}" for n in range(6)]


async def test_contacts_a_batch_returns_as_failed_get_their_own_errors_at_their_index() -> None:
    """The batch names no reason: each failed contact is created alone, and that answer is
    its own typed error."""
    sandbox = Sandbox()
    contacts: list[dict[str, Any]] = [{"phone": phone(n)} for n in range(6)]
    contacts[1]["customFields"] = {"999": "x"}  # a field id the account does not have
    contacts[4]["tags"] = ["vip", "77"]  # a tag id the account does not have
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"], result["contactsCreated"]) == (4, 2, 4)
    errors = {e["index"]: (e["error"]["code"], e["error"]["field"]) for e in result["errors"]}
    assert errors == {
        1: ("INVALID_CUSTOM_FIELDS", "contacts[1].customFields"),
        4: ("UNKNOWN_TAG", "contacts[4].tags"),
    }
    requests = sandbox.heymarket.requests
    assert (requests.count(BATCH), requests.count(CREATE)) == (1, 2)


@pytest.mark.parametrize(
    "answer", [{"weird": 1}, ["15105550000"], "done"], ids=["object", "unknown-phone", "text"]
)
async def test_a_batch_answer_that_cannot_be_read_sends_each_contact_alone(answer: Any) -> None:
    sandbox = Sandbox()
    sandbox.heymarket.faults.add(Fault(status=200, body=answer, path="/v1/batch/contacts"))
    contacts = [{"phone": phone(n)} for n in range(3)]
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["contactsCreated"]) == (3, 3)
    assert sandbox.heymarket.faults.injected == 1
    assert sandbox.heymarket.requests.count(CREATE) == 3


async def test_a_batch_refused_for_the_budget_is_not_sent_again_contact_by_contact() -> None:
    sandbox = Sandbox()
    sandbox.heymarket.faults.add(Fault(status=429, path="/v1/batch/contacts", times=None))
    contacts = [{"phone": phone(n)} for n in range(3)]
    async with serve(sandbox_config(sandbox, retry_attempts=2), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert result["errorCount"] == 3
    assert {(e["index"], e["error"]["code"]) for e in result["errors"]} == {
        (n, "RATE_LIMITED") for n in range(3)
    }
    assert CREATE not in sandbox.heymarket.requests


async def test_a_batch_refused_for_the_account_is_answered_once() -> None:
    sandbox = Sandbox()
    sandbox.heymarket.faults.add(
        Fault(status=401, body={"error": "unauthorized"}, path="/v1/batch/contacts")
    )
    contacts = [{"phone": phone(n)} for n in range(3)]
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["__typename"], result["code"]) == ("AuthenticationError", "UNAUTHORIZED")


# -- writers of the same phone meanwhile ----------------------------------------------------


@pytest.mark.looptime
async def test_a_contact_created_between_the_look_up_and_the_batch_is_updated() -> None:
    """A single upsert creates the phone while the bulk's batch is on its way: Heymarket
    skips it in the batch; the bulk sees the id the upsert remembered, looks again, updates."""
    sandbox = Sandbox()
    sandbox.heymarket.faults.add(
        Fault(delay=5.0, passthrough=True, path="/v1/batch/contacts", times=None)
    )
    bulk_contacts = [
        {"phone": phone(1), "firstName": "Bulk", "customFields": {"plan": "from bulk"}},
        {"phone": phone(2), "firstName": "Other"},
    ]
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:

        async def meanwhile() -> dict[str, Any]:
            await asyncio.sleep(1.0)
            single = {"phone": phone(1), "lastName": "Single", "customFields": {"tier": "s"}}
            return await gw.data(UPSERT, {"provider": HM, "contact": single})

        bulk, upsert = await asyncio.gather(
            gw.data(BULK, {"provider": HM, "contacts": bulk_contacts}), meanwhile()
        )
    assert upsert["upsertContact"]["created"] is True
    result = bulk["bulkUpsertContacts"]
    assert (result["successCount"], result["errorCount"], result["contactsCreated"]) == (2, 0, 1)
    raced = sandbox.heymarket.by_phone(wire(1))
    assert raced is not None
    # The bulk's values applied over the upsert's, names kept as an update keeps them.
    assert (raced.first, raced.last) == ("Bulk", "Single")
    assert raced.custom == {"101": "from bulk", "102": "s"}
    assert len(sandbox.heymarket.contacts) == 2


@pytest.mark.looptime
async def test_two_bulks_creating_one_phone_at_once_create_it_once_and_apply_both() -> None:
    """The first bulk claims the phone for its batch; the second meets the claim and creates
    the contact alone; the first's batch skips it, and the first updates it."""
    sandbox = Sandbox()
    sandbox.heymarket.faults.add(
        Fault(delay=5.0, passthrough=True, path="/v1/batch/contacts", times=None)
    )
    first = [{"phone": phone(1), "customFields": {"plan": "first"}}, {"phone": phone(2)}]
    second = [{"phone": phone(1), "customFields": {"tier": "second"}}, {"phone": phone(3)}]
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:

        async def later() -> dict[str, Any]:
            await asyncio.sleep(1.0)
            return await gw.data(BULK, {"provider": HM, "contacts": second})

        one, two = await asyncio.gather(gw.data(BULK, {"provider": HM, "contacts": first}), later())
    created = [one["bulkUpsertContacts"]["contactsCreated"], two["bulkUpsertContacts"]]
    assert created[0] + created[1]["contactsCreated"] == 3 == len(sandbox.heymarket.contacts)
    assert created[1]["successCount"] == 2 and one["bulkUpsertContacts"]["successCount"] == 2
    shared = sandbox.heymarket.by_phone(wire(1))
    assert shared is not None and shared.custom == {"101": "first", "102": "second"}


# -- ids remembered -------------------------------------------------------------------------


async def test_a_contact_seen_before_and_given_both_names_is_updated_without_a_look_up() -> None:
    sandbox = Sandbox()
    await seed(sandbox.heymarket, [1, 2])
    named = [
        {"phone": phone(n), "firstName": "A", "lastName": "B", "customFields": {"plan": "x"}}
        for n in (1, 2)
    ]
    one_name = [{"phone": phone(n), "firstName": "C"} for n in (1, 2)]
    requests = sandbox.heymarket.requests
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        seen: list[list[tuple[str, str]]] = []
        for contacts in (named, named, one_name):
            before = len(requests)
            data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
            assert data["bulkUpsertContacts"]["successCount"] == 2, data
            seen.append(requests[before:])
    first_time, again, without_last_name = seen
    first_time.remove(("POST", "/v1/contact-fields"))  # the field names, read once
    assert sorted(first_time) == sorted([LOOKUP, LOOKUP, *puts(sandbox, 1, 2)])
    assert sorted(again) == sorted(puts(sandbox, 1, 2))  # no look-up: the ids were known
    # A cached name is never sent: the last name comes from a fresh look-up.
    assert without_last_name.count(LOOKUP) == 2
    for n in (1, 2):
        stored = sandbox.heymarket.by_phone(wire(n))
        assert stored is not None and (stored.first, stored.last) == ("C", "B")


def puts(sandbox: Sandbox, *numbers: int) -> list[tuple[str, str]]:
    ids = {c.phone: c.id for c in sandbox.heymarket.contacts.values()}
    return [("PUT", f"/v1/contact/{ids[wire(n)]}") for n in numbers]


async def test_a_stale_id_is_forgotten_and_the_contact_looked_up() -> None:
    sandbox = Sandbox()
    sim = sandbox.heymarket
    await seed(sim, [1, 2, 3])
    first = [{"phone": phone(n), "firstName": "A", "lastName": "B"} for n in (1, 2, 3)]
    contacts = [{"phone": phone(n), "firstName": "C", "lastName": "D"} for n in (1, 2, 3)]
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        await gw.data(BULK, {"provider": HM, "contacts": first})  # ids now known
        one, two = sim.by_phone(wire(1)), sim.by_phone(wire(2))
        assert one is not None and two is not None
        del sim.contacts[one.id]  # deleted in Heymarket: 404 at its id
        two.phone = "14150000000"  # given another phone in Heymarket; a new contact has its old one
        await seed(sim, [2])
        before = len(sim.requests)
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    assert (result["successCount"], result["contactsCreated"]) == (3, 1)
    after = sim.requests[before:]
    assert ("PUT", f"/v1/contact/{one.id}") in after and ("PUT", f"/v1/contact/{two.id}") in after
    assert after.count(LOOKUP) == 2  # the two stale ids; the third was right
    assert (two.first, two.phone) == ("A", "14150000000")  # refused: untouched
    renewed = sim.by_phone(wire(2))
    assert renewed is not None and (renewed.first, renewed.last) == ("C", "D")


# -- batch size -----------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "batches", "creates"), [(1, 0, 7), (3, 2, 1), (50, 1, 0)])
async def test_batch_size_bounds_each_batch_and_1_turns_batches_off(
    size: int, batches: int, creates: int
) -> None:
    sandbox = Sandbox()
    contacts = [{"phone": phone(n)} for n in range(7)]
    async with serve(sandbox_config(sandbox, batch_size=size), sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    assert data["bulkUpsertContacts"]["contactsCreated"] == 7
    requests = sandbox.heymarket.requests
    assert (requests.count(BATCH), requests.count(CREATE)) == (batches, creates)


@pytest.mark.looptime
async def test_a_partial_batch_waits_batch_wait_seconds_for_company_at_most() -> None:
    """Look-ups slowed down: the batch goes out when its wait is over, not at the end."""
    sandbox = Sandbox()
    sandbox.heymarket.faults.add(
        Fault(delay=2.0, passthrough=True, path="/v1/contact/get", times=None)
    )
    contacts = [{"phone": phone(n)} for n in range(6)]
    config = sandbox_config(sandbox, GatewaySettings(bulk_concurrency=1), batch_wait_seconds=5)
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    assert data["bulkUpsertContacts"]["contactsCreated"] == 6
    # Look-ups end at 2, 4, ... 12 s: a batch at 7 s (the first three), the rest at the end.
    assert sandbox.heymarket.requests.count(BATCH) == 2


# -- the error battery, through the batch ---------------------------------------------------


def _battery() -> list[Any]:
    answers = [*CASES.answers, *UNREADABLE_ANSWERS]
    failures = [
        ErrorCase(id=f"transport-{code}-{n}", status=0, code=code, member=DOWN, retryable=True)
        for n, (_, code) in enumerate(TRANSPORT_FAILURES)
    ]
    raisers = {f"transport-{code}-{n}": fail for n, (fail, code) in enumerate(TRANSPORT_FAILURES)}
    return [pytest.param(case, raisers.get(case.id), id=case.id) for case in answers + failures]


@pytest.mark.parametrize(("case", "raise_it"), _battery())
async def test_every_answer_to_a_batch_reaches_each_of_its_contacts(
    case: ErrorCase, raise_it: Callable[[], Exception] | None
) -> None:
    """The shared battery's rules, for two new contacts sharing a batch: the batch and the
    single creates that may follow it give the answer; a refusal of the account is answered
    once, any other failure is each contact's own, at its index."""
    flow = CASES.flows["bulk"]

    def handler(request: httpx.Request) -> httpx.Response:
        if (request.method, request.url.path) in (BATCH, CREATE):
            if raise_it is not None:
                raise raise_it()
            return case.response()
        return flow.ordinary(request)

    contacts = [{"phone": "4155552671"}, {"phone": "4155552672"}]
    transport = httpx.MockTransport(handler)
    # A failing batch and the creates after it are provider faults in a row: past five, the
    # circuit would answer for the provider, which is another test's subject.
    config = heymarket_config(settings=heymarket_settings(breaker_threshold=50))
    async with serve(config, transports={ProviderName.HEYMARKET: transport}) as gw:
        data = await gw.data(BULK, {"provider": HM, "contacts": contacts})
    result = data["bulkUpsertContacts"]
    if case.member in (AUTH, CONF):
        assert (result["__typename"], result["code"]) == (case.member, case.code), result
        return
    assert (result["successCount"], result["errorCount"]) == (0, 2), result
    for index, item in enumerate(result["errors"]):
        error = item["error"]
        assert item["index"] == index, result
        assert (error["__typename"], error["code"]) == (case.member, case.code), result
        assert error["retryable"] is case.retryable, result
        if raise_it is None:
            assert (error["providerCode"], error["origin"]) == (
                case.provider_code,
                case.origin,
            ), result
        else:
            assert (error["providerCode"], error["origin"]) == (None, "TRANSPORT"), result
        if case.field is not None:
            assert error["field"] == f"contacts[{index}].{case.field}", result


@pytest.mark.looptime
async def test_a_bulk_whose_client_left_sends_nothing_more() -> None:
    """One contact waits for its batch while another's look-up hangs; the client leaves: the
    waiting batch never goes out, and nothing fails in the background."""
    loop = asyncio.get_running_loop()
    troubles: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: troubles.append(context))
    sandbox = Sandbox()
    hang = Fault(delay=100.0, passthrough=True, path="/v1/contact/get", body_contains=wire(2))
    sandbox.heymarket.faults.add(hang)
    contacts = [{"phone": phone(1)}, {"phone": phone(2)}]
    async with serve(sandbox_config(sandbox), sandbox=sandbox) as gw:
        call = asyncio.ensure_future(gw.data(BULK, {"provider": HM, "contacts": contacts}))
        await asyncio.sleep(1.0)
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        await asyncio.sleep(30.0)  # past batch_wait_seconds
    requests = sandbox.heymarket.requests
    assert CREATE not in requests and BATCH not in requests
    assert troubles == []
