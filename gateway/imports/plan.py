"""How an import is cut into chunks for a provider, and its rate and ETA from its own progress.

Chunk size: for a provider with no budget and a native bulk (Trackly), one full provider request
(1,000 contacts), with `bulk_concurrency` chunks in flight as a bulkUpsertContacts keeps its
requests. For a provider whose budget is the bottleneck, chunks stay small so progress and
cancellation are fine-grained, one chunk of a job in flight at a time (so a job's rows that
share a phone or an email go in input order): a batch's worth for a native bulk (Heymarket:
`batch_size`, 50 new contacts to one request), about one second of budget for a fan-out
(CampaignLark at 100/second: 100). Never more than `max_bulk_contacts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.imports import ImportStatus, JobRecord
from providers.capabilities import Capabilities
from providers.resilience.pacing import Rate

__all__ = ["ChunkPlan", "contacts_per_minute", "eta_seconds", "plan_chunks"]

MIN_CHUNK, MAX_CHUNK = 10, 1_000


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    size: int
    in_flight: int


def plan_chunks(capabilities: Capabilities, bulk_concurrency: int, max_bulk: int) -> ChunkPlan:
    per_request = capabilities.max_contacts_per_request if capabilities.native_bulk else None
    if capabilities.rate_limit is None:
        size = per_request or MAX_CHUNK
        return ChunkPlan(max(1, min(size, max_bulk)), max(1, bulk_concurrency))
    if per_request:
        size = per_request
    else:
        rate = Rate.parse(capabilities.rate_limit)
        size = round(rate.requests / rate.period)  # one second of the budget
    return ChunkPlan(max(1, min(max(MIN_CHUNK, min(size, MAX_CHUNK)), max_bulk)), 1)


def contacts_per_minute(job: JobRecord, now: float) -> float | None:
    """Rows processed a minute since the job last (re)started running in a process."""
    if job.run_started_at is None:
        return None
    elapsed = (job.finished_at or now) - job.run_started_at
    done = job.processed - job.run_processed
    if elapsed <= 0 or done <= 0:
        return None
    return done / elapsed * 60


def eta_seconds(job: JobRecord, now: float) -> float | None:
    """Seconds left at the current rate; 0 once it succeeded, None while nothing says."""
    if job.status is ImportStatus.SUCCEEDED:
        return 0.0
    if job.status.finished or job.total is None:
        return None
    rate = contacts_per_minute(job, now)
    if rate is None:
        return None
    return max(0, job.total - job.processed) / rate * 60
