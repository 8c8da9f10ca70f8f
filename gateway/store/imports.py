"""The import store's contract, whatever holds the jobs (SQLite on one host, sqlite_imports.py;
Redis with a saq queue for a fleet, redis_imports.py): jobs, their input rows, the chunks in
flight, the failed items.

A job's input is a sequence of rows, each at its 0-based index. Its work is cut in chunks of
`chunk_size` consecutive rows; chunk `n` covers rows [n * chunk_size, (n + 1) * chunk_size).
A worker (one per gateway process, named by an owner token) claims work: reading a job's input
file into rows, or sending one chunk. A claim is a lease: no other worker is given the same
work while its owner lives. A worker that dies loses its leases (how a store tells is its own:
the SQLite store asks the operating system whether the owner process still runs; the Redis
store lets a heartbeat the worker renews run out), and the next claim takes the work over from
its last checkpoint. A chunk's outcome is checkpointed atomically with the end of its lease:
counted once, or not at all.

    JobRecord     a job as stored (counts, timestamps, status)
    ReadInput     work: read the job's input file from `offset` on
    ChunkWork     work: send rows [first, first + count) of the job
    ChunkOutcome  what sending a chunk gave: counts, failed rows, warnings
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from providers.errors import ErrorCode, Failure, Origin
from providers.model import ProviderName

__all__ = [
    "MAX_IMPORT_ROWS",
    "ChunkOutcome",
    "ChunkWork",
    "FailedRow",
    "ImportStatus",
    "ImportStore",
    "InputRow",
    "JobRecord",
    "NewJob",
    "ReadInput",
    "RowFormat",
    "Work",
    "failed_row",
    "failure_fields",
    "warning_text",
]

MAX_IMPORT_ROWS = 1_000_000  # the largest input one import takes


class ImportStatus(enum.Enum):
    QUEUED = "QUEUED"  # waiting for a worker (or for its input to be read)
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"  # every row processed (some may have failed: see `failed`)
    FAILED = "FAILED"  # stopped before the end: `reason` says why
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset({ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.CANCELLED})


class RowFormat(enum.Enum):
    """How a stored row is written: a CSV record (a JSON array of its fields, the job keeps the
    header) or one ContactInput object as JSON (an NDJSON line, or an inline contact)."""

    CSV = "CSV"
    NDJSON = "NDJSON"


@dataclass(frozen=True, slots=True)
class NewJob:
    id: str
    provider: ProviderName
    row_format: RowFormat
    chunk_size: int
    max_in_flight: int  # chunks of this job leased at once (judged, sent, checkpointed), fleet-wide
    header: tuple[str, ...] | None = None  # CSV: the header row's names
    source: str | None = None  # the input file still to read; None: rows are added at once
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    provider: ProviderName
    status: ImportStatus
    row_format: RowFormat
    header: tuple[str, ...] | None
    chunk_size: int
    total: int | None  # None until the input is read
    processed: int
    succeeded: int
    failed: int
    created: int  # contacts the provider created
    created_at: float
    started_at: float | None
    finished_at: float | None
    # The rate's base: the job (re)started running at `run_started_at` with `run_processed`
    # rows processed; a restart after a crash begins a new base.
    run_started_at: float | None
    run_processed: int
    version: int  # grows with every change: watchers compare it
    warnings: tuple[str, ...] = ()
    reason: str | None = None  # why a FAILED job stopped


class InputRow(NamedTuple):
    """A tuple: one is made per row read and again per row sent (`make bench` 7 (a))."""

    # The row's place in the input; it shadows tuple.index, which nothing calls on a row.
    index: int  # type: ignore[assignment]
    raw: str  # the record: a JSON array of CSV fields, or a JSON object's text
    problem: str | None = None  # what made the record unreadable (bad UTF-8, a CSV error)


@dataclass(frozen=True, slots=True)
class RowBatch:
    """Rows read from an input, consecutive from `first`, held as two columns rather than a
    tuple a row: a store writes a batch of READ_BATCH rows at once, straight from the columns
    (`make bench` 7 (a))."""

    first: int
    raws: list[str]
    problems: list[str | None]

    @classmethod
    def of(cls, rows: Sequence[InputRow], first: int = 0) -> RowBatch:
        """The batch of consecutive `rows` (`first`: where an empty batch would start)."""
        start = rows[0].index if rows else first
        return cls(start, [row.raw for row in rows], [row.problem for row in rows])

    def __post_init__(self) -> None:
        if len(self.raws) != len(self.problems):
            raise ValueError(f"{len(self.raws)} rows but {len(self.problems)} problems")

    def __len__(self) -> int:
        return len(self.raws)

    def rows(self) -> list[InputRow]:
        return [
            InputRow(self.first + n, raw, problem)
            for n, (raw, problem) in enumerate(zip(self.raws, self.problems, strict=True))
        ]


@dataclass(frozen=True, slots=True)
class ReadInput:
    job: JobRecord
    source: str
    offset: int  # bytes of the file already read into rows
    rows: int  # rows already stored
    owner: str


@dataclass(frozen=True, slots=True)
class ChunkWork:
    job: JobRecord
    chunk: int
    first: int  # the chunk's first row index
    rows: tuple[InputRow, ...]
    owner: str


Work = ReadInput | ChunkWork


@dataclass(frozen=True, slots=True)
class FailedRow:
    index: int
    phone: str | None
    email: str | None
    failure: Failure


def failure_fields(row: FailedRow) -> dict[str, Any]:
    """A failed row as plain values, as each store keeps it (in this order: SQLite's columns)."""
    failure = row.failure
    return {
        "index": row.index,
        "phone": row.phone,
        "email": row.email,
        "code": failure.code.value,
        "message": failure.message,
        "provider": failure.provider.value if failure.provider else None,
        "provider_code": failure.provider_code,
        "field": failure.field,
        "retryable": failure.retryable,
        "retry_after": failure.retry_after,
        "origin": failure.origin.value,
    }


def failed_row(fields: Mapping[str, Any]) -> FailedRow:
    """The failed row `failure_fields` gave."""
    retryable = fields["retryable"]
    failure = Failure(
        code=ErrorCode(fields["code"]),
        message=fields["message"],
        provider=ProviderName(fields["provider"]) if fields["provider"] else None,
        provider_code=fields["provider_code"],
        field=fields["field"],
        retryable=None if retryable is None else bool(retryable),
        retry_after=fields["retry_after"],
        origin=Origin(fields["origin"]),
    )
    return FailedRow(fields["index"], fields["phone"], fields["email"], failure)


def warning_text(note: str, count: int, listed: Sequence[int]) -> str:
    """A job's warning: the note, and the rows it concerns (the first few, and how many more)."""
    if not count:
        return note
    if count == 1:
        return f"{note} (contacts[{listed[0]}])"
    shown = ", ".join(str(i) for i in listed)
    more = f" and {count - len(listed)} more" if count > len(listed) else ""
    return f"{note} (contacts {shown}{more})"


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    processed: int  # rows of the chunk with an outcome: all of them
    failed: Sequence[FailedRow]
    created: int
    # note -> the row indexes it concerns (fields the provider does not store, ...)
    notes: Mapping[str, Sequence[int]] = field(default_factory=dict)


class ImportStore(Protocol):
    async def create(self, job: NewJob, rows: Sequence[InputRow] = ()) -> JobRecord:
        """Store a new job (QUEUED); `rows` are its whole input when it has no source file."""
        ...

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def recent(self, status: ImportStatus | None, first: int) -> list[JobRecord]:
        """The newest jobs first."""
        ...

    async def errors(self, job_id: str, first: int, after: int) -> list[FailedRow]:
        """The job's failed rows in input order, skipping the first `after`."""
        ...

    async def claim(self, owner: str, now: float) -> Work | None:
        """The next work for worker `owner`, leased to it; None when there is none."""
        ...

    async def renew(self, owner: str, now: float) -> None:
        """Keep worker `owner`'s leases alive; its runner calls it every `RENEW_EVERY` seconds
        while the process runs (a store whose leases end with the process needs nothing)."""
        ...

    async def add_rows(
        self, work: ReadInput, rows: RowBatch, offset: int, done: bool, now: float
    ) -> bool:
        """Store rows read from the input (and where reading stopped) atomically; `done`: the
        input is read and the job's total is known. False when the lease is no longer ours."""
        ...

    async def checkpoint(self, work: ChunkWork, outcome: ChunkOutcome, now: float) -> bool:
        """Count the chunk's outcome and end its lease, atomically; finishes the job after its
        last chunk. False (nothing counted) when the lease is no longer ours."""
        ...

    async def release(self, work: Work, note: str | None = None) -> None:
        """End a lease without counting anything (the chunk was cancelled or will be sent
        again); `note` is added to the job's warnings."""
        ...

    async def defer(self, work: ChunkWork, until: float, note: str) -> None:
        """Give the chunk back to be sent again no sooner than `until` (the provider's budget
        or circuit said: not now)."""
        ...

    async def fail(self, job_id: str, reason: str, now: float) -> JobRecord | None:
        """End the job FAILED (a refusal for the account, an input that cannot be read)."""
        ...

    async def cancel(self, job_id: str, now: float) -> JobRecord | None:
        """Mark the job CANCELLED (unless it finished already): its chunks are claimed no
        more; None for an unknown job."""
        ...

    async def leases(self, job_id: str) -> int:
        """Chunks of the job still leased to a live worker."""
        ...

    async def cancelled(self, job_ids: Sequence[str]) -> set[str]:
        """Which of these jobs are no longer to be worked on (cancelled or finished)."""
        ...

    async def purge(self, finished_before: float) -> list[str]:
        """Delete jobs finished before the time, with their rows and failures; their ids."""
        ...

    async def aclose(self) -> None: ...
