"""The idempotency store's contract, held by both stores: the embedded SQLite one and Redis."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store import (
    Claimed,
    IdempotencyStore,
    InFlight,
    Mismatch,
    RedisIdempotencyStore,
    Replay,
    SqliteDatabase,
    SqliteIdempotencyStore,
    StoredAnswer,
    StoreUnavailable,
)
from gateway.store.sqlite import DATABASE_FILE, MIGRATIONS
from providers.resilience.redis_link import RedisLink
from tests.redis_server import RedisServer

ANSWER = StoredAnswer(200, (("content-type", "application/json"),), b'{"data":{"x":1}}')


@pytest.fixture(params=["sqlite", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[IdempotencyStore]:
    if request.param == "sqlite":
        database = await SqliteDatabase.open(tmp_path)
        yield SqliteIdempotencyStore(database)
        await database.aclose()
    else:
        link = RedisLink.from_url(redis_server.url, namespace=f"t{uuid.uuid4().hex[:8]}")
        yield RedisIdempotencyStore(link)
        await link.aclose()


async def test_a_key_is_claimed_once_and_replayed_once_complete(store: IdempotencyStore) -> None:
    claim = await store.claim("k", "fp", 30)
    assert isinstance(claim, Claimed)
    assert isinstance(await store.claim("k", "fp", 30), InFlight)
    assert isinstance(await store.claim("k", "other", 30), Mismatch)
    assert await store.complete("k", claim.token, ANSWER, 60) is True
    assert await store.claim("k", "fp", 30) == Replay(ANSWER)
    assert isinstance(await store.claim("k", "other", 30), Mismatch)


async def test_concurrent_claims_of_one_key_give_it_to_exactly_one(
    store: IdempotencyStore,
) -> None:
    claims = await asyncio.gather(*(store.claim("k", "fp", 30) for _ in range(20)))
    assert sum(isinstance(c, Claimed) for c in claims) == 1
    assert sum(isinstance(c, InFlight) for c in claims) == 19


async def test_a_released_key_can_be_claimed_again(store: IdempotencyStore) -> None:
    claim = await store.claim("k", "fp", 30)
    assert isinstance(claim, Claimed)
    await store.release("k", claim.token)
    assert isinstance(await store.claim("k", "another request", 30), Claimed)


async def test_a_lease_that_runs_out_frees_the_key_and_the_old_holder_cannot_complete(
    store: IdempotencyStore,
) -> None:
    old = await store.claim("k", "fp", 0.2)
    assert isinstance(old, Claimed)
    await asyncio.sleep(0.3)  # its process died: nobody renewed the lease
    new = await store.claim("k", "fp", 30)
    assert isinstance(new, Claimed)
    assert await store.complete("k", old.token, ANSWER, 60) is False
    assert await store.renew("k", old.token, 30) is False
    await store.release("k", old.token)  # not its key any more: nothing happens
    assert isinstance(await store.claim("k", "fp", 30), InFlight)


async def test_a_renewed_lease_keeps_the_key(store: IdempotencyStore) -> None:
    claim = await store.claim("k", "fp", 0.3)
    assert isinstance(claim, Claimed)
    for _ in range(3):
        await asyncio.sleep(0.15)
        assert await store.renew("k", claim.token, 0.3) is True
    assert isinstance(await store.claim("k", "fp", 30), InFlight)


async def test_a_kept_answer_expires_with_its_ttl(store: IdempotencyStore) -> None:
    claim = await store.claim("k", "fp", 30)
    assert isinstance(claim, Claimed)
    await store.complete("k", claim.token, ANSWER, 0.2)
    await asyncio.sleep(0.3)
    assert isinstance(await store.claim("k", "another request", 30), Claimed)


async def test_the_database_is_migrated_once_in_wal_mode(tmp_path: Path) -> None:
    for _ in range(2):  # the second open finds the schema current
        database = await SqliteDatabase.open(tmp_path / "data")
        await database.aclose()
    with sqlite3.connect(tmp_path / "data" / DATABASE_FILE) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "idempotency_keys" in tables


async def test_a_later_migration_runs_on_a_database_made_by_an_earlier_gateway(
    tmp_path: Path,
) -> None:
    database = await SqliteDatabase.open(tmp_path)
    await database.aclose()
    # A feature yet to come (the table name is the test's own: import_jobs exists by now).
    later = (*MIGRATIONS, ("CREATE TABLE later_feature (id TEXT PRIMARY KEY)",))
    database = await SqliteDatabase.open(tmp_path, later)
    names = await database.run(
        lambda c: [row[0] for row in c.execute("SELECT name FROM sqlite_master")]
    )
    await database.aclose()
    assert "later_feature" in names and "idempotency_keys" in names and "import_jobs" in names


async def test_a_database_from_a_newer_gateway_is_refused_with_the_reason(tmp_path: Path) -> None:
    later = (*MIGRATIONS, ("CREATE TABLE later (id TEXT)",))
    database = await SqliteDatabase.open(tmp_path, later)
    await database.aclose()
    with pytest.raises(StoreUnavailable, match="newer than this gateway knows"):
        await SqliteDatabase.open(tmp_path)


async def test_a_data_dir_that_cannot_be_made_is_refused_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable, match=r"cannot use .*file"):
        await SqliteDatabase.open(blocker / "data")


async def test_redis_down_is_store_unavailable_never_a_skipped_check(
    own_redis: RedisServer,
) -> None:
    link = RedisLink.from_url(own_redis.url, namespace="down", timeout=0.3)
    store = RedisIdempotencyStore(link)
    try:
        assert isinstance(await store.claim("k", "fp", 30), Claimed)
        own_redis.stop()
        with pytest.raises(StoreUnavailable):
            await store.claim("j", "fp", 30)
        with pytest.raises(StoreUnavailable):  # in the link's cool-down: refused at once
            await store.claim("j", "fp", 30)
    finally:
        await link.aclose()
