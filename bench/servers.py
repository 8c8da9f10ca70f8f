"""Loopback servers for one benchmark run: started as child processes, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Send

HOST = "127.0.0.1"
_START_TIMEOUT = 30.0
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (from /proc, clock-tick resolution)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def memory_kib(self, key: str) -> int:
        """VmRSS (now) or VmHWM (peak since start) in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)


@contextlib.contextmanager
def started(name: str, module: str, *args: str) -> Iterator[Server]:
    """Run `python -m module --port P args...` until the block ends; wait until it listens."""
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=root,
        stdout=subprocess.DEVNULL,
    )
    server = Server(name, port, process)
    try:
        _wait_listening(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(server: Server) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, server.port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not listen on {server.port} in {_START_TIMEOUT}s")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throw-away redis-server on a free loopback port (Debian's package: see the tests)."""
    import shutil
    import tempfile

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: apt-get install -y redis-server")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    args = [binary, "--bind", HOST, "--port", str(port), "--save", "", "--dir", folder]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        _wait_listening(Server("redis", port, process))
        yield f"redis://{HOST}:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def send_json(send: Send, body: object) -> None:
    """A 200 with `body` as JSON, straight to ASGI: the simulators' stats routes."""
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
