"""Chunks per provider, and a job's rate and ETA from its own progress (virtual time)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.imports.plan import AHEAD, ChunkPlan, contacts_per_minute, eta_seconds, plan_chunks
from gateway.store.imports import ImportStatus, JobRecord, RowFormat
from providers.campaignlark.adapter import CampaignLarkAdapter
from providers.heymarket.adapter import HeymarketAdapter
from providers.model import ProviderName
from providers.trackly.adapter import TracklyAdapter


def test_each_provider_gets_chunks_its_budget_and_bulk_suit() -> None:
    # Trackly: one full bulk request a chunk, as many sent at once as a bulk keeps, and AHEAD
    # more judged and encoded meanwhile.
    assert plan_chunks(TracklyAdapter.describe(None), 4, 10_000) == ChunkPlan(1_000, 4 + AHEAD)
    # Heymarket: a batch of new contacts (batch_size), one chunk of a job at a time.
    assert plan_chunks(HeymarketAdapter.describe(None), 4, 10_000) == ChunkPlan(50, 1)
    # CampaignLark, a fan-out at 100/second: a second of budget.
    assert plan_chunks(CampaignLarkAdapter.describe(None), 4, 10_000) == ChunkPlan(100, 1)
    # Never more than a bulk may hold.
    assert plan_chunks(TracklyAdapter.describe(None), 4, 300) == ChunkPlan(300, 4 + AHEAD)


JOB = JobRecord(
    id="j",
    provider=ProviderName.HEYMARKET,
    status=ImportStatus.RUNNING,
    row_format=RowFormat.CSV,
    header=("phone",),
    chunk_size=50,
    total=10_000,
    processed=1_500,
    succeeded=1_500,
    failed=0,
    created=0,
    created_at=0.0,
    started_at=100.0,
    finished_at=None,
    run_started_at=400.0,  # taken over after a restart, 1,000 rows done by then
    run_processed=1_000,
    version=9,
)


def test_the_rate_counts_from_the_last_start_so_downtime_does_not_drag_it() -> None:
    assert contacts_per_minute(JOB, now=460.0) == pytest.approx(500.0)  # 500 in the last 60 s
    assert eta_seconds(JOB, now=460.0) == pytest.approx(8_500 / 500 * 60)


def test_no_rate_or_eta_before_progress_and_none_left_once_done() -> None:
    assert contacts_per_minute(replace(JOB, run_started_at=None), 460.0) is None
    assert eta_seconds(replace(JOB, processed=1_000), 460.0) is None
    assert eta_seconds(replace(JOB, total=None), 460.0) is None
    succeeded = replace(JOB, status=ImportStatus.SUCCEEDED, processed=10_000, finished_at=460.0)
    assert eta_seconds(succeeded, 9_999.0) == 0.0
    assert contacts_per_minute(succeeded, 9_999.0) == pytest.approx(9_000.0)  # to its end
    assert eta_seconds(replace(JOB, status=ImportStatus.CANCELLED), 460.0) is None
