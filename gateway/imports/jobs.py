"""Contact imports as the API sees them: start, cancel, read, watch. The runner (runner.py) does
the work in the background; both share the store and this process' change feed.

Watching a job: the feed hands every change this process makes (each checkpoint) to the
watchers of its job at once; changes made by other processes sharing the store are seen by
reading it every `POLL_SECONDS`. A watch ends after the job's finished state.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.imports.intake import UploadedFile, input_path, take_in
from gateway.imports.plan import plan_chunks
from gateway.imports.rows import contact_json
from gateway.schema.inputs import ContactInput
from gateway.service import ContactService
from gateway.store.imports import (
    MAX_IMPORT_ROWS,
    ImportStatus,
    ImportStore,
    InputRow,
    JobRecord,
    NewJob,
    RowFormat,
)
from providers.errors import ErrorCode, ProviderError
from providers.model import ProviderName

__all__ = ["CANCEL_WAIT_SECONDS", "Changes", "Imports"]

POLL_SECONDS = 0.25
CANCEL_WAIT_SECONDS = 2.0  # how long a cancel waits for the chunks in flight to stop
Clock = Callable[[], float]


@dataclass
class Changes:
    """This process' feed of job changes: each watcher of a job gets every one, in order."""

    watchers: dict[str, list[asyncio.Queue[JobRecord]]] = field(default_factory=dict)
    # Called with a job id when it must stop here at once (set by the runner).
    stop: Callable[[str], None] = lambda job_id: None
    # Called when there is new work (set by the runner).
    wake: Callable[[], None] = lambda: None

    def publish(self, job: JobRecord) -> None:
        for queue in self.watchers.get(job.id, ()):
            queue.put_nowait(job)

    def watched(self, job_id: str) -> bool:
        """Whether anyone in this process watches the job (else a change need not be read)."""
        return job_id in self.watchers

    def watch(self, job_id: str) -> asyncio.Queue[JobRecord]:
        queue: asyncio.Queue[JobRecord] = asyncio.Queue()
        self.watchers.setdefault(job_id, []).append(queue)
        return queue

    def unwatch(self, job_id: str, queue: asyncio.Queue[JobRecord]) -> None:
        queues = self.watchers.get(job_id, [])
        if queue in queues:
            queues.remove(queue)
        if not queues:
            self.watchers.pop(job_id, None)


class Imports:
    def __init__(
        self,
        store: ImportStore,
        service: ContactService,
        *,
        data_dir: Path,
        region: str,
        bulk_concurrency: int,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.service = service
        self.data_dir = Path(data_dir)
        self.region = region
        self.bulk_concurrency = bulk_concurrency
        self.clock = clock
        self.changes = Changes()

    # -- starting ------------------------------------------------------------------------------

    async def start_inline(
        self, provider: ProviderName, contacts: Sequence[ContactInput]
    ) -> JobRecord:
        if not contacts:
            raise ProviderError.of(
                ErrorCode.MISSING_CONTACTS, "contacts is empty", field="contacts"
            )
        _check_count(len(contacts), "contacts")
        rows = [InputRow(index, contact_json(contact)) for index, contact in enumerate(contacts)]
        job = await self.store.create(self._new(provider, RowFormat.NDJSON), rows)
        self.changes.wake()
        return job

    async def start_file(
        self, provider: ProviderName, upload: UploadedFile, given: RowFormat | None
    ) -> JobRecord:
        adapter = self.service.adapter(provider)  # refuses a provider not configured, first
        job_id = _new_id()
        target = input_path(self.data_dir, job_id)
        sniffed = await asyncio.to_thread(
            take_in,
            upload.stream,
            target,
            given=given,
            filename=upload.filename,
            content_type=upload.content_type,
            contact_key=adapter.capabilities.contact_key,
        )
        new = self._new(
            provider, sniffed.row_format, job_id, header=sniffed.header, source=str(target)
        )
        try:
            job = await self.store.create(new)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        self.changes.wake()
        return job

    def _new(
        self,
        provider: ProviderName,
        row_format: RowFormat,
        job_id: str | None = None,
        *,
        header: tuple[str, ...] | None = None,
        source: str | None = None,
    ) -> NewJob:
        adapter = self.service.adapter(provider)
        plan = plan_chunks(
            adapter.capabilities, self.bulk_concurrency, self.service.max_bulk_contacts
        )
        return NewJob(
            id=job_id or _new_id(),
            provider=provider,
            row_format=row_format,
            chunk_size=plan.size,
            max_in_flight=plan.in_flight,
            header=header,
            source=source,
            created_at=self.clock(),
        )

    # -- reading -------------------------------------------------------------------------------

    async def get(self, job_id: str) -> JobRecord | None:
        return await self.store.get(job_id)

    async def recent(self, status: ImportStatus | None, first: int) -> list[JobRecord]:
        return await self.store.recent(status, first)

    # -- cancelling ----------------------------------------------------------------------------

    async def cancel(self, job_id: str) -> tuple[JobRecord | None, bool]:
        """(the job, whether this call cancelled it): a job finished already is answered as
        it is, with False. Once the answer is given, no provider call of the job starts: the
        chunks in flight here stop at once, those of other processes within a poll."""
        before = await self.store.get(job_id)
        if before is None or before.status.finished:
            return before, False
        job = await self.store.cancel(job_id, self.clock())
        if job is None or job.status is not ImportStatus.CANCELLED:
            return job, False
        self.changes.stop(job_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CANCEL_WAIT_SECONDS
        while await self.store.leases(job_id) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        job = await self.store.get(job_id) or job
        self.changes.publish(job)
        return job, True

    # -- watching ------------------------------------------------------------------------------

    async def watch(self, job_id: str) -> AsyncIterator[JobRecord]:
        """The job now, then after every change, ending with its finished state."""
        queue = self.changes.watch(job_id)
        try:
            job = await self.store.get(job_id)
            if job is None:
                return
            yield job
            seen = job.version
            while not job.status.finished:
                try:
                    async with asyncio.timeout(POLL_SECONDS):  # not wait_for: see runner.py
                        job = await queue.get()
                except TimeoutError:
                    found = await self.store.get(job_id)  # another process' changes
                    if found is None:
                        return
                    job = found
                if job.version > seen:
                    seen = job.version
                    yield job
        finally:
            self.changes.unwatch(job_id, queue)


def _check_count(count: int, field: str) -> None:
    if count > MAX_IMPORT_ROWS:
        raise ProviderError.of(
            ErrorCode.TOO_MANY_CONTACTS,
            f"{count:,} contacts; an import takes at most {MAX_IMPORT_ROWS:,}",
            field=field,
        )


def _new_id() -> str:
    return str(uuid.uuid4())
