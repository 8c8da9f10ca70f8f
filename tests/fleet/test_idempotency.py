"""Idempotency keys with real processes on 127.0.0.1: `gateway serve` processes in front of a
Trackly simulator process; SQLite under a data_dir of the test's own, or one redis-server.

- a gateway killed (SIGKILL) after the provider answered and before the client read the answer:
  the retry with the same key, on the restarted gateway, is replayed, not re-sent;
- two gateway processes on one Redis honour one key: one provider call, one 409, one replay;
- bad keys are clear 400s from a real server (its HTTP parser in front).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.store.sqlite import DATABASE_FILE
from tests.fleet.procs import Process, all_ready, start_gateway, start_simulator, trackly_account
from tests.fleet.procs import write_config as write_gateway_config
from tests.redis_server import RedisServer
from tests.support import UPSERT

KEY = "0b5e7c1e-3f7e-4d0e-9a51-2b1f8c7d6e5a"
REQUEST = json.dumps(
    {
        "query": UPSERT,
        "variables": {"provider": "TRACKLY", "contact": {"phone": "+14155552671"}},
    }
).encode()


def write_config(tmp: Path, sim: Process, **gateway: Any) -> Path:
    return write_gateway_config(tmp, {"trackly": trackly_account(sim)}, **gateway)


def arrivals(sim: Process) -> int:
    return len(httpx.get(sim.url + "/_audit", timeout=5).json()["arrivals"])


def post(url: str, key: str = KEY) -> httpx.Response:
    headers = {"content-type": "application/json", "idempotency-key": key}
    return httpx.post(url + "/graphql", content=REQUEST, headers=headers, timeout=30)


def raw_request(port: int, key: bytes) -> bytes:
    return (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"Idempotency-Key: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (port, key, len(REQUEST))
    ) + REQUEST


def kept(database: Path) -> tuple[str, bytes] | None:
    """The one key's state and stored body, read from the gateway's SQLite file."""
    if not database.exists():
        return None
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        row = connection.execute("SELECT state, body FROM idempotency_keys").fetchone()
    return None if row is None else (row[0], row[1])


async def test_a_gateway_killed_before_the_client_read_its_answer_replays_it_after_restart(
    tmp_path: Path, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, 1_000)
    processes.append(sim)
    config = write_config(tmp_path, sim)
    gateway = start_gateway(config)
    processes.append(gateway)
    all_ready(sim, gateway)
    database = tmp_path / "data" / DATABASE_FILE

    # The client sends its request and never reads the answer: the network cut it off.
    _, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(raw_request(gateway.port, KEY.encode()))
    await writer.drain()
    deadline = asyncio.get_running_loop().time() + 20
    while (found := kept(database)) is None or found[0] != "done":
        assert asyncio.get_running_loop().time() < deadline, "the answer was never kept"
        await asyncio.sleep(0.02)
    gateway.process.kill()  # SIGKILL: no shutdown, nothing flushed on the way out
    gateway.process.wait(timeout=10)
    writer.close()
    assert arrivals(sim) == 1

    restarted = start_gateway(config)
    processes.append(restarted)
    restarted.ready()
    retry = post(restarted.url)

    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == found[1]
    assert retry.json()["data"]["upsertContact"]["created"] is True  # the first call's answer
    assert arrivals(sim) == 1  # replayed, not re-sent


async def test_two_gateway_processes_on_one_redis_honour_one_key(
    tmp_path: Path, redis_server: RedisServer, processes: list[Process]
) -> None:
    sim = start_simulator(tmp_path, 1_000)
    processes.append(sim)
    namespace = f"t{uuid.uuid4().hex[:8]}"
    config = write_config(tmp_path, sim, redis_url=redis_server.url, redis_namespace=namespace)
    first, second = start_gateway(config), start_gateway(config)
    processes += [first, second]
    all_ready(sim, first, second)
    slow = {"delay": 1.5, "passthrough": True, "path": "/v2/contacts"}
    assert httpx.post(sim.url + "/_sandbox/faults", json=slow).status_code == 200

    async def later() -> httpx.Response:
        await asyncio.sleep(0.5)  # `first` holds the key and waits on the provider
        return await asyncio.to_thread(post, second.url)

    answer, refused = await asyncio.gather(asyncio.to_thread(post, first.url), later())
    replayed = post(second.url)

    assert answer.status_code == 200
    assert answer.json()["data"]["upsertContact"]["__typename"] == "UpsertContactSuccess"
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == answer.content
    assert arrivals(sim) == 1


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (b"k" * 10_240, "at most 255"),
        (b"", "empty"),
        (b"abc\tdef", "printable ASCII"),
    ],
    ids=["10KB", "empty", "tab"],
)
async def test_a_real_server_answers_bad_keys_with_a_clear_400(
    tmp_path: Path, processes: list[Process], key: bytes, says: str
) -> None:
    sim = start_simulator(tmp_path, 1_000)
    gateway = start_gateway(write_config(tmp_path, sim))
    processes += [sim, gateway]
    all_ready(sim, gateway)

    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(raw_request(gateway.port, key))
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), raw[:300]
    error = json.loads(body)["errors"][0]
    assert error["extensions"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert says in error["message"]
    assert arrivals(sim) == 0


async def test_other_control_characters_never_get_past_the_http_parser(
    tmp_path: Path, processes: list[Process]
) -> None:
    """uvicorn's parser refuses a header value with a control character other than a tab
    (400, before the gateway sees the request); so nothing is written either."""
    sim = start_simulator(tmp_path, 1_000)
    gateway = start_gateway(write_config(tmp_path, sim))
    processes += [sim, gateway]
    all_ready(sim, gateway)
    for key in (b"abc\x01def", b"abc\x7fdef"):
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(raw_request(gateway.port, key))
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=30)
        writer.close()
        assert raw.startswith(b"HTTP/1.1 400"), raw[:300]
    assert arrivals(sim) == 0
