"""A real redis-server on a free loopback port, for the fleet tests.

Installed from Debian's packages when missing (CI is a fresh machine); a machine where it
cannot be installed fails these tests with the reason, never skips them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

_INSTALL_TIMEOUT = 600


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (["apt-get", "update"], ["apt-get", "install", "-y", "redis-server"])
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, env=env, timeout=_INSTALL_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"redis-server is missing and `{' '.join(step)}` could not run: {exc}")
        if done.returncode != 0:
            pytest.fail(
                f"redis-server is missing and `{' '.join(step)}` failed "
                f"(exit {done.returncode}): {done.stderr.strip()[-500:]}"
            )
    found = shutil.which("redis-server")
    if not found:
        pytest.fail("apt-get installed redis-server but no redis-server is on PATH")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """start() / stop() on the same port, so a test can take Redis away and bring it back."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-test-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--protected-mode", "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited at start (code {self.process.returncode})")
            if self._answers():
                return
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"redis-server did not answer on 127.0.0.1:{self.port} within 10s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def _answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False
