"""Imports with real processes on 127.0.0.1: `gateway serve` in front of a provider simulator in
a process of its own (slowed by fault injection), a real multipart upload over HTTP, a real
WebSocket client speaking graphql-transport-ws, SIGKILL.

- a Heymarket import killed mid-job resumes after a restart from its last checkpoint and ends
  with exact counts; no contact is created twice, and at most the chunk in flight is re-sent;
- two worker processes sharing the SQLite file run each chunk once, and the progress
  subscription emits as the job goes and completes when it ends.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from tests.fleet.procs import (
    Process,
    all_ready,
    heymarket_account,
    start_gateway,
    start_simulator,
    trackly_account,
)
from tests.fleet.procs import write_config as write_gateway_config
from tests.gateway.imports.support import GET, PROGRESS, START, finished, started, upload
from tests.support import UPSERT

SLOW = {"delay": 0.06, "passthrough": True, "times": None}


def write_config(tmp: Path, sim: Process, provider: str, **gateway: Any) -> Path:
    if provider == "heymarket":
        # the import's chunks: 10 contacts
        account = heymarket_account(sim, rate_limit="100000/minute", batch_size=10)
        return write_gateway_config(tmp, {"heymarket": account}, **gateway)
    return write_gateway_config(tmp, {"trackly": trackly_account(sim)}, **gateway)


def calls(sim: Process) -> list[tuple[str, str, int]]:
    audit = httpx.get(sim.url + "/_audit", timeout=5).json()
    return [(method, path, status) for method, path, status in audit["calls"]]


def phone(n: int) -> str:
    return f"+1415555{6000 + n:04d}"


async def test_a_killed_heymarket_import_resumes_and_creates_no_contact_twice(
    tmp_path: Path, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, 100_000, provider="heymarket")
    config = write_config(tmp_path, sim, "heymarket")
    gateway = start_gateway(config)
    processes += [sim, gateway]
    all_ready(sim, gateway)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        for n in range(10):  # ten of the file's contacts exist already
            contact = {"phone": phone(n), "firstName": "Old", "lastName": "Name"}
            variables = {"provider": "HEYMARKET", "contact": contact}
            await http.post("/graphql", json={"query": UPSERT, "variables": variables})
        rows = ["phone,firstName,lastName,status,plan"]
        for n in range(60):
            rows.append(f"{phone(n)},First{n},Last{n},subscribed,gold")
        rows.insert(1 + 5, "555-01,Bad,Phone,,")  # data row 5
        rows.insert(1 + 30, f"{phone(99)},Too,Few")  # data row 30
        rows.insert(1 + 50, f"{phone(98)},Un,Known,pending,")  # data row 50
        assert httpx.post(sim.url + "/_sandbox/faults", json=SLOW).status_code == 200
        job = started(await upload(http, "HEYMARKET", "\n".join(rows).encode()))

        while True:  # SIGKILL once a checkpoint or two is in, mid-job
            asked = {"query": GET, "variables": {"id": job["id"]}}
            seen = (await http.post("/graphql", json=asked)).json()["data"]["contactImport"]
            if seen["processed"] >= 10:
                break
            await asyncio.sleep(0.02)
        gateway.process.kill()
        gateway.process.wait(timeout=10)
    assert seen["processed"] < 63, "the job ended before the kill: slow the simulator more"

    restarted = start_gateway(config)
    processes.append(restarted)
    restarted.ready()
    async with httpx.AsyncClient(base_url=restarted.url, timeout=30) as http:
        done = await finished(http, job["id"], seconds=30)

    assert done["status"] == "SUCCEEDED"
    counts = (done["total"], done["processed"], done["succeeded"], done["failed"])
    assert counts == (63, 63, 60, 3)
    assert [(e["index"], e["error"]["code"]) for e in done["errors"]] == [
        (5, "INVALID_PHONE"),
        (30, "INVALID_REQUEST"),
        (50, "INVALID_STATUS"),
    ]
    assert done["contactsCreated"] <= 50
    contacts = httpx.get(sim.url + "/_contacts", timeout=5).json()
    by_phone: dict[str, list[dict[str, Any]]] = {}
    for contact in contacts:
        by_phone.setdefault(contact["phone"], []).append(contact)
    assert sorted(by_phone) == sorted(phone(n)[1:] for n in range(60))  # one contact a phone
    assert all(len(same) == 1 for same in by_phone.values())
    assert [by_phone[phone(n)[1:]][0]["first"] for n in range(60)] == [
        f"First{n}" for n in range(60)
    ]  # the file's values applied, the ten that existed updated
    made = calls(sim)
    refused_creates = [c for c in made if c[:2] == ("POST", "/v1/contact") and c[2] >= 400]
    assert refused_creates == []  # no create was ever sent for a phone that had a contact
    lookups = sum(1 for c in made if c[:2] == ("POST", "/v1/contact/get"))
    assert lookups <= 10 + 60 + 10  # the upserts, every contact once, one chunk again at most


async def test_two_workers_run_each_chunk_once_and_the_subscription_follows_the_job(
    tmp_path: Path, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, 100_000)
    config = write_config(
        tmp_path, sim, "trackly", max_bulk_contacts=5, allow_per_worker_budgets=True
    )
    gateway = start_gateway(config, workers=2)
    processes += [sim, gateway]
    all_ready(sim, gateway)
    slow_bulk = {**SLOW, "delay": 0.1, "path": "/v2/contacts/bulk"}
    assert httpx.post(sim.url + "/_sandbox/faults", json=slow_bulk).status_code == 200
    contacts = [{"phone": phone(n)} for n in range(200)]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        answer = await http.post(
            "/graphql",
            json={
                "query": START,
                "variables": {"provider": "TRACKLY", "contacts": contacts},
            },
        )
        job = answer.json()["data"]["startContactImport"]["contactImport"]

        emitted: list[dict[str, Any]] = []
        ws_url = gateway.url.replace("http://", "ws://") + "/graphql"
        async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            payload = {"query": PROGRESS, "variables": {"id": job["id"]}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if message["type"] == "complete":
                    break
                assert message["type"] == "next", message
                emitted.append(message["payload"]["data"]["contactImportProgress"])
        done = await finished(http, job["id"])

    assert done["status"] == "SUCCEEDED"
    assert (done["total"], done["processed"], done["succeeded"]) == (200, 200, 200)
    bulks = [c for c in calls(sim) if c[:2] == ("POST", "/v2/contacts/bulk")]
    assert len(bulks) == 40  # 200 contacts, 5 a chunk: no chunk was sent twice
    progress = [state["processed"] for state in emitted]
    assert progress == sorted(progress) and len(set(progress)) >= 3, progress
    assert emitted[-1]["status"] == "SUCCEEDED" and emitted[-1]["processed"] == 200
