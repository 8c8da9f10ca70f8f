"""`gateway import` and `gateway imports`, run as a user runs them: subprocesses against a
running sandbox gateway (`gateway serve` with no config), the repo's sample CSV."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fleet.procs import Process
from tests.redis_server import free_port

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "contacts.csv"
GATEWAY = [sys.executable, "-m", "gateway.cli"]


@pytest.fixture
def sandbox_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # Started in the test's own folder: its data directory (.gateway-data) goes there.
    monkeypatch.chdir(tmp_path)
    port = free_port()
    process = Process(
        [*GATEWAY, "serve", "--port", str(port)], tmp_path / "gateway.log", port, "/healthz"
    ).ready()
    try:
        yield process.url
    finally:
        process.stop()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_sample_file_imports_with_a_summary_and_its_failed_rows_written_back(
    sandbox_gateway: str, tmp_path: Path
) -> None:
    failed_out = tmp_path / "failed.csv"
    done = cli(
        "import",
        str(SAMPLE),
        "--provider",
        "trackly",
        "--url",
        sandbox_gateway,
        "--errors-out",
        str(failed_out),
    )
    assert done.returncode == 1, done.stderr  # finished, with failed rows
    summary = done.stdout.strip().splitlines()
    assert any("succeeded" in line and "failed" in line for line in summary), done.stdout
    job_id = summary[0].split()[1]
    listed = cli("imports", "list", "--url", sandbox_gateway)
    assert listed.returncode == 0 and job_id in listed.stdout
    shown = cli("imports", "show", job_id, "--url", sandbox_gateway)
    assert shown.returncode == 1 and "SUCCEEDED" in shown.stdout
    rows = list(csv.reader(failed_out.open()))
    header, failed = rows[0], rows[1:]
    assert header[-1] == "error" and header[:-1] == next(csv.reader(SAMPLE.open()))
    assert failed and all(row[-1].split(":")[0].isupper() for row in failed)
    reported = next(line for line in summary if "failed." in line)
    assert f"{len(failed):,} failed" in reported


def test_detach_returns_at_once_and_a_job_can_be_watched_then_cancelled_only_once(
    sandbox_gateway: str, tmp_path: Path
) -> None:
    lines = [json.dumps({"phone": f"415555{n:04d}"}) for n in range(300)]
    source = tmp_path / "contacts.ndjson"
    source.write_text("\n".join(lines) + "\n")
    # The sandbox's Heymarket answers slowly, so the job is still running when it is cancelled.
    slow = {"delay": 0.3, "passthrough": True, "times": None}
    httpx.post(f"{sandbox_gateway}/sandbox/heymarket/_sandbox/faults", json=slow).raise_for_status()
    started = cli(
        "import", str(source), "--provider", "heymarket", "--url", sandbox_gateway, "--detach"
    )
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.split()[1]
    assert f"gateway imports watch {job_id}" in started.stdout
    cancelled = cli("imports", "cancel", job_id, "--url", sandbox_gateway)
    assert cancelled.returncode == 0 and "CANCELLED" in cancelled.stdout
    again = cli("imports", "cancel", job_id, "--url", sandbox_gateway)
    assert again.returncode == 2 and "INVALID_REQUEST" in again.stderr
    watched = cli("imports", "watch", job_id, "--url", sandbox_gateway)
    assert watched.returncode == 1 and "cancelled" in watched.stdout


def test_an_unknown_job_and_a_file_it_cannot_read_are_usage_errors(
    sandbox_gateway: str, tmp_path: Path
) -> None:
    missing = cli("imports", "show", "no-such-job", "--url", sandbox_gateway)
    assert missing.returncode == 2 and "no import no-such-job" in missing.stderr
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    refused = cli("import", str(binary), "--provider", "trackly", "--url", sandbox_gateway)
    assert refused.returncode == 2 and refused.stderr.strip()
