"""The edge, with real sockets against a real gateway process on 127.0.0.1: headers and bodies
that never finish are let go, idle connections are closed, and past the caps a client gets a
fast 503 with Retry-After."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fleet.procs import Process
from tests.live_gateway import start
from tests.redis_server import free_port

SETTINGS = {
    "header_timeout_seconds": 1,
    "body_timeout_seconds": 1,
    "min_body_bytes_per_second": 1_000,
    "keep_alive_timeout_seconds": 1,
    "max_connections": 20,
    "max_inflight_requests": 3,
}
SLACK = 1.5  # seconds a timer may fire late on a loaded machine


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    process = start(tmp_path_factory.mktemp("edge"), **SETTINGS)
    try:
        yield process.ready()
    finally:
        process.stop()


def connect(server: Process) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock: socket.socket) -> bytes:
    """One whole answer (its Content-Length body included) of a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
        ).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def timed(action: Callable[[], bytes]) -> tuple[bytes, float]:
    started = time.monotonic()
    answer = action()
    return answer, time.monotonic() - started


def test_headers_that_never_finish_get_408_and_the_connection_closes(live: Process) -> None:
    with connect(live) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n")
        answer, elapsed = timed(lambda: read_all(sock))
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b'"REQUEST_TIMEOUT"' in answer
    assert 0.8 < elapsed < 1 + SLACK


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    live: Process,
) -> None:
    with connect(live) as sock:
        answer, elapsed = timed(lambda: read_all(sock))
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert elapsed < 1 + SLACK


def test_headers_past_64_kib_get_431(live: Process) -> None:
    with connect(live) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Big: " + b"a" * 70_000)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]


def test_an_idle_kept_alive_connection_is_closed(live: Process) -> None:
    with connect(live) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        rest, elapsed = timed(lambda: read_all(sock))  # nothing more: the server closes
    assert rest == b""
    assert elapsed < 1 + SLACK


def test_the_next_request_on_a_kept_alive_connection_gets_its_own_header_deadline(
    live: Process,
) -> None:
    with connect(live) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # ... and no more
        answer, elapsed = timed(lambda: read_all(sock))
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert elapsed < 1 + SLACK


def post_head(length: int) -> bytes:
    return (
        b"POST /graphql HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


def test_a_body_that_stalls_gets_408_and_the_connection_closes(live: Process) -> None:
    with connect(live) as sock:
        sock.sendall(post_head(30_000_000) + b'{"query": "')
        answer, elapsed = timed(lambda: read_all(sock))
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b"connection: close" in answer.lower()
    assert 0.8 < elapsed < 1 + SLACK


def trickle(sock: socket.socket, body: bytes, per_second: int, step: float = 0.1) -> None:
    chunk = max(1, int(per_second * step))
    for offset in range(0, len(body), chunk):
        try:
            sock.sendall(body[offset : offset + chunk])
        except OSError:  # the server let the connection go: the point of some tests
            return
        time.sleep(step)


def test_a_big_body_keeps_going_while_it_keeps_the_minimum_rate(live: Process) -> None:
    # 5,000 bytes at 2,500 bytes a second: 2 s, past the 1 s body timeout, over the minimum
    # rate (1,000) all along.
    body = b'{"query": "{ __typename }", "extensions": {"pad": "' + b"x" * 4_946 + b'"}}'
    with connect(live) as sock:
        sock.sendall(post_head(len(body)))
        trickle(sock, body, per_second=2_500)
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'"__typename":"Query"' in answer


def test_a_body_under_the_minimum_rate_is_let_go_after_the_body_timeout(live: Process) -> None:
    body = b"x" * 5_000
    with connect(live) as sock:
        sock.sendall(post_head(len(body)))
        started = time.monotonic()
        sender = threading.Thread(target=trickle, args=(sock, body, 400), daemon=True)
        sender.start()
        answer = sock.recv(65536)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert elapsed < 1 + SLACK


def test_past_max_connections_a_request_gets_503_with_retry_after_at_once(
    live: Process,
) -> None:
    held = [connect(live) for _ in range(SETTINGS["max_connections"])]
    try:
        time.sleep(0.3)  # the server has taken them all
        with connect(live) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            answer, elapsed = timed(lambda: read_all(sock))
    finally:
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:100]
    assert b"retry-after: 1" in answer.lower()
    assert b'"OVERLOADED"' in answer
    assert elapsed < 0.5
    time.sleep(0.3)  # the held connections are gone: served again
    assert httpx.get(live.url + "/healthz").status_code == 200


def test_past_max_inflight_requests_a_request_gets_503_and_health_checks_still_answer(
    live: Process,
) -> None:
    faults = live.url + "/sandbox/trackly/_sandbox/faults"
    slow = {"delay": 2, "passthrough": True, "path": "/v2/contacts", "times": 3}
    assert httpx.post(faults, json=slow).status_code < 300
    upsert = {
        "query": 'mutation { upsertContact(provider: TRACKLY, contact: {phone: "+14155552671"})'
        " { __typename } }"
    }
    answers: list[httpx.Response] = []
    busy = [
        threading.Thread(
            target=lambda: answers.append(
                httpx.post(live.url + "/graphql", json=upsert, timeout=30)
            )
        )
        for _ in range(SETTINGS["max_inflight_requests"])
    ]
    try:
        for thread in busy:
            thread.start()
        time.sleep(0.5)  # all three are waiting on the slow provider
        started = time.monotonic()
        refused = httpx.post(live.url + "/graphql", json=upsert, timeout=30)
        elapsed = time.monotonic() - started
        health = httpx.get(live.url + "/healthz")
    finally:
        for thread in busy:
            thread.join(timeout=30)
        httpx.delete(faults)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
    assert elapsed < 0.5
    assert health.status_code == 200
    assert [answer.status_code for answer in answers] == [200, 200, 200]


def test_gateway_serve_applies_the_edge_settings_of_its_config(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text("[gateway]\nheader_timeout_seconds = 1\n")
    port = free_port()
    args = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
    server = Process([*args, "--port", str(port)], tmp_path / "serve.log", port, "/healthz")
    try:
        server.ready()
        with connect(server) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            answer, elapsed = timed(lambda: read_all(sock))
    finally:
        server.stop()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert elapsed < 1 + SLACK
