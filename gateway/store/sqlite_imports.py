"""Import jobs in the embedded database (gateway/store/imports.py has the contract).

Every worker process of the host shares the file. A claim runs in one `BEGIN IMMEDIATE`
transaction (SQLite's single writer lock), so two processes never take the same work; a lease
is the owner's token on the chunk's row, and it is taken over only once `OwnerLock` says the
owner process has ended (gateway/store/owners.py). A checkpoint adds the chunk's counts, failed
rows and warnings and deletes its row in one transaction, only while the row is still the
worker's: a chunk is counted once, or not at all.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gateway.store.imports import (
    ChunkOutcome,
    ChunkWork,
    FailedRow,
    ImportStatus,
    InputRow,
    JobRecord,
    NewJob,
    ReadInput,
    RowBatch,
    RowFormat,
    Work,
    failed_row,
    failure_fields,
    warning_text,
)
from gateway.store.owners import OwnerLock
from gateway.store.sqlite import SqliteDatabase
from providers.model import ProviderName

__all__ = ["SqliteImportStore"]

T = TypeVar("T")
FREE = ""  # the owner of a chunk given back, to be taken again
LISTED = 20  # row indexes a warning keeps (it counts the rest)
_ACTIVE = "status IN ('QUEUED', 'RUNNING')"
_JOB_COLUMNS = (
    "id, provider, status, row_format, header, chunk_size, total, processed, succeeded, "
    "failed, created, created_at, started_at, finished_at, run_started_at, run_processed, "
    "version, reason"
)


class SqliteImportStore:
    def __init__(self, database: SqliteDatabase, owners: OwnerLock) -> None:
        self.database = database
        self.owners = owners

    # -- jobs ----------------------------------------------------------------------------------

    async def create(self, job: NewJob, rows: Sequence[InputRow] = ()) -> JobRecord:
        header = json.dumps(list(job.header)) if job.header is not None else None
        total = None if job.source is not None else len(rows)

        def create(connection: sqlite3.Connection) -> JobRecord:
            with _transaction(connection):
                connection.execute(
                    "INSERT INTO import_jobs (id, provider, status, row_format, header, "
                    "chunk_size, max_in_flight, source, rows_read, total, created_at) "
                    "VALUES (?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        job.id,
                        job.provider.value,
                        job.row_format.value,
                        header,
                        job.chunk_size,
                        job.max_in_flight,
                        job.source,
                        len(rows),
                        total,
                        job.created_at,
                    ),
                )
                _insert_rows(connection, job.id, RowBatch.of(rows))
                found = _job(connection, job.id)
            assert found is not None
            return found

        return await self.database.run(create)

    async def get(self, job_id: str) -> JobRecord | None:
        return await self._read(lambda connection: _job(connection, job_id))

    async def recent(self, status: ImportStatus | None, first: int) -> list[JobRecord]:
        def listing(connection: sqlite3.Connection) -> list[JobRecord]:
            where, parameters = ("WHERE status = ?", [status.value]) if status else ("", [])
            rows = connection.execute(
                f"SELECT {_JOB_COLUMNS} FROM import_jobs {where} "
                "ORDER BY created_at DESC, id LIMIT ?",
                (*parameters, max(0, first)),
            ).fetchall()
            return [_record(connection, row) for row in rows]

        return await self._read(listing)

    async def errors(self, job_id: str, first: int, after: int) -> list[FailedRow]:
        def errors(connection: sqlite3.Connection) -> list[FailedRow]:
            rows = connection.execute(
                "SELECT idx, phone, email, code, message, provider, provider_code, field, "
                "retryable, retry_after, origin FROM import_failures WHERE job_id = ? "
                "ORDER BY idx LIMIT ? OFFSET ?",
                (job_id, max(0, first), max(0, after)),
            ).fetchall()
            return [_failed_row(row) for row in rows]

        return await self._read(errors)

    # -- work ----------------------------------------------------------------------------------

    async def claim(self, owner: str, now: float) -> Work | None:
        def claim(connection: sqlite3.Connection) -> Work | None:
            # A lease is worth nothing once its process is gone: relaxed (see _relaxed).
            with _relaxed(connection), _transaction(connection):
                return self._read_input(connection, owner, now) or self._chunk(
                    connection, owner, now
                )

        return await self.database.run(claim)

    def _read_input(self, connection: sqlite3.Connection, owner: str, now: float) -> Work | None:
        rows = connection.execute(
            "SELECT id, source, read_offset, rows_read, read_owner FROM import_jobs "
            f"WHERE source IS NOT NULL AND {_ACTIVE} ORDER BY created_at"
        ).fetchall()
        for job_id, source, offset, count, reader in rows:
            if reader is not None and (reader == owner or self.owners.alive(reader)):
                continue
            connection.execute(
                "UPDATE import_jobs SET read_owner = ? WHERE id = ?", (owner, job_id)
            )
            job = _start(connection, job_id, now, restarted=reader is not None)
            return ReadInput(job, source, offset, count, owner)
        return None

    def _chunk(self, connection: sqlite3.Connection, owner: str, now: float) -> Work | None:
        jobs = connection.execute(
            "SELECT id, chunk_size, max_in_flight, rows_read, total, next_chunk FROM import_jobs "
            f"WHERE {_ACTIVE} AND not_before <= ? ORDER BY created_at",
            (now,),
        ).fetchall()
        for job_id, size, most, read, total, next_chunk in jobs:
            leased = connection.execute(
                "SELECT chunk, owner FROM import_chunks WHERE job_id = ? ORDER BY chunk",
                (job_id,),
            ).fetchall()
            held = 0
            taken: tuple[int, bool] | None = None  # (chunk, whether its owner died)
            for chunk, holder in leased:
                if holder == FREE or (holder != owner and not self.owners.alive(holder)):
                    taken = taken or (chunk, holder != FREE)
                else:
                    held += 1
            if held >= most:
                continue
            if taken is not None:
                chunk, died = taken
                connection.execute(
                    "UPDATE import_chunks SET owner = ? WHERE job_id = ? AND chunk = ?",
                    (owner, job_id, chunk),
                )
            else:
                first = next_chunk * size
                end = total if total is not None else read
                if first >= end or (total is None and read < first + size):
                    continue  # every chunk taken, or the next one not read yet
                chunk, died = next_chunk, False
                connection.execute(
                    "INSERT INTO import_chunks (job_id, chunk, owner) VALUES (?, ?, ?)",
                    (job_id, chunk, owner),
                )
                connection.execute(
                    "UPDATE import_jobs SET next_chunk = next_chunk + 1 WHERE id = ?", (job_id,)
                )
            job = _start(connection, job_id, now, restarted=died)
            rows = connection.execute(
                "SELECT idx, raw, problem FROM import_rows WHERE job_id = ? AND idx >= ? "
                "AND idx < ? ORDER BY idx",
                (job_id, chunk * size, (chunk + 1) * size),
            ).fetchall()
            return ChunkWork(job, chunk, chunk * size, tuple(InputRow(*row) for row in rows), owner)
        return None

    async def renew(self, owner: str, now: float) -> None:
        return None  # a lease here lasts while its owner's flock is held: nothing to renew

    async def add_rows(
        self, work: ReadInput, rows: RowBatch, offset: int, done: bool, now: float
    ) -> bool:
        def add(connection: sqlite3.Connection) -> bool:
            # Rows and the offset reached are one transaction: lost together, they are read
            # again from the file (relaxed, see _relaxed). Not the last: the file is deleted
            # once it is committed, so that one is synced.
            with _relaxed(connection, not done), _transaction(connection):
                mine = connection.execute(
                    f"SELECT 1 FROM import_jobs WHERE id = ? AND read_owner = ? AND {_ACTIVE}",
                    (work.job.id, work.owner),
                ).fetchone()
                if mine is None:
                    return False
                _insert_rows(connection, work.job.id, rows)
                connection.execute(
                    "UPDATE import_jobs SET rows_read = rows_read + ?, read_offset = ?, "
                    "version = version + 1 WHERE id = ?",
                    (len(rows), offset, work.job.id),
                )
                if done:
                    connection.execute(
                        "UPDATE import_jobs SET total = rows_read, source = NULL, "
                        "read_owner = NULL WHERE id = ?",
                        (work.job.id,),
                    )
                    _finish_if_done(connection, work.job.id, now)
                return True

        return await self.database.run(add)

    async def checkpoint(self, work: ChunkWork, outcome: ChunkOutcome, now: float) -> bool:
        job_id = work.job.id

        def checkpoint(connection: sqlite3.Connection) -> bool:
            with _transaction(connection):
                deleted = connection.execute(
                    "DELETE FROM import_chunks WHERE job_id = ? AND chunk = ? AND owner = ?",
                    (job_id, work.chunk, work.owner),
                ).rowcount
                if deleted != 1:
                    return False
                connection.executemany(
                    "INSERT OR REPLACE INTO import_failures (job_id, idx, phone, email, code, "
                    "message, provider, provider_code, field, retryable, retry_after, origin) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(job_id, *_failure_columns(row)) for row in outcome.failed],
                )
                for note, indexes in outcome.notes.items():
                    _note(connection, job_id, note, indexes)
                failed = len(outcome.failed)
                connection.execute(
                    "UPDATE import_jobs SET processed = processed + ?, succeeded = succeeded + ?, "
                    "failed = failed + ?, created = created + ?, version = version + 1 "
                    "WHERE id = ?",
                    (
                        outcome.processed,
                        outcome.processed - failed,
                        failed,
                        outcome.created,
                        job_id,
                    ),
                )
                _finish_if_done(connection, job_id, now)
                return True

        return await self.database.run(checkpoint)

    async def release(self, work: Work, note: str | None = None) -> None:
        job_id = work.job.id

        def release(connection: sqlite3.Connection) -> None:
            with _transaction(connection):
                if isinstance(work, ReadInput):
                    connection.execute(
                        "UPDATE import_jobs SET read_owner = NULL WHERE id = ? AND read_owner = ?",
                        (job_id, work.owner),
                    )
                else:
                    connection.execute(
                        "UPDATE import_chunks SET owner = ? WHERE job_id = ? AND chunk = ? "
                        "AND owner = ?",
                        (FREE, job_id, work.chunk, work.owner),
                    )
                if note:
                    _note(connection, job_id, note, ())
                connection.execute(
                    "UPDATE import_jobs SET version = version + 1 WHERE id = ?", (job_id,)
                )

        await self.database.run(release)

    async def defer(self, work: ChunkWork, until: float, note: str) -> None:
        def defer(connection: sqlite3.Connection) -> None:
            with _transaction(connection):
                connection.execute(
                    "UPDATE import_chunks SET owner = ? WHERE job_id = ? AND chunk = ? "
                    "AND owner = ?",
                    (FREE, work.job.id, work.chunk, work.owner),
                )
                connection.execute(
                    "UPDATE import_jobs SET not_before = MAX(not_before, ?), "
                    "version = version + 1 WHERE id = ?",
                    (until, work.job.id),
                )
                _note(connection, work.job.id, note, ())

        await self.database.run(defer)

    async def fail(self, job_id: str, reason: str, now: float) -> JobRecord | None:
        def fail(connection: sqlite3.Connection) -> JobRecord | None:
            with _transaction(connection):
                changed = connection.execute(
                    "UPDATE import_jobs SET status = 'FAILED', finished_at = ?, reason = ?, "
                    f"source = NULL, read_owner = NULL, version = version + 1 "
                    f"WHERE id = ? AND {_ACTIVE}",
                    (now, reason, job_id),
                ).rowcount
                if changed:
                    _note(connection, job_id, reason, ())
                    connection.execute(
                        "DELETE FROM import_chunks WHERE job_id = ? AND owner = ?", (job_id, FREE)
                    )
                return _job(connection, job_id)

        return await self.database.run(fail)

    async def cancel(self, job_id: str, now: float) -> JobRecord | None:
        def cancel(connection: sqlite3.Connection) -> JobRecord | None:
            with _transaction(connection):
                connection.execute(
                    "UPDATE import_jobs SET status = 'CANCELLED', finished_at = ?, "
                    f"read_owner = NULL, version = version + 1 WHERE id = ? AND {_ACTIVE}",
                    (now, job_id),
                )
                connection.execute(
                    "DELETE FROM import_chunks WHERE job_id = ? AND owner = ?", (job_id, FREE)
                )
                return _job(connection, job_id)

        return await self.database.run(cancel)

    async def leases(self, job_id: str) -> int:
        def leases(connection: sqlite3.Connection) -> int:
            owners = connection.execute(
                "SELECT owner FROM import_chunks WHERE job_id = ? AND owner != ?", (job_id, FREE)
            ).fetchall()
            return sum(1 for (owner,) in owners if self.owners.alive(owner))

        return await self._read(leases)

    async def cancelled(self, job_ids: Sequence[str]) -> set[str]:
        if not job_ids:
            return set()
        marks = ", ".join("?" for _ in job_ids)

        def cancelled(connection: sqlite3.Connection) -> set[str]:
            rows = connection.execute(
                f"SELECT id FROM import_jobs WHERE id IN ({marks}) AND NOT {_ACTIVE}",
                tuple(job_ids),
            ).fetchall()
            return {job_id for (job_id,) in rows}

        return await self._read(cancelled)

    async def purge(self, finished_before: float) -> list[str]:
        def purge(connection: sqlite3.Connection) -> list[str]:
            with _transaction(connection):
                ids = [
                    job_id
                    for (job_id,) in connection.execute(
                        "SELECT id FROM import_jobs WHERE finished_at IS NOT NULL "
                        "AND finished_at < ?",
                        (finished_before,),
                    ).fetchall()
                ]
                for table in ("import_rows", "import_chunks", "import_failures", "import_warnings"):
                    connection.executemany(
                        f"DELETE FROM {table} WHERE job_id = ?", [(i,) for i in ids]
                    )
                connection.executemany("DELETE FROM import_jobs WHERE id = ?", [(i,) for i in ids])
                return ids

        return await self.database.run(purge)

    async def aclose(self) -> None:
        return None  # the database belongs to the runtime, which closes it

    async def _read(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await self.database.run(operation)


# -- statements ----------------------------------------------------------------------------------


class _transaction:
    """BEGIN IMMEDIATE (the write lock) ... COMMIT, or ROLLBACK on any error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")


class _relaxed:
    """`PRAGMA synchronous = NORMAL` for one transaction whose loss is harmless, then the
    connection's own level (FULL) again.

    In WAL mode a NORMAL commit is not fsynced: it survives the process being killed (SIGKILL:
    the log is in the kernel's cache), and only a power loss or an OS crash can take it, with
    every later unsynced commit, never an earlier one (the log is replayed up to its first
    incomplete frame). The next FULL commit syncs the log with it, in order. So a relaxed
    transaction must only hold what is done again, the same, if it is lost: a claim (a lease
    whose process died with the machine: the work is claimed again) and rows read from the
    input (read again from the offset kept with the last rows that survived). Checkpoints, a
    job's creation and the last rows of an input (the file goes after them) stay FULL. Each
    fsync costs about a millisecond, three a chunk (`make bench` 7 (a)).
    """

    def __init__(self, connection: sqlite3.Connection, relax: bool = True) -> None:
        self.connection = connection
        self.relax = relax
        self.before = 0

    def __enter__(self) -> None:
        if self.relax:
            (self.before,) = self.connection.execute("PRAGMA synchronous").fetchone()
            self.connection.execute("PRAGMA synchronous = NORMAL")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.relax:
            self.connection.execute(f"PRAGMA synchronous = {int(self.before)}")


def _insert_rows(connection: sqlite3.Connection, job_id: str, rows: RowBatch) -> None:
    # Straight from the batch's columns: no tuple a row is built in Python.
    connection.executemany(
        "INSERT OR REPLACE INTO import_rows (job_id, idx, raw, problem) VALUES (?, ?, ?, ?)",
        zip(itertools.repeat(job_id), itertools.count(rows.first), rows.raws, rows.problems),
    )


def _start(
    connection: sqlite3.Connection, job_id: str, now: float, *, restarted: bool
) -> JobRecord:
    """The job as work on it starts: RUNNING; the rate's base is set when it starts, and again
    when work is taken over from a process that died (the time it lay dead is not the job's)."""
    connection.execute(
        "UPDATE import_jobs SET status = 'RUNNING', started_at = COALESCE(started_at, ?), "
        "run_started_at = CASE WHEN status = 'QUEUED' OR ? THEN ? ELSE run_started_at END, "
        "run_processed = CASE WHEN status = 'QUEUED' OR ? THEN processed ELSE run_processed END, "
        "version = version + 1 WHERE id = ?",
        (now, restarted, now, restarted, job_id),
    )
    job = _job(connection, job_id)
    assert job is not None
    return job


def _finish_if_done(connection: sqlite3.Connection, job_id: str, now: float) -> None:
    """SUCCEEDED once the input is read and every chunk is checkpointed."""
    connection.execute(
        "UPDATE import_jobs SET status = 'SUCCEEDED', finished_at = ?, version = version + 1 "
        "WHERE id = ? AND status = 'RUNNING' AND total IS NOT NULL "
        "AND next_chunk * chunk_size >= total "
        "AND NOT EXISTS (SELECT 1 FROM import_chunks WHERE job_id = ?)",
        (now, job_id, job_id),
    )


def _note(connection: sqlite3.Connection, job_id: str, note: str, indexes: Sequence[int]) -> None:
    found = connection.execute(
        "SELECT count, indexes FROM import_warnings WHERE job_id = ? AND note = ?",
        (job_id, note),
    ).fetchone()
    if found is None:
        (seq,) = connection.execute(
            "SELECT COUNT(*) FROM import_warnings WHERE job_id = ?", (job_id,)
        ).fetchone()
        connection.execute(
            "INSERT INTO import_warnings (job_id, note, seq, count, indexes) "
            "VALUES (?, ?, ?, ?, ?)",
            (job_id, note, seq, len(indexes), json.dumps(sorted(indexes)[:LISTED])),
        )
        return
    count, listed = found
    kept = sorted({*json.loads(listed or "[]"), *indexes})[:LISTED]
    connection.execute(
        "UPDATE import_warnings SET count = ?, indexes = ? WHERE job_id = ? AND note = ?",
        (count + len(indexes), json.dumps(kept), job_id, note),
    )


# -- rows to records -----------------------------------------------------------------------------


def _job(connection: sqlite3.Connection, job_id: str) -> JobRecord | None:
    row = connection.execute(
        f"SELECT {_JOB_COLUMNS} FROM import_jobs WHERE id = ?", (job_id,)
    ).fetchone()
    return None if row is None else _record(connection, row)


def _record(connection: sqlite3.Connection, row: tuple[Any, ...]) -> JobRecord:
    (
        job_id, provider, status, row_format, header, chunk_size, total, processed, succeeded,
        failed, created, created_at, started_at, finished_at, run_started_at, run_processed,
        version, reason,
    ) = row  # fmt: skip
    notes = connection.execute(
        "SELECT note, count, indexes FROM import_warnings WHERE job_id = ? ORDER BY seq",
        (job_id,),
    ).fetchall()
    return JobRecord(
        id=job_id,
        provider=ProviderName(provider),
        status=ImportStatus(status),
        row_format=RowFormat(row_format),
        header=tuple(json.loads(header)) if header is not None else None,
        chunk_size=chunk_size,
        total=total,
        processed=processed,
        succeeded=succeeded,
        failed=failed,
        created=created,
        created_at=created_at,
        started_at=started_at,
        finished_at=finished_at,
        run_started_at=run_started_at,
        run_processed=run_processed,
        version=version,
        warnings=tuple(_warning(note, count, indexes) for note, count, indexes in notes),
        reason=reason,
    )


def _warning(note: str, count: int, indexes: str | None) -> str:
    listed: list[int] = json.loads(indexes or "[]")
    return warning_text(note, count, listed)


def _failure_columns(row: FailedRow) -> tuple[object, ...]:
    # The columns of import_failures, in failure_fields' order; SQLite keeps booleans as 0/1.
    fields = failure_fields(row)
    retryable = fields["retryable"]
    fields["retryable"] = None if retryable is None else int(retryable)
    return tuple(fields.values())


def _failed_row(row: tuple[Any, ...]) -> FailedRow:
    return failed_row(dict(zip(_FAILURE_COLUMNS, row, strict=True)))


_FAILURE_COLUMNS = (
    "index",
    "phone",
    "email",
    "code",
    "message",
    "provider",
    "provider_code",
    "field",
    "retryable",
    "retry_after",
    "origin",
)
