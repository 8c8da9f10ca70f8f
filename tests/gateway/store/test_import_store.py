"""Both import stores, SQLite and Redis (with its saq queue), against one contract: leases that
two workers never share, checkpoints counted once, work taken over from a worker whose process
ended, and jobs that finish, cancel and expire.

SQLite: two workers are two SqliteDatabase connections with an OwnerLock each, on one file:
what two gateway processes of one host have (the process-level test is tests/gateway/imports/
test_processes.py). Redis: two RedisImportStores with a client each, on a real redis-server:
what two gateway processes of a fleet have (tests/fleet/test_imports.py runs real ones). A
worker "dies" the way each store can tell: its flock is dropped (SQLite), or it stops renewing
and its lease runs out (Redis).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.store.imports import (
    ChunkOutcome,
    ChunkWork,
    FailedRow,
    ImportStatus,
    ImportStore,
    InputRow,
    NewJob,
    ReadInput,
    RowBatch,
    RowFormat,
)
from gateway.store.owners import OwnerLock
from gateway.store.redis_imports import RedisImportStore
from gateway.store.sqlite import SqliteDatabase
from gateway.store.sqlite_imports import SqliteImportStore
from providers.errors import ErrorCode, Failure, Origin
from providers.model import ProviderName
from tests.redis_server import RedisServer

NOW = 1_700_000_000.0
LEASE = 2  # the Redis store's lease in these tests: a dead worker's work is free after it


class Worker:
    def __init__(self, store: ImportStore, owner: OwnerLock) -> None:
        self.store = store
        self.owner = owner

    async def claim(self, now: float = NOW) -> ReadInput | ChunkWork | None:
        return await self.store.claim(self.owner.token, now)

    async def die(self) -> None:
        """What the process' end does to its leases, as this store sees it."""
        if isinstance(self.store, RedisImportStore):
            await asyncio.sleep(LEASE + 0.5)  # it renews no more: its heartbeat runs out
        else:
            self.owner.release()  # what the kernel does when the process is killed


@pytest.fixture(params=["sqlite", "redis"])
async def workers(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Worker]]:
    made: list[Worker] = []
    closing: list[SqliteDatabase | RedisImportStore] = []
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    for _ in range(2):
        owner = OwnerLock(tmp_path)
        owner.acquire()
        store: SqliteImportStore | RedisImportStore
        if request.param == "redis":
            server: RedisServer = request.getfixturevalue("redis_server")
            store = RedisImportStore(
                aioredis.Redis.from_url(server.url),
                namespace=namespace,
                lease_seconds=LEASE,
                sweep_every=0.2,
            )
            closing.append(store)
        else:
            database = await SqliteDatabase.open(tmp_path)
            store = SqliteImportStore(database, owner)
            closing.append(database)
        made.append(Worker(store, owner))
    yield made
    for worker in made:
        worker.owner.release()
    for each in closing:
        await each.aclose()


def rows(count: int) -> list[InputRow]:
    return [InputRow(i, json.dumps({"phone": f"+1415555{2000 + i:04d}"})) for i in range(count)]


def new_job(
    job_id: str = "job-1", *, size: int = 10, in_flight: int = 1, **extra: object
) -> NewJob:
    return NewJob(
        id=job_id,
        provider=ProviderName.TRACKLY,
        row_format=RowFormat.NDJSON,
        chunk_size=size,
        max_in_flight=in_flight,
        created_at=NOW,
        **extra,  # type: ignore[arg-type]
    )


def outcome(work: ChunkWork, failed: int = 0, created: int = 0) -> ChunkOutcome:
    failures = [
        FailedRow(row.index, None, None, Failure(ErrorCode.INVALID_PHONE, "bad"))
        for row in work.rows[:failed]
    ]
    return ChunkOutcome(len(work.rows), failures, created)


async def test_two_workers_never_get_the_same_chunk(workers: list[Worker]) -> None:
    first, second = workers
    await first.store.create(new_job(size=10, in_flight=4), rows(35))

    claimed = await asyncio.gather(*(w.claim() for w in (first, second, first, second, first)))

    chunks = [work.chunk for work in claimed if isinstance(work, ChunkWork)]
    assert sorted(chunks) == [0, 1, 2, 3]  # four in flight at most; each chunk once
    assert claimed.count(None) == 1
    firsts = sorted(work.first for work in claimed if isinstance(work, ChunkWork))
    assert firsts == [0, 10, 20, 30]
    last = next(w for w in claimed if isinstance(w, ChunkWork) and w.chunk == 3)
    assert [row.index for row in last.rows] == [30, 31, 32, 33, 34]


async def test_one_chunk_in_flight_per_job_when_the_plan_says_so(workers: list[Worker]) -> None:
    first, second = workers
    await first.store.create(new_job(size=10, in_flight=1), rows(30))
    work = await first.claim()
    assert isinstance(work, ChunkWork)
    assert await second.claim() is None  # the job's one chunk is out
    assert await first.store.checkpoint(work, outcome(work), NOW + 1)
    following = await second.claim()
    assert isinstance(following, ChunkWork) and following.chunk == 1


async def test_a_checkpoint_counts_once_and_the_last_one_finishes_the_job(
    workers: list[Worker],
) -> None:
    first, _ = workers
    await first.store.create(new_job(size=10, in_flight=2), rows(15))
    one, two = await first.claim(), await first.claim()
    assert isinstance(one, ChunkWork) and isinstance(two, ChunkWork)

    assert await first.store.checkpoint(one, outcome(one, failed=2, created=3), NOW + 1)
    assert not await first.store.checkpoint(one, outcome(one, failed=2, created=3), NOW + 1)
    job = await first.store.get("job-1")
    assert job is not None and job.status is ImportStatus.RUNNING
    assert (job.processed, job.succeeded, job.failed, job.created) == (10, 8, 2, 3)

    assert await first.store.checkpoint(two, outcome(two), NOW + 2)
    job = await first.store.get("job-1")
    assert job is not None
    assert job.status is ImportStatus.SUCCEEDED
    assert (job.total, job.processed, job.succeeded, job.failed) == (15, 15, 13, 2)
    assert job.finished_at == NOW + 2
    errors = await first.store.errors("job-1", 10, 0)
    assert [row.index for row in errors] == [0, 1]
    assert errors[0].failure.code is ErrorCode.INVALID_PHONE
    assert [row.index for row in await first.store.errors("job-1", 10, 1)] == [1]


async def test_a_dead_workers_chunk_is_taken_over_and_its_late_checkpoint_refused(
    tmp_path: Path, workers: list[Worker]
) -> None:
    first, second = workers
    await first.store.create(new_job(size=10, in_flight=1), rows(20))
    work = await first.claim()
    assert isinstance(work, ChunkWork)
    assert await second.claim() is None  # alive: its chunk stays its own

    await first.die()
    taken = await second.claim(NOW + 5)

    assert isinstance(taken, ChunkWork) and taken.chunk == work.chunk
    assert taken.job.run_started_at == NOW + 5  # the rate counts from the take-over
    assert not await first.store.checkpoint(work, outcome(work), NOW + 6)
    assert await second.store.checkpoint(taken, outcome(taken), NOW + 6)
    job = await second.store.get("job-1")
    assert job is not None and job.processed == 10


async def test_a_chunk_given_back_or_deferred_is_sent_again_and_not_counted(
    workers: list[Worker],
) -> None:
    first, second = workers
    await first.store.create(new_job(size=10), rows(10))
    work = await first.claim()
    assert isinstance(work, ChunkWork)
    await first.store.defer(work, NOW + 30, "turned away: sent again after a pause")

    assert await second.claim(NOW + 10) is None  # not before the pause ends
    again = await second.claim(NOW + 31)
    assert isinstance(again, ChunkWork) and again.chunk == 0
    await second.store.release(again)
    job = await first.store.get("job-1")
    assert job is not None and job.processed == 0
    assert job.warnings == ("turned away: sent again after a pause",)


async def test_cancel_stops_claims_and_a_finished_job_is_not_cancelled(
    workers: list[Worker],
) -> None:
    first, second = workers
    await first.store.create(new_job(size=10, in_flight=1), rows(30))
    work = await first.claim()
    assert isinstance(work, ChunkWork)

    job = await second.store.cancel("job-1", NOW + 1)
    assert job is not None and job.status is ImportStatus.CANCELLED
    assert await second.store.leases("job-1") == 1  # still in flight in `first`
    assert await first.store.cancelled(["job-1"]) == {"job-1"}
    assert await second.claim() is None
    await first.store.release(work, "cancelled while contacts 0 to 9 were being sent")
    assert await second.store.leases("job-1") == 0

    again = await second.store.cancel("job-1", NOW + 2)
    assert again is not None and again.finished_at == NOW + 1  # unchanged


async def test_an_input_is_read_in_batches_and_resumed_where_it_stopped(
    tmp_path: Path, workers: list[Worker]
) -> None:
    first, second = workers
    source = tmp_path / "in.input"
    source.touch()  # a reader takes only a file it can see
    await first.store.create(new_job(size=10, source=str(source)))
    reading = await first.claim()
    assert isinstance(reading, ReadInput) and (reading.offset, reading.rows) == (0, 0)
    assert await first.store.add_rows(reading, RowBatch.of(rows(12)), 120, False, NOW)
    chunk = await second.claim()  # a full chunk was read: it may go
    assert isinstance(chunk, ChunkWork) and chunk.chunk == 0
    assert await second.claim() is None  # the next one is not read yet

    await first.die()  # the reader dies
    resumed = await second.claim()
    assert isinstance(resumed, ReadInput) and (resumed.offset, resumed.rows) == (120, 12)
    more = [InputRow(i, "{}") for i in range(12, 25)]
    assert await second.store.add_rows(resumed, RowBatch.of(more), 250, True, NOW)
    job = await second.store.get("job-1")
    assert job is not None and job.total == 25


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[tuple[Worker, SqliteDatabase]]:
    owner = OwnerLock(tmp_path)
    owner.acquire()
    database = await SqliteDatabase.open(tmp_path)
    try:
        yield Worker(SqliteImportStore(database, owner), owner), database
    finally:
        owner.release()
        await database.aclose()


async def test_only_commits_whose_loss_is_harmless_skip_the_fsync(
    tmp_path: Path, sqlite: tuple[Worker, SqliteDatabase]
) -> None:
    # SQLite's own: claims and an input's rows but its last are committed with synchronous =
    # NORMAL (lost only with the machine, and then done again the same); the job, the last
    # rows (the file is deleted after them) and every checkpoint are FULL; the connection
    # stays FULL.
    worker, database = sqlite
    statements: list[str] = []
    await database.run(lambda connection: connection.set_trace_callback(statements.append))
    await worker.store.create(new_job(size=10, source=str(tmp_path / "in.input")))
    reading = await worker.claim()
    assert isinstance(reading, ReadInput)
    assert await worker.store.add_rows(reading, RowBatch.of(rows(10)), 100, False, NOW)
    chunk = await worker.claim()
    assert isinstance(chunk, ChunkWork)
    more = [InputRow(i, "{}") for i in range(10, 15)]
    assert await worker.store.add_rows(reading, RowBatch.of(more), 150, True, NOW)
    assert await worker.store.checkpoint(chunk, outcome(chunk), NOW)
    await database.run(lambda connection: connection.set_trace_callback(None))

    level, commits = "FULL", []
    for statement in statements:
        if statement.startswith("PRAGMA synchronous = "):
            value = statement.rsplit(" ", 1)[1]
            level = {"1": "NORMAL", "2": "FULL"}.get(value, value)
        elif statement in ("COMMIT", "BEGIN IMMEDIATE"):
            commits.append((statement, level))
    assert [level for statement, level in commits if statement == "COMMIT"] == [
        "FULL",  # the job
        "NORMAL",  # claiming its input
        "NORMAL",  # rows 0-9
        "NORMAL",  # claiming chunk 0
        "FULL",  # rows 10-14, the last
        "FULL",  # chunk 0's checkpoint
    ]
    (synchronous,) = await database.run(
        lambda connection: connection.execute("PRAGMA synchronous").fetchone()
    )
    assert synchronous == 2  # FULL, for the idempotency keys and the rest


async def test_a_failed_job_says_why_and_purge_deletes_finished_jobs(
    workers: list[Worker],
) -> None:
    first, _ = workers
    await first.store.create(new_job("old"), rows(3))
    await first.store.create(new_job("new"), rows(3))
    failed = await first.store.fail("old", "the import stopped: UNAUTHORIZED: bad key", NOW)
    assert failed is not None and failed.status is ImportStatus.FAILED
    assert failed.reason == "the import stopped: UNAUTHORIZED: bad key"
    assert failed.warnings == (failed.reason,)

    assert await first.store.purge(NOW + 1) == ["old"]
    assert await first.store.get("old") is None
    assert await first.store.get("new") is not None
    assert [job.id for job in await first.store.recent(None, 10)] == ["new"]


async def test_warnings_count_their_rows_and_name_the_first(workers: list[Worker]) -> None:
    first, _ = workers
    await first.store.create(new_job(size=30, in_flight=1), rows(30))
    work = await first.claim()
    assert isinstance(work, ChunkWork)
    note = "email was not sent: Trackly contacts have no email"
    counted = ChunkOutcome(30, [], 0, {note: list(range(25)), "once": [7]})
    assert await first.store.checkpoint(work, counted, NOW)
    job = await first.store.get("job-1")
    assert job is not None
    listed = ", ".join(str(i) for i in range(20))
    assert job.warnings == (f"{note} (contacts {listed} and 5 more)", "once (contacts[7])")


async def test_failed_rows_keep_every_member_of_the_error(workers: list[Worker]) -> None:
    first, _ = workers
    await first.store.create(new_job(size=5), rows(1))
    work = await first.claim()
    assert isinstance(work, ChunkWork)
    failure = Failure(
        ErrorCode.RATE_LIMITED,
        "slow down",
        provider=ProviderName.HEYMARKET,
        provider_code="rate_limited",
        field="phone",
        retryable=True,
        retry_after=2.5,
        origin=Origin.PROVIDER,
    )
    row = FailedRow(0, "+14155552000", "a@example.com", failure)
    assert await first.store.checkpoint(work, ChunkOutcome(1, [row], 0), NOW)
    assert await first.store.errors("job-1", 1, 0) == [row]
