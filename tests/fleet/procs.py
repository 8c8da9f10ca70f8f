"""Real processes on 127.0.0.1 for the fleet tests: a simulator and gateway processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.redis_server import free_port

STARTUP_SECONDS = 30


class Process:
    def __init__(
        self, args: list[str], log: Path, port: int, ready_path: str, nice: int = 0
    ) -> None:
        self.port = port
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            args,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )
        self.ready_path = ready_path
        self.startup_seconds = 0.0

    def ready(self) -> Process:
        self._wait_ready(self.ready_path)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, path: str) -> None:
        started = time.monotonic()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"exited at start-up:\n{self.output()}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code < 500:
                    self.startup_seconds = time.monotonic() - started
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"not ready within {STARTUP_SECONDS}s:\n{self.output()}")

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_file.close()


def all_ready(*processes: Process) -> None:
    """Started together, waited for together: start-up is most of these tests' time."""
    for process in processes:
        process.ready()


def start_simulator(tmp: Path, limit: int = 100, provider: str = "trackly") -> Process:
    port = free_port()
    args = [sys.executable, "-m", "tests.fleet.simulators", "--provider", provider]
    args += ["--port", str(port), "--limit", str(limit)]
    return Process(args, tmp / f"sim-{port}.log", port, "/_audit")


def start_gateway(config: Path, *, workers: int = 1) -> Process:
    port = free_port()
    args = [
        sys.executable, "-m", "gateway.cli", "serve",
        "--config", str(config), "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    # The simulator stands for a provider on other machines: on this one it must not starve
    # behind the gateways, or its own arrival clock would bunch requests that were paced apart.
    return Process(args, config.parent / f"gateway-{port}.log", port, "/healthz", nice=5)
