"""Imports across a fleet with real processes on 127.0.0.1: two `gateway serve` processes, each
with a data_dir of its own (no shared disk), sharing one real redis-server, in front of one
Heymarket simulator in a process of its own (slowed by fault injection).

The job is started on one gateway and read, watched and finished through the other: one of
them is SIGKILLed mid-job, the other takes over its chunk once its lease runs out, and the job
ends with exact counts and no contact created twice (the simulator's own contact list says so).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from gateway.store.redis_imports import LEASE_SECONDS
from tests.fleet.procs import Process, all_ready, heymarket_account, start_gateway, start_simulator
from tests.fleet.procs import write_config as write_gateway_config
from tests.gateway.imports.support import GET, PROGRESS, finished, started, upload
from tests.redis_server import RedisServer
from tests.support import UPSERT

SLOW = {"delay": 0.06, "passthrough": True, "times": None}


def write_config(tmp: Path, sim: Process, redis_url: str, namespace: str, name: str) -> Path:
    # the import's chunks: 10 contacts
    account = heymarket_account(sim, rate_limit="100000/minute", batch_size=10)
    return write_gateway_config(
        tmp,
        {"heymarket": account},
        name=name,
        data_dir=str(tmp / name),  # each gateway its own disk: the rows are in Redis
        redis_url=redis_url,
        redis_namespace=namespace,
        fleet_processes=2,
    )


def phone(n: int) -> str:
    return f"+1415555{7000 + n:04d}"


async def job_state(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    answer = await http.post("/graphql", json={"query": GET, "variables": {"id": job_id}})
    state: dict[str, Any] = answer.json()["data"]["contactImport"]
    return state


async def watch(url: str, job_id: str) -> list[dict[str, Any]]:
    """contactImportProgress over graphql-transport-ws, until it completes."""
    emitted: list[dict[str, Any]] = []
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": PROGRESS, "variables": {"id": job_id}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "complete":
                return emitted
            assert message["type"] == "next", message
            emitted.append(message["payload"]["data"]["contactImportProgress"])


@pytest.mark.timeout(180)
async def test_a_job_outlives_the_gateway_that_took_it_and_ends_exact_on_the_other(
    tmp_path: Path, redis_server: RedisServer, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, 100_000, provider="heymarket")
    namespace = f"t{uuid.uuid4().hex[:8]}"
    first = start_gateway(write_config(tmp_path, sim, redis_server.url, namespace, "a"))
    other = start_gateway(write_config(tmp_path, sim, redis_server.url, namespace, "b"))
    processes += [sim, first, other]
    all_ready(sim, first, other)
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=30) as at_first,
        httpx.AsyncClient(base_url=other.url, timeout=30) as at_other,
    ):
        for n in range(10):  # ten of the file's contacts exist already
            contact = {"phone": phone(n), "firstName": "Old", "lastName": "Name"}
            variables = {"provider": "HEYMARKET", "contact": contact}
            await at_other.post("/graphql", json={"query": UPSERT, "variables": variables})
        rows = ["phone,firstName,lastName,status,plan"]
        for n in range(80):
            rows.append(f"{phone(n)},First{n},Last{n},subscribed,gold")
        rows.insert(1 + 5, "555-01,Bad,Phone,,")  # data row 5
        rows.insert(1 + 40, f"{phone(99)},Un,Known,pending,")  # data row 40
        assert httpx.post(sim.url + "/_sandbox/faults", json=SLOW).status_code == 200
        # The upload goes to the first gateway, which reads it into Redis.
        job = started(await upload(at_first, "HEYMARKET", "\n".join(rows).encode()))
        watching = asyncio.create_task(watch(other.url, job["id"]))

        # SIGKILL the first once a checkpoint or two is in, while it is sending a chunk: its
        # owner token is the name of its lock file in its data_dir.
        (lock,) = (tmp_path / "a" / "owners").glob("*.lock")
        leases = f"{namespace}:imports:leases:{job['id']}"
        async with aioredis.Redis.from_url(redis_server.url, decode_responses=True) as redis:
            while True:
                seen = await job_state(at_first, job["id"])
                holders = {str(h) for h in await redis.hvals(leases)}
                if seen["processed"] >= 10 and holders == {lock.stem}:
                    break
                assert seen["status"] in ("QUEUED", "RUNNING"), seen
                await asyncio.sleep(0.01)
        assert seen["total"] == 82  # the whole file was read into Redis before the kill
        first.process.kill()
        first.process.wait(timeout=10)
        killed_at = time.monotonic()
        assert seen["processed"] < 82, "the job ended before the kill: slow the simulator more"

        # The other gateway sees the same job, and finishes it.
        mid = await job_state(at_other, job["id"])
        assert mid["status"] == "RUNNING" and mid["processed"] >= seen["processed"]
        done = await finished(at_other, job["id"], seconds=LEASE_SECONDS + 60)
        emitted = await asyncio.wait_for(watching, 30)
    assert time.monotonic() - killed_at < LEASE_SECONDS + 60
    # saq's sweep, in the other gateway, gave the dead one's chunk back to the queue.
    assert "back on the queue" in other.log.read_text()

    assert done["status"] == "SUCCEEDED"
    counts = (done["total"], done["processed"], done["succeeded"], done["failed"])
    assert counts == (82, 82, 80, 2)  # each chunk counted once: none lost, none twice
    assert [(e["index"], e["error"]["code"]) for e in done["errors"]] == [
        (5, "INVALID_PHONE"),
        (40, "INVALID_STATUS"),
    ]
    assert done["contactsCreated"] <= 70
    contacts = httpx.get(sim.url + "/_contacts", timeout=5).json()
    by_phone: dict[str, list[dict[str, Any]]] = {}
    for contact in contacts:
        by_phone.setdefault(contact["phone"], []).append(contact)
    assert sorted(by_phone) == sorted(phone(n)[1:] for n in range(80))
    assert all(len(same) == 1 for same in by_phone.values())  # no contact created twice
    assert [by_phone[phone(n)[1:]][0]["first"] for n in range(80)] == [
        f"First{n}" for n in range(80)
    ]
    audit = httpx.get(sim.url + "/_audit", timeout=5).json()
    refused = [c for c in audit["calls"] if c[:2] == ["POST", "/v1/contact"] and c[2] >= 400]
    assert refused == []  # no create was ever sent for a phone that had a contact

    # The subscription on the gateway that did not take the job followed it to its end.
    progress = [state["processed"] for state in emitted]
    assert progress == sorted(progress) and len(set(progress)) >= 3, progress
    assert emitted[-1]["status"] == "SUCCEEDED" and emitted[-1]["processed"] == 82
