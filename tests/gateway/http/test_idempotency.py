"""Idempotency-Key on mutations, through the real app against the sandbox (SQLite store).

Replays are byte for byte and call no provider; a key reused for another request is 422; a key
whose request still runs is 409; answers that prove nothing was written are not kept.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from providers.simulator.faults import Fault
from tests.redis_server import RedisServer
from tests.support import UPSERT, GatewayClient, serve

KEY = "8f14e45f-ceea-467f-a0e6-63b44a0e3f7b"
PROVIDERS = "{ providers { provider configured } }"


def body(phone: str = "+14155552671", provider: str = "TRACKLY", **contact: Any) -> bytes:
    variables = {"provider": provider, "contact": {"phone": phone, **contact}}
    return json.dumps({"query": UPSERT, "variables": variables}).encode()


async def post(
    gw: GatewayClient, content: bytes, key: str | bytes | None = KEY, **headers: str
) -> httpx.Response:
    sent = [(b"content-type", b"application/json")]
    sent += [(name.encode(), value.encode()) for name, value in headers.items()]
    if key is not None:
        sent.append((b"idempotency-key", key.encode("latin-1") if isinstance(key, str) else key))
    return await gw.http.post("/graphql", content=content, headers=sent)


def trackly_writes(sandbox: Sandbox) -> int:
    """Write requests that reached Trackly's simulator, those a fault answered included."""
    received = sum(1 for r in sandbox.trackly.received if r.method in ("POST", "PUT"))
    injected: int = sandbox.trackly.faults.injected
    return received + injected


def settings(tmp_path: Path, **extra: Any) -> GatewaySettings:
    return GatewaySettings(data_dir=tmp_path / "data", **extra)


async def test_the_same_key_and_request_replays_the_answer_byte_for_byte_without_a_call(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        first = await post(gw, body())
        second = await post(gw, body())
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["upsertContact"]["created"] is True
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert second.headers["content-type"] == first.headers["content-type"]
    assert trackly_writes(sandbox) == 1


async def test_variables_in_another_key_order_are_the_same_request(tmp_path: Path) -> None:
    sandbox = Sandbox()
    contact = {"phone": "+14155552671", "customFields": {"a": 1, "b": 2}}
    reordered = {"customFields": {"b": 2, "a": 1}, "phone": "+14155552671"}
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        for variables in (contact, reordered):
            content = json.dumps(
                {"query": UPSERT, "variables": {"provider": "TRACKLY", "contact": variables}}
            ).encode()
            last = await post(gw, content)
    assert last.headers.get("idempotent-replayed") == "true"
    assert trackly_writes(sandbox) == 1


async def test_the_same_key_with_another_request_is_refused_with_422(tmp_path: Path) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        await post(gw, body())
        other = await post(gw, body(customFields={"plan": "gold"}))
    assert other.status_code == 422
    assert other.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_MISMATCH"
    assert trackly_writes(sandbox) == 1


async def test_two_concurrent_requests_with_one_key_make_one_provider_call(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    sandbox.trackly.faults.add(Fault(delay=1.0, passthrough=True, path="/v2/contacts", times=None))
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:

        async def later() -> httpx.Response:
            await asyncio.sleep(0.2)  # the first has claimed the key and is at the provider
            return await post(gw, body())

        first, second = await asyncio.gather(post(gw, body()), later())
        after = await post(gw, body())
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
    assert int(second.headers["retry-after"]) >= 1
    assert after.headers["idempotent-replayed"] == "true" and after.content == first.content
    assert trackly_writes(sandbox) == 1


async def test_a_running_request_renews_its_lease_so_a_long_one_is_never_run_twice(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    sandbox.trackly.faults.add(Fault(delay=2.5, passthrough=True, path="/v2/contacts"))
    gateway = settings(tmp_path, idempotency_lease_seconds=1)
    async with serve(sandbox.config(gateway), sandbox=sandbox) as gw:

        async def past_the_lease() -> httpx.Response:
            await asyncio.sleep(1.6)
            return await post(gw, body())

        first, second = await asyncio.gather(post(gw, body()), past_the_lease())
    assert (first.status_code, second.status_code) == (200, 409)
    assert trackly_writes(sandbox) == 1


@pytest.mark.parametrize(
    ("name", "contact", "dry"),
    [
        ("a gateway refusal", {"phone": "12345"}, False),
        ("a dry run", {"phone": "+14155552671"}, True),
    ],
)
async def test_answers_that_prove_nothing_was_written_are_not_kept(
    tmp_path: Path, name: str, contact: dict[str, Any], dry: bool
) -> None:
    sandbox = Sandbox()
    query = UPSERT.replace(
        "upsertContact(provider: $provider, contact: $contact)",
        f"upsertContact(provider: $provider, contact: $contact, validateOnly: {str(dry).lower()})",
    )
    content = json.dumps(
        {"query": query, "variables": {"provider": "TRACKLY", "contact": contact}}
    ).encode()
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        first = await post(gw, content)
        again = await post(gw, content)
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in again.headers  # it ran again
    assert trackly_writes(sandbox) == 0


@pytest.mark.parametrize("status", [429, 503])
async def test_a_provider_refusal_is_not_kept_and_the_retry_writes(
    tmp_path: Path, status: int
) -> None:
    sandbox = Sandbox()
    sandbox.trackly.faults.add(Fault(status=status, path="/v2/contacts", times=None))
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        refused = await post(gw, body())
        sandbox.trackly.faults.clear()
        retried = await post(gw, body())
        replayed = await post(gw, body())
    assert refused.json()["data"]["upsertContact"]["retryable"] is True
    assert retried.json()["data"]["upsertContact"]["__typename"] == "UpsertContactSuccess"
    assert "idempotent-replayed" not in retried.headers
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == retried.content


@pytest.mark.parametrize(
    ("phone", "fault", "typename"),
    [
        ("+14155550123", None, "NotSendableError"),  # the provider refused it: a 400
        ("+14155552671", Fault(status=500, path="/v2/contacts"), "ProviderUnavailableError"),
    ],
)
async def test_an_answer_after_a_write_reached_the_provider_is_kept(
    tmp_path: Path, phone: str, fault: Fault | None, typename: str
) -> None:
    sandbox = Sandbox()
    if fault is not None:
        sandbox.trackly.faults.add(fault)  # a 500: the provider may have acted on it
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        first = await post(gw, body(phone))
        again = await post(gw, body(phone))
    assert first.json()["data"]["upsertContact"]["__typename"] == typename
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert trackly_writes(sandbox) == 1


async def test_a_key_on_a_query_is_ignored(tmp_path: Path) -> None:
    sandbox = Sandbox()
    content = json.dumps({"query": PROVIDERS}).encode()
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        answers = [await post(gw, content, key="x" * 10_000) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert all("idempotent-replayed" not in a.headers for a in answers)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (b"", "empty"),
        (b"k" * 10_240, "10240 characters long; at most 255"),
        (b"abc\x01def", "printable ASCII"),
        (b"abc\tdef", "printable ASCII"),
        ("caf\u00e9".encode("latin-1"), "printable ASCII"),
    ],
    ids=["empty", "10KB", "control", "tab", "non-ascii"],
)
async def test_a_bad_key_is_a_clear_400_before_anything_runs(
    tmp_path: Path, key: bytes, says: str
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        answer = await post(gw, body(), key=key)
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert says in error["message"]
    assert trackly_writes(sandbox) == 0


async def test_two_key_headers_are_refused(tmp_path: Path) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        answer = await gw.http.post(
            "/graphql",
            content=body(),
            headers=[
                ("content-type", "application/json"),
                ("idempotency-key", "a"),
                ("idempotency-key", "b"),
            ],
        )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_INVALID"


async def test_keys_are_scoped_by_the_clients_api_key(tmp_path: Path) -> None:
    sandbox = Sandbox()
    gateway = settings(tmp_path, api_keys=(SecretStr("client-one"), SecretStr("client-two")))
    async with serve(sandbox.config(gateway), sandbox=sandbox) as gw:
        one = await post(gw, body(), authorization="Bearer client-one")
        two = await post(gw, body(), authorization="Bearer client-two")
        one_again = await post(gw, body(), authorization="Bearer client-one")
    assert "idempotent-replayed" not in two.headers  # another client's key space
    assert one_again.headers["idempotent-replayed"] == "true"
    assert one.json()["data"]["upsertContact"]["created"] is True
    assert two.json()["data"]["upsertContact"]["created"] is False
    assert trackly_writes(sandbox) == 2


async def test_a_batch_with_a_key_is_one_request_replayed_whole(tmp_path: Path) -> None:
    sandbox = Sandbox()
    operations = [
        {"query": UPSERT, "variables": {"provider": "TRACKLY", "contact": {"phone": phone}}}
        for phone in ("+14155552671", "+14155552672")
    ]
    content = json.dumps(operations).encode()
    async with serve(sandbox.config(settings(tmp_path)), sandbox=sandbox) as gw:
        first = await post(gw, content)
        again = await post(gw, content)
        other = await post(gw, json.dumps(operations[:1]).encode())
    assert len(first.json()) == 2
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422
    assert trackly_writes(sandbox) == 2


async def test_a_kept_answer_survives_a_restart(tmp_path: Path) -> None:
    sandbox = Sandbox()
    config = sandbox.config(settings(tmp_path))
    async with serve(config, sandbox=sandbox) as gw:
        first = await post(gw, body())
    async with serve(config, sandbox=sandbox) as gw:
        again = await post(gw, body())
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert trackly_writes(sandbox) == 1


async def test_a_store_that_is_down_fails_the_request_retryably_and_calls_no_provider(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    sandbox = Sandbox()
    gateway = settings(tmp_path, redis_url=SecretStr(own_redis.url), redis_retry_seconds=0.2)
    async with serve(sandbox.config(gateway), sandbox=sandbox) as gw:
        kept = await post(gw, body())
        own_redis.stop()
        down = await post(gw, body())
        unkeyed = await post(gw, body("+14155552672"), key=None)
        own_redis.start()  # empty: the kept answer went with the old server
        await asyncio.sleep(0.3)  # the link's cool-down
        back = await post(gw, body(), key="another-key")
    assert kept.status_code == 200
    assert down.status_code == 503
    assert down.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_STORE_UNAVAILABLE"
    assert down.headers["retry-after"] == "1"
    assert unkeyed.status_code == 200  # requests without a key do not need the store
    assert back.status_code == 200 and "idempotent-replayed" not in back.headers
    assert trackly_writes(sandbox) == 3  # kept, unkeyed and back: never the refused one
