"""Imports through the real app (lifespan, middleware, background worker) against the sandbox:
inline contacts and uploads (the GraphQL multipart request spec, as httpx sends it) to exact
counts; every refusal a typed answer; cancel; Idempotency-Key; the upload limits."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from providers.heymarket.sandbox import HeymarketSimulator
from providers.model import ProviderName
from providers.simulator.faults import Fault
from providers.simulator.transport import SimulatorTransport
from tests.gateway.imports.support import (
    CANCEL,
    GET,
    LIST,
    PREFLIGHT,
    PROGRESS,
    START,
    finished,
    started,
    upload,
)
from tests.support import BULK, GatewayClient, serve

CSV = (
    b"phone,email,firstName,last_name,status,tags,plan\n"
    b"(415) 555-2671,ann@example.com,Ann,Lee,subscribed,vip;lead,gold\n"
    b"12345,bob@example.com,Bob,,,,\n"  # row 1: a phone no region can read
    b"+1 415 555 2672,,Cy,,maybe,,\n"  # row 2: an unknown status
    b"+14155552673,too,few\n"  # row 3: 3 fields, the header has 7
    b"\n"  # blank: skipped, no index
    b"+14155552674,,Di,,,,silver\n"
)


class CountingTransport(httpx.AsyncBaseTransport):
    """The simulator's transport, noting when each request leaves the gateway."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(time.monotonic())
        return await self.inner.handle_async_request(request)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(heymarket=HeymarketSimulator(rate_limit=10**6))


@pytest.fixture
async def gateway(tmp_path: Path, sandbox: Sandbox) -> AsyncIterator[GatewayClient]:
    config = sandbox.config(GatewaySettings(data_dir=tmp_path, max_upload_bytes=64 * 1024))
    async with serve(config, sandbox=sandbox) as client:
        yield client


async def test_inline_contacts_import_to_exact_counts_with_failed_items_by_index(
    gateway: GatewayClient,
) -> None:
    contacts: list[dict[str, Any]] = [
        {"phone": f"+1415555{3000 + i:04d}", "email": f"c{i}@example.com"} for i in range(25)
    ]
    contacts[7] = {"phone": "not a phone"}
    contacts[19] = {"email": "x@example.com"}  # Trackly needs a phone
    data = await gateway.data(START, {"provider": "TRACKLY", "contacts": contacts})
    job = data["startContactImport"]["contactImport"]
    assert (job["status"], job["total"], job["processed"]) == ("QUEUED", 25, 0)
    assert job["createdAt"].endswith("Z")

    done = await finished(gateway.http, job["id"])

    assert done["status"] == "SUCCEEDED"
    assert (done["total"], done["processed"], done["succeeded"], done["failed"]) == (25, 25, 23, 2)
    assert done["contactsCreated"] == 23
    assert done["etaSeconds"] == 0
    assert done["contactsPerMinute"] > 0
    assert done["startedAt"] and done["finishedAt"]
    assert [(e["index"], e["error"]["code"], e["error"]["field"]) for e in done["errors"]] == [
        (7, "INVALID_PHONE", "contacts[7].phone"),
        (19, "MISSING_PHONE_NUMBER", "contacts[19].phone"),
    ]
    assert done["errors"][0]["phone"] == "not a phone"
    # Trackly keeps no email: said once, naming the contacts.
    assert any(w.startswith("email was not sent") and "and 3 more" in w for w in done["warnings"])
    page = await finished(gateway.http, job["id"], first=1, after=1)
    assert [e["index"] for e in page["errors"]] == [19]


async def test_a_csv_upload_imports_its_rows_and_reports_refused_ones_by_data_row(
    gateway: GatewayClient, sandbox: Sandbox
) -> None:
    job = started(await upload(gateway.http, "HEYMARKET", CSV))
    assert job["total"] is None  # read in the background

    done = await finished(gateway.http, job["id"])

    assert done["status"] == "SUCCEEDED"
    assert (done["total"], done["processed"], done["succeeded"], done["failed"]) == (5, 5, 2, 3), (
        done
    )
    failed = {e["index"]: e["error"] for e in done["errors"]}
    assert failed[1]["code"] == "INVALID_PHONE"
    assert failed[2]["code"] == "INVALID_STATUS"
    assert failed[3]["code"] == "INVALID_REQUEST"
    assert "3 fields; the header has 7" in failed[3]["message"]
    ann = sandbox.heymarket.by_phone("14155552671")
    assert (ann.first, ann.last, ann.email) == ("Ann", "Lee", "ann@example.com")


async def test_an_ndjson_upload_refuses_a_bad_line_and_goes_on(gateway: GatewayClient) -> None:
    lines = [
        json.dumps({"phone": "+14155552681", "customFields": {"plan": "gold"}}),
        "{not json",
        json.dumps({"phone": "+14155552682", "status": "UNSUBSCRIBED"}),
    ]
    content = ("\n".join(lines) + "\n").encode()
    job = started(await upload(gateway.http, "TRACKLY", content, filename="c.ndjson"))
    done = await finished(gateway.http, job["id"])
    assert (done["total"], done["succeeded"], done["failed"]) == (3, 2, 1)
    assert done["errors"][0]["index"] == 1
    assert "not valid JSON" in done["errors"][0]["error"]["message"]
    listed = await gateway.data(LIST, {"status": "SUCCEEDED", "first": 5})
    assert [j["id"] for j in listed["contactImports"]] == [job["id"]]


@pytest.mark.parametrize(
    ("content", "options", "code", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", {}, "INVALID_REQUEST", "not text"),
        (b"+14155552671,Ann\n", {}, "INVALID_REQUEST", "not a header"),
        (b"", {}, "MISSING_CONTACTS", "empty"),
        (b"who,what\nx,y\n", {"filename": "data.txt", "content_type": "text/plain"},
         "INVALID_REQUEST", "give format"),
        (b'{"phone": "+14155552671"}\n', {"format": "CSV"}, "INVALID_REQUEST", "not a header"),
    ],
    ids=["binary", "no header", "empty", "unguessable", "ndjson sent as csv"],
)  # fmt: skip
async def test_a_file_that_is_no_import_file_gets_a_typed_validation_error(
    gateway: GatewayClient, content: bytes, options: dict[str, Any], code: str, says: str
) -> None:
    response = await upload(gateway.http, "TRACKLY", content, **options)
    assert response.status_code == 200
    answer = response.json()["data"]["startContactImport"]
    assert answer["__typename"] == "ValidationError"
    assert answer["code"] == code and says in answer["message"], answer
    assert answer["field"] in ("file", "format")
    listed = await gateway.data(LIST, {})
    assert listed["contactImports"] == []  # nothing was started


async def test_exactly_one_of_contacts_and_file(gateway: GatewayClient) -> None:
    neither = await gateway.data(START, {"provider": "TRACKLY"})
    assert neither["startContactImport"]["code"] == "INVALID_REQUEST"
    assert "exactly one of contacts and file" in neither["startContactImport"]["message"]
    both = json.dumps(
        {
            "query": START,
            "variables": {"provider": "TRACKLY", "contacts": [{"phone": "+14155552671"}]},
        }
    )
    response = await gateway.http.post(
        "/graphql",
        data={"operations": both, "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("c.csv", b"phone\n+14155552671\n", "text/csv")},
        headers=PREFLIGHT,
    )
    assert response.json()["data"]["startContactImport"]["code"] == "INVALID_REQUEST"
    empty = await gateway.data(START, {"provider": "TRACKLY", "contacts": []})
    assert empty["startContactImport"]["code"] == "MISSING_CONTACTS"
    as_text = await gateway.data(START, {"provider": "TRACKLY", "file": "phone\n1\n"})
    assert "multipart" in as_text["startContactImport"]["message"]


async def test_a_provider_not_configured_is_a_configuration_error(tmp_path: Path) -> None:
    sandbox = Sandbox()
    config = sandbox.config(GatewaySettings(data_dir=tmp_path))
    config = type(config)(
        config.gateway, {ProviderName.TRACKLY: config.providers[ProviderName.TRACKLY]}, True
    )
    async with serve(config, sandbox=sandbox) as client:
        data = await client.data(START, {"provider": "HEYMARKET", "contacts": [{"phone": "1"}]})
        upload_answer = (await upload(client.http, "CAMPAIGNLARK", CSV)).json()
    assert data["startContactImport"]["__typename"] == "ConfigurationError"
    assert data["startContactImport"]["code"] == "PROVIDER_NOT_CONFIGURED"
    assert upload_answer["data"]["startContactImport"]["code"] == "PROVIDER_NOT_CONFIGURED"


async def test_an_unknown_job_is_null_and_cannot_be_cancelled(gateway: GatewayClient) -> None:
    assert (await gateway.data(GET, {"id": "nope"}))["contactImport"] is None
    cancel = (await gateway.data(CANCEL, {"id": "nope"}))["cancelContactImport"]
    assert (cancel["__typename"], cancel["code"], cancel["field"]) == (
        "NotFoundError",
        "CONTACT_NOT_FOUND",
        "id",
    )


async def test_cancel_stops_a_job_at_once_and_a_second_cancel_is_refused(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    counting = CountingTransport(SimulatorTransport(app=sandbox.trackly.app))
    # Each bulk request takes a while, so the job is mid-way when it is cancelled.
    sandbox.trackly.faults.add(Fault(delay=0.3, passthrough=True, times=None))
    config = sandbox.config(GatewaySettings(data_dir=tmp_path, max_bulk_contacts=5))
    async with serve(config, sandbox=sandbox, transports={ProviderName.TRACKLY: counting}) as gw:
        contacts = [{"phone": f"+1415555{4000 + i:04d}"} for i in range(60)]
        job = (await gw.data(START, {"provider": "TRACKLY", "contacts": contacts}))[
            "startContactImport"
        ]["contactImport"]
        while not counting.sent:
            await asyncio.sleep(0.01)
        answer = (await gw.data(CANCEL, {"id": job["id"]}))["cancelContactImport"]
        answered = time.monotonic()
        await asyncio.sleep(1.0)  # anything still to start would have by now
        again = (await gw.data(CANCEL, {"id": job["id"]}))["cancelContactImport"]
        done = await finished(gw.http, job["id"])

    assert answer["__typename"] == "ContactImportCancelled"
    cancelled = answer["contactImport"]
    assert cancelled["status"] == "CANCELLED"
    assert [t for t in counting.sent if t > answered] == []  # no provider call after it
    assert cancelled["processed"] < 60
    assert cancelled["processed"] == cancelled["succeeded"] + cancelled["failed"]
    assert done["processed"] == cancelled["processed"]  # in-flight chunks were not counted
    assert any("stopped while contacts" in w for w in done["warnings"])
    assert again["__typename"] == "ValidationError"
    assert again["code"] == "INVALID_REQUEST"
    assert "finished already (CANCELLED" in again["message"]


async def test_an_idempotency_key_gives_the_same_job_again(gateway: GatewayClient) -> None:
    key = {"Idempotency-Key": "import-7f3c"}
    variables = {"provider": "TRACKLY", "contacts": [{"phone": "+14155552671"}]}
    first = await gateway.post(START, variables, headers=key)
    again = await gateway.post(START, variables, headers=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content

    uploaded = await upload(gateway.http, "TRACKLY", CSV, headers={**PREFLIGHT, **key, "x": "1"})
    assert uploaded.status_code == 422  # the same key, another request
    other = {**PREFLIGHT, "Idempotency-Key": "upload-1"}
    one = await upload(gateway.http, "TRACKLY", CSV, headers=other)
    two = await upload(gateway.http, "TRACKLY", CSV, headers=other)  # a new boundary
    assert two.headers["idempotent-replayed"] == "true"
    assert started(two)["id"] == started(one)["id"]
    listed = await gateway.data(LIST, {})
    assert len(listed["contactImports"]) == 2


async def test_a_multipart_request_without_a_preflight_header_is_refused(
    gateway: GatewayClient,
) -> None:
    response = await upload(gateway.http, "TRACKLY", CSV, headers={})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTION"
    assert (await gateway.data(LIST, {}))["contactImports"] == []


async def test_an_upload_over_max_upload_bytes_is_refused_without_being_held(
    gateway: GatewayClient,
) -> None:
    big = b"phone\n" + b"+14155552671\n" * 6_000  # 78 KB against 64 KiB
    declared = await upload(gateway.http, "TRACKLY", big)
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        head = b'--B\r\ncontent-disposition: form-data; name="operations"\r\n\r\n{}\r\n'
        yield head + b'--B\r\ncontent-disposition: form-data; name="0"; filename="a.csv"\r\n\r\n'
        for _ in range(10):
            yield big[:10_000]

    streamed = await gateway.http.post(
        "/graphql",
        content=chunks(),
        headers={**PREFLIGHT, "content-type": "multipart/form-data; boundary=B"},
    )
    assert streamed.status_code == 413
    assert (await gateway.data(LIST, {}))["contactImports"] == []


async def test_a_bulk_too_large_for_the_deadline_says_so_and_points_at_imports(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox(heymarket=HeymarketSimulator(rate_limit=10**6))
    config = sandbox.config(GatewaySettings(data_dir=tmp_path, deadline_seconds=1))
    contacts = [{"phone": f"+1415555{5000 + i:04d}"} for i in range(12)]
    async with serve(config, sandbox=sandbox) as client:
        slow = await client.data(BULK, {"provider": "HEYMARKET", "contacts": contacts})
        fast = await client.data(BULK, {"provider": "TRACKLY", "contacts": contacts})
    warnings = slow["bulkUpsertContacts"]["warnings"]
    assert any("startContactImport" in w and "500/minute" in w for w in warnings), warnings
    assert not any("startContactImport" in w for w in fast["bulkUpsertContacts"]["warnings"])


async def test_the_sample_csv_imports_into_the_heymarket_sandbox(tmp_path: Path) -> None:
    """examples/contacts.csv, the README's walkthrough: its refused rows fail, the rest go in."""
    sample = Path(__file__).parents[3] / "examples" / "contacts.csv"
    sandbox = Sandbox(heymarket=HeymarketSimulator(rate_limit=10**6))
    config = sandbox.config(GatewaySettings(data_dir=tmp_path))
    heymarket = config.providers[ProviderName.HEYMARKET]
    fast = heymarket.model_copy(update={"rate_limit": "100000/minute"})
    config = type(config)(config.gateway, {ProviderName.HEYMARKET: fast}, True)
    async with serve(config, sandbox=sandbox) as client:
        job = started(await upload(client.http, "HEYMARKET", sample.read_bytes()))
        done = await finished(client.http, job["id"], seconds=60)

    assert done["status"] == "SUCCEEDED"
    assert (done["total"], done["succeeded"], done["failed"]) == (300, 294, 6)
    assert {e["index"]: e["error"]["code"] for e in done["errors"]} == {
        17: "INVALID_PHONE",
        42: "MISSING_PHONE_NUMBER",
        88: "INVALID_STATUS",
        131: "INVALID_EMAIL",
        204: "INVALID_REQUEST",
        250: "TOO_MANY_TAGS",
    }
    assert len(sandbox.heymarket.contacts) == 294


async def test_the_progress_subscription_is_served_over_http_too(gateway: GatewayClient) -> None:
    """strawberry's multipart subscriptions (Apollo's protocol): one part per state."""
    contacts = [{"phone": f"+1415555{8000 + n:04d}"} for n in range(3)]
    data = await gateway.data(START, {"provider": "TRACKLY", "contacts": contacts})
    job_id = data["startContactImport"]["contactImport"]["id"]
    response = await gateway.http.post(
        "/graphql",
        json={"query": PROGRESS, "variables": {"id": job_id}},
        headers={"accept": 'multipart/mixed;subscriptionSpec="1.0",application/json'},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed")
    parts = [json.loads(p) for p in re.findall(r"\r\n\r\n(\{.*?\})\r\n", response.text)]
    states = [p["payload"]["data"]["contactImportProgress"] for p in parts if p.get("payload")]
    assert states[-1]["status"] == "SUCCEEDED" and states[-1]["processed"] == 3


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_sent_for_one_answer_is_a_400_naming_the_ways_to_stream_it(
    gateway: GatewayClient, method: str
) -> None:
    """Without a streaming Accept header there is nothing to stream to: a clear request error,
    never a masked 'Unexpected error.' (strawberry lets it through to execution)."""
    if method == "POST":
        body = {"query": PROGRESS, "variables": {"id": "job-1"}}
        response = await gateway.http.post("/graphql", json=body)
    else:
        params = {"query": PROGRESS, "variables": json.dumps({"id": "job-1"})}
        response = await gateway.http.get("/graphql", params=params)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "WebSocket" in error["message"] and "text/event-stream" in error["message"]


async def test_the_progress_subscription_streams_as_server_sent_events(
    gateway: GatewayClient,
) -> None:
    contacts = [{"phone": f"+1415555{8100 + n:04d}"} for n in range(3)]
    data = await gateway.data(START, {"provider": "TRACKLY", "contacts": contacts})
    job_id = data["startContactImport"]["contactImport"]["id"]
    response = await gateway.http.post(
        "/graphql",
        json={"query": PROGRESS, "variables": {"id": job_id}},
        headers={"accept": "text/event-stream"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    events = [json.loads(line[5:]) for line in lines if line[:5] == "data:" and line[5:].strip()]
    states = [e["data"]["contactImportProgress"] for e in events if e.get("data")]
    assert states[-1]["status"] == "SUCCEEDED" and states[-1]["processed"] == 3
