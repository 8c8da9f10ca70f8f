"""The embedded store: one SQLite file under `gateway.data_dir`, shared by every process of a host.

`SqliteDatabase` is the file: opened at start-up, brought to the current schema by numbered
migrations (`PRAGMA user_version` says which ran), in WAL mode so readers never wait for the
writer and several `--workers` processes can share it. A feature adds its tables by appending a
migration to MIGRATIONS and runs its statements through `SqliteDatabase.run`.

Why a thread and the standard library's sqlite3, not an async driver: every statement here is
a single-row read or write of well under a millisecond, and a sqlite3 connection must stay on
one thread. One worker thread per process owns the connection and runs the operations in turn
(SQLite has a single writer anyway), so the event loop never blocks on the file. An async
driver (aiosqlite) is this same design, a thread and a queue, as a dependency.

Durability: `synchronous = FULL`, so an answer the store says it kept survives the process being
killed and the machine losing power; it costs an fsync per kept key (two per keyed mutation),
which the server-to-server calls that send keys can afford.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from gateway.store.base import (
    Claim,
    Claimed,
    InFlight,
    Mismatch,
    Replay,
    StoredAnswer,
    StoreUnavailable,
)

__all__ = ["DATABASE_FILE", "MIGRATIONS", "SqliteDatabase", "SqliteIdempotencyStore"]

T = TypeVar("T")
DATABASE_FILE = "gateway.sqlite3"
BUSY_TIMEOUT_MS = 5_000  # another process holding the write lock: wait this long, then fail
# Past this an operation counts as failed (a stuck disk, say): the request gets a 503 rather
# than wait with it.
OPERATION_TIMEOUT = BUSY_TIMEOUT_MS / 1000 + 5
Clock = Callable[[], float]

# Migration n (1-based) takes the schema from version n - 1 to n. Append, never edit one that
# shipped: databases in the field have run it.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # An idempotency key while its request runs ('running', expires_at = the lease's end)
        # and once its answer is kept ('done', expires_at = the TTL's end).
        """CREATE TABLE idempotency_keys (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('running', 'done')),
            token TEXT NOT NULL,
            expires_at REAL NOT NULL,
            status INTEGER,
            headers TEXT,
            body BLOB
        ) WITHOUT ROWID""",
        "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)",
    ),
    (
        # Contact import jobs (gateway/store/sqlite_imports.py): the job and its counts; the
        # input file still to read (`source`, read up to `read_offset` by `read_owner`).
        """CREATE TABLE import_jobs (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
            row_format TEXT NOT NULL CHECK (row_format IN ('CSV', 'NDJSON')),
            header TEXT,
            chunk_size INTEGER NOT NULL,
            max_in_flight INTEGER NOT NULL,
            source TEXT,
            read_owner TEXT,
            read_offset INTEGER NOT NULL DEFAULT 0,
            rows_read INTEGER NOT NULL DEFAULT 0,
            total INTEGER,
            next_chunk INTEGER NOT NULL DEFAULT 0,
            not_before REAL NOT NULL DEFAULT 0,
            processed INTEGER NOT NULL DEFAULT 0,
            succeeded INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            created INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            run_started_at REAL,
            run_processed INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 0,
            reason TEXT
        )""",
        "CREATE INDEX import_jobs_status ON import_jobs (status, created_at)",
        "CREATE INDEX import_jobs_finished ON import_jobs (finished_at)",
        # The input, one row per contact: a CSV record's fields (JSON) or a JSON object.
        """CREATE TABLE import_rows (
            job_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            raw TEXT NOT NULL,
            problem TEXT,
            PRIMARY KEY (job_id, idx)
        ) WITHOUT ROWID""",
        # Chunks taken and not yet checkpointed: leased to `owner` ('' = free to take again).
        """CREATE TABLE import_chunks (
            job_id TEXT NOT NULL,
            chunk INTEGER NOT NULL,
            owner TEXT NOT NULL,
            PRIMARY KEY (job_id, chunk)
        ) WITHOUT ROWID""",
        """CREATE TABLE import_failures (
            job_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            phone TEXT,
            email TEXT,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            provider TEXT,
            provider_code TEXT,
            field TEXT,
            retryable INTEGER,
            retry_after REAL,
            origin TEXT NOT NULL,
            PRIMARY KEY (job_id, idx)
        ) WITHOUT ROWID""",
        # A job's warnings: each note once, with how many rows it concerns and the first few.
        """CREATE TABLE import_warnings (
            job_id TEXT NOT NULL,
            note TEXT NOT NULL,
            seq INTEGER NOT NULL,
            count INTEGER NOT NULL,
            indexes TEXT,
            PRIMARY KEY (job_id, note)
        ) WITHOUT ROWID""",
    ),
)


class SqliteDatabase:
    def __init__(self, path: Path, connection: sqlite3.Connection, executor: ThreadPoolExecutor):
        self.path = path
        self._connection = connection
        self._executor = executor

    @classmethod
    async def open(
        cls, data_dir: str | os.PathLike[str], migrations: Sequence[Sequence[str]] = MIGRATIONS
    ) -> SqliteDatabase:
        """Create `data_dir` when needed, open the file and migrate it; StoreUnavailable with
        the reason when it cannot be used (the gateway then refuses to start)."""
        path = Path(data_dir) / DATABASE_FILE
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-sqlite")
        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(executor, _connect, path, migrations)
        except (OSError, sqlite3.Error) as exc:
            executor.shutdown(wait=False)
            raise StoreUnavailable(f"cannot use {path}: {exc}") from exc
        return cls(path, connection, executor)

    async def run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """`operation(connection)` on the database's thread; StoreUnavailable when SQLite fails
        (locked past the busy timeout, disk full, file gone read-only)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(OPERATION_TIMEOUT):
                return await loop.run_in_executor(self._executor, operation, self._connection)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from exc
        except TimeoutError:
            raise StoreUnavailable(f"SQLite did not answer in {OPERATION_TIMEOUT:g}s") from None

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=True)


def _connect(path: Path, migrations: Sequence[Sequence[str]]) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; each write says BEGIN IMMEDIATE itself.
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _migrate(connection, migrations)
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection, migrations: Sequence[Sequence[str]]) -> None:
    """Run the migrations this file has not run, each in its own transaction; processes
    starting together take turns on the write lock and each finds the others' work done."""
    while True:
        connection.execute("BEGIN IMMEDIATE")
        try:
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version > len(migrations):
                raise sqlite3.DatabaseError(
                    f"schema version {version} is newer than this gateway knows "
                    f"({len(migrations)}): a newer gateway wrote it"
                )
            if version == len(migrations):
                connection.execute("COMMIT")
                return
            for statement in migrations[version]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version + 1}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


class SqliteIdempotencyStore:
    """Idempotency keys in the embedded database; see gateway/store/base.py for the contract."""

    PURGE_EVERY = 60.0  # seconds between sweeps of expired keys

    def __init__(self, database: SqliteDatabase, clock: Clock = time.time) -> None:
        # Wall-clock time: every process on the host compares leases and TTLs on it.
        self.database = database
        self._clock = clock
        self._purged_at = 0.0

    async def claim(self, key: str, fingerprint: str, lease_seconds: float) -> Claim:
        token = secrets.token_hex(16)
        now = self._clock()
        purge = now - self._purged_at >= self.PURGE_EVERY

        def claim(connection: sqlite3.Connection) -> Claim:
            connection.execute("BEGIN IMMEDIATE")  # the write lock: one claimer at a time
            try:
                if purge:
                    connection.execute("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,))
                row = connection.execute(
                    "SELECT fingerprint, state, expires_at, status, headers, body "
                    "FROM idempotency_keys WHERE key = ?",
                    (key,),
                ).fetchone()
                if row is None or row[2] <= now:  # free, or its lease or TTL ran out
                    connection.execute(
                        "INSERT OR REPLACE INTO idempotency_keys "
                        "(key, fingerprint, state, token, expires_at) "
                        "VALUES (?, ?, 'running', ?, ?)",
                        (key, fingerprint, token, now + lease_seconds),
                    )
                    found: Claim = Claimed(token)
                else:
                    found = _existing(row, fingerprint, now)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return found

        found = await self.database.run(claim)
        if purge:
            self._purged_at = now
        return found

    async def renew(self, key: str, token: str, lease_seconds: float) -> bool:
        until = self._clock() + lease_seconds
        return await self._update(
            "UPDATE idempotency_keys SET expires_at = ? "
            "WHERE key = ? AND token = ? AND state = 'running'",
            (until, key, token),
        )

    async def complete(
        self, key: str, token: str, answer: StoredAnswer, ttl_seconds: float
    ) -> bool:
        headers = json.dumps(answer.headers)
        return await self._update(
            "UPDATE idempotency_keys SET state = 'done', expires_at = ?, status = ?, "
            "headers = ?, body = ? WHERE key = ? AND token = ? AND state = 'running'",
            (self._clock() + ttl_seconds, answer.status, headers, answer.body, key, token),
        )

    async def release(self, key: str, token: str) -> None:
        await self._update(
            "DELETE FROM idempotency_keys WHERE key = ? AND token = ? AND state = 'running'",
            (key, token),
        )

    async def aclose(self) -> None:
        return None  # the database belongs to the runtime, which closes it

    async def _update(self, statement: str, parameters: tuple[object, ...]) -> bool:
        def update(connection: sqlite3.Connection) -> bool:
            return connection.execute(statement, parameters).rowcount == 1

        return await self.database.run(update)


def _existing(row: tuple[object, ...], fingerprint: str, now: float) -> Claim:
    stored_fingerprint, state, expires_at, status, headers, body = row
    if stored_fingerprint != fingerprint:
        return Mismatch()
    if state == "running":
        assert isinstance(expires_at, float | int)
        return InFlight(max(0.0, float(expires_at) - now))
    assert isinstance(status, int) and isinstance(headers, str) and isinstance(body, bytes)
    pairs = json.loads(headers)
    return Replay(StoredAnswer(status, tuple((str(n), str(v)) for n, v in pairs), body))
