"""Where the gateway's CPU goes under load: py-spy samples the live server while wrk drives it.

    python -m bench.spy --clients 16 --seconds 8 [--set fast_path=false]

Prints each layer's share of the samples (by the innermost frame's package: self time), so
a target that cannot be met can be shown against the layers the gateway cannot do without.
The same loopback set-up as `make bench` section 1: the instant simulator, one gateway.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench import wrk
from bench.run import gateway, parse_settings, simulator
from bench.workload import upsert_body

# The innermost frame's file, grouped into the layers a request crosses.
ROOT = str(Path(__file__).resolve().parent.parent)
# The innermost frame's file (py-spy --full-filenames), grouped into the layers a request crosses.
LAYERS: list[tuple[str, str]] = [
    (r"/site-packages/(uvicorn|httptools)/", "uvicorn (HTTP server)"),
    (r"/site-packages/starlette/", "starlette (routing, middleware)"),
    (r"/site-packages/strawberry/", "strawberry"),
    (r"/site-packages/graphql/", "graphql-core"),
    (r"/site-packages/(httpx|httpx_aiohttp)/", "httpx (provider client API)"),
    (r"/site-packages/(aiohttp|multidict|yarl|propcache)/", "aiohttp (wire)"),
    (r"/site-packages/phonenumbers/", "phonenumbers"),
    (r"/site-packages/(prometheus_client|opentelemetry)/", "metrics, tracing"),
    (re.escape(ROOT) + r"/providers/", "gateway: providers/ (adapters, resilience)"),
    (re.escape(ROOT) + r"/gateway/", "gateway: gateway/ (service, schema, middleware)"),
    (r"/(asyncio|uvloop)/", "asyncio event loop"),
    (r"/json/", "json"),
    (r"/logging/", "logging"),
]


def layer_of(frame: str) -> str:
    for pattern, name in LAYERS:
        if re.search(pattern, frame):
            return name
    return "other (stdlib, interpreter)"


def shares(raw: str) -> list[tuple[str, float]]:
    """py-spy's raw (collapsed) output -> [(layer, share of samples)], largest first."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        counts[layer_of(stack.split(";")[-1])] += int(count)
    total = sum(counts.values()) or 1
    return [(name, n / total) for name, n in counts.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is missing: pip install py-spy (the bench extra has it)")
    wrk.require_wrk()
    body = upsert_body()
    with tempfile.TemporaryDirectory() as tmp, simulator() as sim:
        folder = Path(tmp)
        settings: dict[str, Any] = parse_settings(args.set)
        with gateway(sim, folder, **settings) as gw:
            wrk.post(gw.url + "/graphql", body, args.clients, 2.0)  # warm up
            out = folder / "spy.txt"
            command = [spy, "record", "-p", str(gw.process.pid), "-f", "raw", "-o", str(out)]
            command += ["-r", "500", "-d", f"{args.seconds:g}", "--nonblocking", "--full-filenames"]
            recorder = threading.Thread(
                target=subprocess.run,
                args=(command,),
                kwargs={"capture_output": True, "check": True},
            )
            recorder.start()
            cpu = gw.cpu_seconds()
            load = wrk.post(gw.url + "/graphql", body, args.clients, args.seconds)
            used = gw.cpu_seconds() - cpu
            recorder.join()
            raw = out.read_text()
    print(
        f"{args.clients} clients: {load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms, "
        f"gateway CPU {used / max(1.0, load.rps * args.seconds) * 1e6:,.0f} us/request"
    )
    for name, share in shares(raw):
        print(f"{share:6.1%}  {name}")


if __name__ == "__main__":
    main()
