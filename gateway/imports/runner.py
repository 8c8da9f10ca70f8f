"""The import worker each gateway process runs for the lifetime of its app.

It claims work from the store (reading a job's input file into rows, or sending one chunk),
holds at most `slots + AHEAD` chunks at once besides the inputs being read, and does it:
- reading: the file's records from where reading stopped, stored a batch at a time together
  with the offset reached, so a restart goes on from there;
- a chunk: its rows judged as bulk contacts are (rows.py), then sent through the same path as
  bulkUpsertContacts (ContactService.bulk_upsert -> the adapter's bulk: pacing, retries,
  Heymarket's batches and the error model are the bulk's), then its outcome checkpointed
  atomically with the end of its lease. A crash before the checkpoint leaves the lease to a
  dead process: the chunk is sent again, whole, by the next worker (Trackly and CampaignLark
  upserts are idempotent; Heymarket looks each phone up before it creates it).

How many go at once. For a provider with no budget (Trackly: plan.py `pipelined`), the
requests of every chunk sent from here share one gate per provider (providers/bulk.py
`shared_gate`): `slots` (the gateway's `bulk_concurrency`) on the wire at once, and the AHEAD
chunks held beyond them are claimed, judged and encoded meanwhile, so the next request is
ready the moment a slot frees (`make bench` 7 (a)). For a provider with a budget, at most
`slots` chunks are sent at once, each with its bulk's own concurrency, as a bulkUpsertContacts
is; a chunk claimed beyond them is judged and waits for one to end.

Cancelling: a cancelled job's chunks in flight here are cancelled at once (asyncio), so no
provider call of theirs starts after it; the contacts they carried are not counted (some may
have been written: a warning says which). Jobs cancelled by another process are seen within
`CANCEL_POLL` seconds. A chunk whose every contact was turned away before it reached the
provider (the budget spent, the circuit open) is not counted either: it is given back and sent
again after the wait the provider asked for.

Finished jobs are deleted `retention_seconds` after they end.

Interactive traffic first: `_send`'s call to the service (the one place an import spends
provider budget) runs as background priority (providers/resilience/priority.py), so the
account's pacer lets interactive calls go first and gives the import at most
`gateway.import_budget_share` of the budget while they wait.

The store is SQLite (one host) or, with gateway.redis_url, Redis with a saq queue (a fleet:
gateway/store/redis_imports.py); the worker is the same. Its leases are renewed every
`RENEW_EVERY` seconds (a Redis lease is a heartbeat; a SQLite one ends with the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gateway.imports.formats import Record, read_records
from gateway.imports.intake import INPUT_DIR, input_path
from gateway.imports.jobs import Imports
from gateway.imports.plan import AHEAD, pipelined
from gateway.imports.rows import judger
from gateway.service import BulkOutcome
from gateway.store.base import StoreUnavailable
from gateway.store.imports import (
    ChunkOutcome,
    ChunkWork,
    FailedRow,
    ImportStore,
    ReadInput,
    RowBatch,
    Work,
)
from gateway.store.owners import OwnerLock
from providers.bulk import shared_gate
from providers.errors import Failure, Origin, ProviderError
from providers.model import ContactDraft, ProviderName
from providers.resilience.priority import background

__all__ = ["ImportRunner"]

log = logging.getLogger("gateway.imports")

READ_BATCH = 1_000  # rows stored per transaction while an input is read
IDLE_POLL = 0.5  # seconds between looks for work made by other processes
CANCEL_POLL = 0.1  # seconds between looks for jobs cancelled elsewhere, while chunks run
PURGE_EVERY = 3_600.0
RENEW_EVERY = 1.0  # seconds between renewals of this worker's leases (the Redis heartbeat)
MAX_DEFER = 60.0  # longest pause before a chunk turned away is sent again
_TURNED_AWAY = frozenset({Origin.PACING, Origin.CIRCUIT})
Clock = Callable[[], float]


class ImportRunner:
    def __init__(
        self,
        imports: Imports,
        owner: OwnerLock,
        *,
        retention_seconds: float,
        slots: int = 4,
        clock: Clock = time.time,
    ) -> None:
        self.imports = imports
        self.store: ImportStore = imports.store
        self.owner = owner
        self.retention_seconds = retention_seconds
        self.slots = max(1, slots)
        self.clock = clock
        self._running: dict[asyncio.Task[None], Work] = {}
        self._cancelled: set[asyncio.Task[None]] = set()
        # Chunks whose outcome is stored (counted, deferred or the job failed): what is left of
        # their task is telling watchers. Stopping their job leaves them be, and nothing of
        # theirs is given back or noted as stopped mid-send.
        self._settled: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        # Per provider with no budget, the requests of every chunk sent from here: `slots` on
        # the wire at once. Any other provider's chunks: `slots` sent at once.
        self._gates: dict[ProviderName, asyncio.Semaphore] = {}
        self._sending = asyncio.Semaphore(self.slots)
        self._loop_task: asyncio.Task[None] | None = None
        self._purged_at = float("-inf")
        self._renewed_at = float("-inf")
        self._stopping = False
        imports.changes.stop = self.stop_job
        imports.changes.wake = self._wake.set

    async def start(self) -> None:
        await asyncio.to_thread(self.owner.acquire)
        self._loop_task = asyncio.create_task(self._loop(), name="gateway-imports")

    async def aclose(self) -> None:
        """Stop: work in flight is given back (a chunk is sent again by the next worker)."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(self.owner.release)

    def stop_job(self, job_id: str) -> None:
        """Cancel this process' work on the job now (it was cancelled, or it failed)."""
        for task, work in self._running.items():
            if work.job.id == job_id and not task.done() and task not in self._settled:
                self._cancelled.add(task)
                task.cancel()

    # -- the loop ------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self._renew_if_due()
                await self._purge_if_due()
                await self._claim()
                await self._stop_cancelled()
            except asyncio.CancelledError:
                raise
            except Exception:  # a store outage must not end the worker: try again later
                log.exception("import worker: could not claim work")
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # lands as the wait ends, and shutdown would then wait on this loop for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CANCEL_POLL if self._running else IDLE_POLL):
                    await self._wake.wait()

    async def _claim(self) -> None:
        # `slots` requests on the wire (the gates) and AHEAD chunks made ready meanwhile; an
        # input being read takes none of them, so a job keeps its chunks going while the rest
        # of its file is read.
        while len(self._running) < self.slots + AHEAD + self._reading():
            work = await self.store.claim(self.owner.token, self.clock())
            if work is None:
                return
            task = asyncio.create_task(self._do(work), name=f"gateway-import-{work.job.id}")
            self._running[task] = work
            task.add_done_callback(self._finished)

    def _reading(self) -> int:
        return sum(1 for work in self._running.values() if isinstance(work, ReadInput))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._cancelled.discard(task)
        self._settled.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("import work failed", exc_info=task.exception())
        self._wake.set()  # a slot is free

    async def _stop_cancelled(self) -> None:
        jobs = sorted({work.job.id for work in self._running.values()})
        for job_id in await self.store.cancelled(jobs):
            self.stop_job(job_id)

    async def _renew_if_due(self) -> None:
        # The loop's own clock, not self.clock (tests move that one by hand).
        now = asyncio.get_running_loop().time()
        if now - self._renewed_at < RENEW_EVERY:
            return
        self._renewed_at = now
        await self.store.renew(self.owner.token, self.clock())

    async def _purge_if_due(self) -> None:
        now = self.clock()
        if now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        purged = await self.store.purge(now - self.retention_seconds)
        data_dir = self.imports.data_dir
        for job_id in purged:
            input_path(data_dir, job_id).unlink(missing_ok=True)
        if purged:
            log.info("deleted %d finished imports past their retention", len(purged))
        # An input whose job is gone (the process died between copying it and storing the job).
        known = {path.stem for path in (data_dir / INPUT_DIR).glob("*.input")} - set(purged)
        for job_id in known:
            if await self.store.get(job_id) is None:
                path = input_path(data_dir, job_id)
                if now - path.stat().st_mtime > PURGE_EVERY:
                    path.unlink(missing_ok=True)

    # -- one piece of work ---------------------------------------------------------------------

    async def _do(self, work: Work) -> None:
        try:
            if isinstance(work, ReadInput):
                await self._read(work)
            else:
                await self._send(work)
        except asyncio.CancelledError:
            note = None
            task = asyncio.current_task()
            if task in self._settled:  # its outcome is stored: nothing to give back
                raise
            if isinstance(work, ChunkWork) and task in self._cancelled and work.rows:
                first, last = work.rows[0].index, work.rows[-1].index
                note = (
                    f"stopped while contacts {first} to {last} were being sent: they are not "
                    "counted, and some of them may have been written"
                )
            await asyncio.shield(self._give_back(work, note))
            raise
        except StoreUnavailable:
            # The store is down (locked past its timeout, disk full): the work is given back
            # if it can be, else its lease ends with this process; either way it is done again.
            await asyncio.shield(self._give_back(work, None))
            raise
        except Exception as exc:
            # A bug: sending the same chunk again would meet it again, at once and for ever.
            log.exception("import %s: unexpected error", work.job.id)
            await asyncio.shield(self._give_back(work, None))
            reason = (
                f"the import stopped on an unexpected error ({type(exc).__name__}): see the log"
            )
            await self.store.fail(work.job.id, reason, self.clock())
            await self._publish(work.job.id)

    async def _give_back(self, work: Work, note: str | None) -> None:
        try:
            await self.store.release(work, note)
        except Exception:  # the lease then ends with this process
            log.exception("import worker: could not give work back")
        self._publish_later(work.job.id)

    async def _read(self, work: ReadInput) -> None:
        path = Path(work.source)
        if not path.exists():
            await self.store.fail(
                work.job.id,
                "the uploaded file is gone from data_dir: import it again",
                self.clock(),
            )
            await self._publish(work.job.id)
            return
        records = read_records(path, work.job.row_format, work.offset)
        index = work.rows
        while True:
            raws, problems, reached = await asyncio.to_thread(_take, records, READ_BATCH)
            rows = RowBatch(index, raws, problems)
            index += len(rows)
            done = len(rows) < READ_BATCH
            offset = work.offset if reached is None else reached
            if not await self.store.add_rows(work, rows, offset, done, self.clock()):
                return  # the job was cancelled meanwhile
            self._wake.set()  # its chunks can go
            await self._publish(work.job.id)
            if done:
                path.unlink(missing_ok=True)
                return

    async def _send(self, work: ChunkWork) -> None:
        job = work.job
        judging = judger(job.row_format, job.header, self.imports.region)
        judged = [judging(row) for row in work.rows]
        try:
            # Background: while interactive calls wait for the provider's budget, the chunk's
            # calls take at most gateway.import_budget_share of it (every call made inside,
            # the bulk's own tasks included: they copy this context). How many go: see above.
            with background():
                outcome = await self._bulk(job.provider, [j.item for j in judged], work.first)
        except ProviderError as error:
            # Every contact of the chunk refused for the account (credentials, payment,
            # product, provider not configured): the next chunks would be too.
            failure = error.failure
            reason = f"the import stopped: {failure.code.value}: {failure.message}"
            await self.store.release(work)
            await self.store.fail(job.id, reason, self.clock())
            self._settle()
            await self._publish(job.id)
            return
        wait = _turned_away(outcome, len(judged))
        if wait is not None:
            note = (
                f"{job.provider.label} turned chunks away before they were sent (its budget "
                "or an open circuit): they are sent again after a pause"
            )
            await self.store.defer(work, self.clock() + wait, note)
            self._settle()
            await self._publish(job.id)
            return
        failed = [
            FailedRow(
                item.index,
                item.phone or judged[item.index - work.first].phone,
                item.email or judged[item.index - work.first].email,
                item.failure,
            )
            for item in outcome.errors
        ]
        notes: dict[str, list[int]] = {note: list(rows) for note, rows in outcome.notes.items()}
        for warning in outcome.provider_warnings:
            notes.setdefault(warning, [])
        for offset, one in enumerate(judged):
            for note in one.notes:
                notes.setdefault(note, []).append(work.first + offset)
        counted = ChunkOutcome(len(judged), failed, outcome.contacts_created, notes)
        if not await self.store.checkpoint(work, counted, self.clock()):
            log.warning("import %s chunk %d: its lease was lost; not counted", job.id, work.chunk)
        # Checkpointing the last chunk ends the job, and the loop then stops the job's work:
        # this task must not be taken for a chunk stopped mid-send.
        self._settle()
        await self._publish(job.id)

    async def _bulk(
        self, provider: ProviderName, items: list[ContactDraft | Failure], first: int
    ) -> BulkOutcome:
        service = self.imports.service
        if pipelined(service.adapter(provider).capabilities):
            gate = self._gates.get(provider)
            if gate is None:
                gate = self._gates[provider] = asyncio.Semaphore(self.slots)
            with shared_gate(gate):
                return await service.bulk_upsert(provider, items, first_index=first)
        async with self._sending:
            return await service.bulk_upsert(provider, items, first_index=first)

    def _settle(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._settled.add(task)

    async def _publish(self, job_id: str) -> None:
        # Read back only for a watcher here: a job nobody follows in this process would cost
        # a store round trip per checkpoint for nothing (other processes read the store).
        if not self.imports.changes.watched(job_id):
            return
        job = await self.store.get(job_id)
        if job is not None:
            self.imports.changes.publish(job)

    def _publish_later(self, job_id: str) -> None:
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self._publish(job_id))


def _take(records: Iterator[Record], count: int) -> tuple[list[str], list[str | None], int | None]:
    """The next `count` records as the store takes them (columns), and the offset reached after
    the last (None: none left)."""
    raws: list[str] = []
    problems: list[str | None] = []
    reached = None
    for raw, problem, offset in itertools.islice(records, count):
        raws.append(raw)
        problems.append(problem)
        reached = offset
    return raws, problems, reached


def _turned_away(outcome: BulkOutcome, count: int) -> float | None:
    """The pause before sending again, when every contact was turned away before reaching the
    provider (pacing, an open circuit); None when the chunk's outcome stands."""
    failures = [item.failure for item in outcome.errors]
    if not failures or len(failures) != count:
        return None
    if not all(failure.origin in _TURNED_AWAY for failure in failures):
        return None
    waits = [failure.retry_after for failure in failures if failure.retry_after]
    return min(MAX_DEFER, max(waits, default=1.0))
