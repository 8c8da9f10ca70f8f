"""Phones' Heymarket ids in the account cache: keyed by a keyed digest, shared by the fleet;
and how a batch's answer is read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import SecretStr

from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from providers.cache import MemoryCache
from providers.heymarket.ids import ContactIds, KnownId
from providers.heymarket.wire import batch_failures
from providers.resilience.redis_link import RedisLink
from tests.providers.heymarket.support import sandbox_config
from tests.redis_server import RedisServer
from tests.support import BULK, serve

PHONE = "+15105553344"


async def test_an_id_is_kept_under_a_key_that_names_no_one() -> None:
    cache = MemoryCache()
    ids = ContactIds(cache, "secret-id||secret-key", ttl=60)
    await ids.remember(PHONE, 98765, created=True)
    assert await ids.get(PHONE) == KnownId(98765, created=True)
    assert await ids.get(PHONE.removeprefix("+")) == KnownId(98765, created=True)  # one key
    [(key, (value, _))] = cache._entries.items()
    assert "5105553344" not in key and "553344" not in key
    assert value == '{"id": 98765, "created": true}'
    # Another account's secret: another key for the same phone (digests cannot be matched
    # across accounts, nor reversed by hashing every phone number without the secret).
    other = ContactIds(cache, "another||secret", ttl=60)
    assert await other.get(PHONE) is None
    await ids.forget(PHONE)
    assert await ids.get(PHONE) is None


async def test_an_entry_another_version_wrote_counts_as_absent() -> None:
    cache = MemoryCache()
    ids = ContactIds(cache, "s", ttl=60)
    await ids.remember(PHONE, 1)
    [key] = cache._entries
    for junk in ("not json", '{"id": "7"}', '{"id": true}', "[1]"):
        await cache.set(key, junk, ttl=60)
        assert await ids.get(PHONE) is None


async def test_a_claim_is_held_by_one_bulk_until_it_releases_it() -> None:
    ids = ContactIds(MemoryCache(), "s", ttl=60)
    assert await ids.claim(PHONE, "bulk-a")
    assert await ids.claim(PHONE, "bulk-a")  # its own claim again
    assert not await ids.claim(PHONE, "bulk-b")
    assert await ids.holds(PHONE, "bulk-a") and not await ids.holds(PHONE, "bulk-b")
    await ids.release(PHONE, "bulk-b")  # not b's to release
    assert await ids.holds(PHONE, "bulk-a")
    await ids.release(PHONE, "bulk-a")
    assert await ids.claim(PHONE, "bulk-b")


async def test_the_fleet_shares_ids_through_redis_and_keys_hold_no_phone(
    redis_server: RedisServer,
) -> None:
    """One gateway looks the contacts up; another, sharing Redis, updates them at their ids."""
    sandbox = Sandbox()
    namespace = f"t{uuid.uuid4().hex[:8]}"
    settings = GatewaySettings(redis_url=SecretStr(redis_server.url), redis_namespace=namespace)
    config = sandbox_config(sandbox, settings)
    contacts = [
        {"phone": f"+1415555{n:04d}", "firstName": "Ann", "lastName": f"Lee{n}"} for n in range(3)
    ]
    sim = sandbox.heymarket
    async with serve(config, sandbox=sandbox) as one, serve(config, sandbox=sandbox) as two:
        await one.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})  # all new
        await one.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})  # looked up
        before = len(sim.requests)
        data = await two.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
    assert data["bulkUpsertContacts"]["successCount"] == 3
    assert [method for method, _ in sim.requests[before:]] == ["PUT"] * 3
    link = RedisLink.from_url(redis_server.url, namespace=namespace)
    try:
        keys = [_text(k) async for k in link.client.scan_iter(match=f"{namespace}:heymarket:*")]
        values = [_text(await link.client.get(k)) for k in keys if ":cache:contact:" in k]
    finally:
        await link.aclose()
    assert len(values) == 3
    for key in keys:
        assert "4155550" not in key and "Ann" not in key and "Lee" not in key
    for value in values:
        assert "Ann" not in value and "Lee" not in value and "415" not in value


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


@pytest.mark.parametrize(
    ("answer", "failed"),
    [
        ("ok", set()),
        ("OK", set()),
        ([], set()),
        ([{"phone": "15105550001", "first": "A"}], {"15105550001"}),
        (["+15105550002", 15105550001], {"15105550001", "15105550002"}),
        ({"failed": [{"phone": "15105550002"}]}, {"15105550002"}),
        ({"status": "ok"}, set()),
        ([{"phone": "15109999999"}], None),  # a phone the batch did not carry
        ([{"first": "no phone"}], None),
        ({"status": "queued"}, None),
        ("accepted", None),
        (42, None),
    ],
)
def test_a_batch_answer_is_read_tolerantly_or_not_at_all(
    answer: Any, failed: set[str] | None
) -> None:
    assert batch_failures(answer, {"15105550001", "15105550002"}) == failed
