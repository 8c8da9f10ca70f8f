"""Real processes on 127.0.0.1 for the fleet tests: a simulator and gateway processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


# The sandbox accounts of the providers, as a real gateway process is configured to reach a
# simulator process (`start_simulator`) over loopback.
def trackly_account(sim: Process, **settings: Any) -> dict[str, Any]:
    from providers.trackly.sandbox import SANDBOX_API_KEY

    return {
        "base_url": sim.url,
        "api_key": SANDBOX_API_KEY,
        "default_list_number": "+18005551234",
        **settings,
    }


def heymarket_account(sim: Process, **settings: Any) -> dict[str, Any]:
    from providers.heymarket.sandbox import SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY

    account = {"base_url": sim.url, "secret_id": SANDBOX_SECRET_ID}
    return {**account, "secret_key": SANDBOX_SECRET_KEY, **settings}


def campaignlark_account(sim: Process, **settings: Any) -> dict[str, Any]:
    from providers.campaignlark.sandbox import SANDBOX_API_KEY

    return {"base_url": sim.url, "api_key": SANDBOX_API_KEY, **settings}


def write_config(
    tmp: Path,
    providers: Mapping[str, Mapping[str, Any]],
    *,
    name: str | None = None,
    **gateway: Any,
) -> Path:
    """A gateway config file in `tmp`: [gateway] (its state under `tmp` unless a data_dir is
    given) and a [providers.<name>] table each. Values are written as JSON, which TOML reads
    the same for strings, numbers and booleans."""
    settings = {"data_dir": str(tmp / "data"), **gateway}
    lines = ["[gateway]", *(f"{key} = {json.dumps(v)}" for key, v in settings.items())]
    for provider, table in providers.items():
        lines.append(f"[providers.{provider}]")
        lines += [f"{key} = {json.dumps(v)}" for key, v in table.items()]
    path = tmp / f"{name or 'gateway-' + uuid.uuid4().hex[:6]}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
