"""How an import is cut into chunks for a provider, and its rate and ETA from its own progress.

Chunk size: for a provider with no budget and a native bulk (Trackly), one full provider request
(1,000 contacts), with `bulk_concurrency` chunks' requests on the wire at once as a
bulkUpsertContacts keeps its requests, and `AHEAD` more chunks leased besides: judged and
encoded while the others are on the wire, so a request slot never waits on the store or on
the CPU to have its next request ready (`make bench` 7 (a); runner.py). Each process has at
most `bulk_concurrency` of such a provider's requests on the wire; a fleet of processes sharing one
job may have up to `bulk_concurrency + AHEAD` (trackly.md: no rate limit, parallel bulk calls
are fine). For a provider whose budget is the bottleneck, chunks stay small so progress and
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

__all__ = ["AHEAD", "ChunkPlan", "contacts_per_minute", "eta_seconds", "pipelined", "plan_chunks"]

MIN_CHUNK, MAX_CHUNK = 10, 1_000
AHEAD = 3  # a no-budget job's chunks leased beyond its requests on the wire (bench 7 (a))


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    size: int
    in_flight: int  # chunks of the job leased at once (judged, on the wire or checkpointed)


def pipelined(capabilities: Capabilities) -> bool:
    """Whether a job's chunks are made ready AHEAD of the requests on the wire: a provider with
    no budget, where the CPU is what keeps the requests from going out back to back."""
    return capabilities.rate_limit is None


def plan_chunks(capabilities: Capabilities, bulk_concurrency: int, max_bulk: int) -> ChunkPlan:
    per_request = capabilities.max_contacts_per_request if capabilities.native_bulk else None
    if pipelined(capabilities):
        size = per_request or MAX_CHUNK
        return ChunkPlan(max(1, min(size, max_bulk)), max(1, bulk_concurrency) + AHEAD)
    if per_request:
        size = per_request
    else:
        assert capabilities.rate_limit is not None  # not pipelined: it has a budget
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
