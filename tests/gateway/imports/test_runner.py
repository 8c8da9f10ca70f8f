"""The import worker's own rules: a job refused for the account stops, FAILED, saying why;
finished jobs go after `import_retention_days`, their input files with them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gateway.config import GatewaySettings
from gateway.imports import runner as runner_module
from gateway.imports.intake import input_path
from gateway.imports.jobs import Changes, Imports
from gateway.imports.runner import ImportRunner
from gateway.sandbox import Sandbox
from gateway.service import ContactService
from gateway.store.imports import ImportStatus, InputRow, NewJob, RowFormat
from gateway.store.owners import OwnerLock
from gateway.store.sqlite import SqliteDatabase
from gateway.store.sqlite_imports import SqliteImportStore
from providers.model import ProviderName
from tests.gateway.imports.support import START, finished, started, upload
from tests.support import serve

DAY = 86_400.0


async def test_a_job_refused_for_the_account_stops_failed_and_says_why(tmp_path: Path) -> None:
    sandbox = Sandbox()
    config = sandbox.config(GatewaySettings(data_dir=tmp_path, max_bulk_contacts=2))
    wrong = config.providers[ProviderName.TRACKLY].model_copy(
        update={"api_key": SecretStr("trk_" + "x" * 32)}
    )
    config = type(config)(config.gateway, {ProviderName.TRACKLY: wrong}, True)
    contacts = [{"phone": f"+1415555{7000 + n:04d}"} for n in range(6)]
    async with serve(config, sandbox=sandbox) as client:
        data = await client.data(START, {"provider": "TRACKLY", "contacts": contacts})
        done = await finished(client.http, data["startContactImport"]["contactImport"]["id"])

    assert done["status"] == "FAILED"
    assert done["processed"] == 0  # nothing counted for contacts that were never accepted
    reason, *others = done["warnings"]
    assert reason.startswith("the import stopped: UNAUTHORIZED: ")
    # The chunks in flight with the refused one (bulk_concurrency) stop with it; no other starts.
    assert all(note.startswith("stopped while contacts") for note in others)
    assert len(sandbox.trackly.requests) <= 4


async def test_finished_jobs_are_deleted_after_their_retention(tmp_path: Path) -> None:
    database = await SqliteDatabase.open(tmp_path)
    owner = OwnerLock(tmp_path)
    store = SqliteImportStore(database, owner)
    now = [1_700_000_000.0]
    imports = Imports(
        store,
        ContactService({}, deadline_seconds=30, max_bulk_contacts=10),
        data_dir=tmp_path,
        region="US",
        bulk_concurrency=4,
        clock=lambda: now[0],
    )
    for job_id, finished_at in (("old", now[0] - 8 * DAY), ("recent", now[0] - 6 * DAY)):
        new = NewJob(job_id, ProviderName.TRACKLY, RowFormat.NDJSON, 10, 1, created_at=0.0)
        await store.create(new, [InputRow(0, "{}")])
        await store.fail(job_id, "stopped", finished_at)
        input_path(tmp_path, job_id).parent.mkdir(exist_ok=True)
        input_path(tmp_path, job_id).write_text("{}\n")
    runner = ImportRunner(imports, owner, retention_seconds=7 * DAY, clock=lambda: now[0])
    await runner.start()
    try:
        for _ in range(100):
            if await store.get("old") is None:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.aclose()
        await database.aclose()

    assert not input_path(tmp_path, "old").exists()
    assert input_path(tmp_path, "recent").exists()
    reopened = await SqliteDatabase.open(tmp_path)
    try:
        left = SqliteImportStore(reopened, owner)
        assert await left.get("old") is None
        recent = await left.get("recent")
        assert recent is not None and recent.status is ImportStatus.FAILED
    finally:
        await reopened.aclose()


async def test_a_bug_while_sending_fails_the_job_instead_of_retrying_it_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(row: object) -> object:
        raise KeyError("a bug")

    monkeypatch.setattr("gateway.imports.runner.judger", lambda *args: broken)
    sandbox = Sandbox()
    async with serve(sandbox.config(GatewaySettings(data_dir=tmp_path)), sandbox=sandbox) as client:
        contacts = [{"phone": "+14155552671"}]
        data = await client.data(START, {"provider": "TRACKLY", "contacts": contacts})
        done = await finished(client.http, data["startContactImport"]["contactImport"]["id"])
    assert done["status"] == "FAILED"
    assert done["warnings"] == ["the import stopped on an unexpected error (KeyError): see the log"]
    assert sandbox.trackly.requests == []


class HeldBulks(httpx.AsyncBaseTransport):
    """Trackly's bulk endpoint, each request held until `wanted` are in flight at once (or a
    generous while passes): the most it ever held is the concurrency the gateway reached."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self.in_flight = 0
        self.most = 0
        self.reached = threading.Event()  # read by the reader's thread
        self._changed = asyncio.Condition()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        count = len(json.loads(await request.aread())["contacts"])
        async with self._changed:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            if self.in_flight >= self.wanted:
                self.reached.set()
            self._changed.notify_all()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3.0):
                    await self._changed.wait_for(lambda: self.reached.is_set())
            self.in_flight -= 1
        body = {"success_count": count, "error_count": 0, "errors": [], "contacts_created": count}
        return httpx.Response(200, json=body)


async def test_a_job_keeps_bulk_concurrency_chunks_in_flight_while_its_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading the input is work of its own: it must not take one of the chunks' slots, or a
    # Trackly import sends bulk_concurrency - 1 requests at once until its file is read
    # (`make bench` section 7 (a)); and the runner's slots follow bulk_concurrency.
    monkeypatch.setattr(runner_module, "READ_BATCH", 10)
    provider = HeldBulks(wanted=6)
    real_take = runner_module._take
    batches = [0]

    def slow_take(records: Any, count: int) -> Any:
        batches[0] += 1
        if batches[0] > 6:  # six chunks' worth read: the rest waits for them to be in flight
            provider.reached.wait(timeout=10.0)
        return real_take(records, count)

    monkeypatch.setattr(runner_module, "_take", slow_take)
    sandbox = Sandbox()
    settings = GatewaySettings(data_dir=tmp_path, max_bulk_contacts=10, bulk_concurrency=6)
    rows = "".join(f"+1415555{7000 + n:04d}\n" for n in range(100))
    async with serve(
        sandbox.config(settings), sandbox=sandbox, transports={ProviderName.TRACKLY: provider}
    ) as client:
        job = started(await upload(client.http, "TRACKLY", ("phone\n" + rows).encode()))
        done = await finished(client.http, job["id"], seconds=60)

    assert (done["status"], done["succeeded"]) == ("SUCCEEDED", 100)
    assert batches[0] > 6  # the reader was still at work when the chunks went
    assert provider.most == 6


async def test_a_job_that_just_succeeded_is_not_noted_as_stopped_mid_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checkpointing the last chunk ends the job; the worker's loop may then see the job finished
    # and stop its work while that chunk's task is still telling watchers. It once took that
    # task for a chunk stopped mid-send: a SUCCEEDED job warned "stopped while contacts 0 to 1
    # were being sent".
    publish = ImportRunner._publish

    async def publish_then_stop(self: ImportRunner, job_id: str) -> None:
        job = await self.store.get(job_id)
        if job is not None and job.status is ImportStatus.SUCCEEDED:
            self.stop_job(job_id)  # as the loop's look at finished jobs does
            await asyncio.sleep(0)  # where a cancel would land
        await publish(self, job_id)

    monkeypatch.setattr(ImportRunner, "_publish", publish_then_stop)
    sandbox = Sandbox()
    async with serve(sandbox.config(GatewaySettings(data_dir=tmp_path)), sandbox=sandbox) as client:
        contacts = [{"phone": "+14155552671"}, {"phone": "+14155552672"}]
        data = await client.data(START, {"provider": "TRACKLY", "contacts": contacts})
        done = await finished(client.http, data["startContactImport"]["contactImport"]["id"])
    assert done["status"] == "SUCCEEDED"
    assert not [warning for warning in done["warnings"] if "stopped" in warning]
    assert done["succeeded"] == 2


def test_the_change_feed_says_whether_anyone_here_watches_a_job() -> None:
    # The runner reads a job back after a checkpoint only for a watcher in this process (each
    # read is a store round trip, a hundred a Trackly import of 100,000 contacts).
    changes = Changes()
    assert not changes.watched("a")
    first, second = changes.watch("a"), changes.watch("a")
    assert changes.watched("a") and not changes.watched("b")
    changes.unwatch("a", first)
    assert changes.watched("a")
    changes.unwatch("a", second)
    assert not changes.watched("a")


class TimedBulks(httpx.AsyncBaseTransport):
    """Trackly's bulk endpoint answering after a moment, counting the requests on the wire."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        count = len(json.loads(await request.aread())["contacts"])
        self.requests += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.02)
        finally:
            self.in_flight -= 1
        body = {"success_count": count, "error_count": 0, "errors": [], "contacts_created": count}
        return httpx.Response(200, json=body)


async def test_the_chunks_of_every_job_share_bulk_concurrency_requests_on_the_wire(
    tmp_path: Path,
) -> None:
    # A Trackly job leases AHEAD chunks beyond those on the wire, judged and encoded meanwhile;
    # the requests of every chunk of the process, whatever its job, share one gate of
    # `bulk_concurrency`. Two jobs at once: never more than 2 requests, and both finish.
    provider = TimedBulks()
    sandbox = Sandbox()
    settings = GatewaySettings(data_dir=tmp_path, max_bulk_contacts=10, bulk_concurrency=2)
    files = [
        "phone\n" + "".join(f"+1415555{base + n:04d}\n" for n in range(120))
        for base in (3000, 5000)
    ]
    async with serve(
        sandbox.config(settings), sandbox=sandbox, transports={ProviderName.TRACKLY: provider}
    ) as client:
        jobs = [started(await upload(client.http, "TRACKLY", text.encode())) for text in files]
        done = [await finished(client.http, job["id"], seconds=60) for job in jobs]

    assert [(job["status"], job["succeeded"]) for job in done] == [("SUCCEEDED", 120)] * 2
    assert provider.requests == 24
    assert provider.most == 2
