"""Drive HTTP load with wrk (C, event-driven): a Python load client would saturate first."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors:.*")


@dataclass(frozen=True)
class LoadResult:
    clients: int
    p50_ms: float
    p99_ms: float
    rps: float
    bad: int  # non-2xx answers + socket errors


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: run `make bench` (it installs Debian's wrk)")
    return path


def post(url: str, body: dict[str, object], clients: int, seconds: float) -> LoadResult:
    """POST `body` as JSON from `clients` keep-alive connections for `seconds`."""
    script = (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        lua = Path(folder) / "post.lua"
        lua.write_text(script)
        out = subprocess.run(
            [
                require_wrk(),
                "-t1",  # one load thread: the machine has two cores to share with the servers
                f"-c{clients}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                str(lua),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    percentiles = {int(p): float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(out)}
    rate = _RATE.search(out)
    if rate is None or 50 not in percentiles or 99 not in percentiles:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    bad = sum(int(n) for n in _NON_2XX.findall(out))
    errors = _ERRORS.search(out)
    if errors:
        bad += sum(int(n) for n in re.findall(r"\d+", errors.group(0)))
    return LoadResult(clients, percentiles[50], percentiles[99], float(rate.group(1)), bad)
