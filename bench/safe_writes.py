"""What safe writes cost, in-process: the real app, a Trackly account answered at once.

    python -m bench.safe_writes --count 300 [--data-dir DIR]

Prints wall time per request (one at a time, so it is latency, CPU included) for: a plain
upsert; a dry run of it; an upsert with a new Idempotency-Key each time (claim, run, keep:
two SQLite transactions, fsynced); the replay of a kept key (one read, no provider call).
The SQLite file goes under --data-dir (default: a temporary directory), so put it on the disk
a deployment would use to see that disk's fsync cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import Config, GatewaySettings
from providers.model import ProviderName
from providers.trackly import TracklySettings

UPSERT = """mutation U($contact: ContactInput!, $dry: Boolean) {
  upsertContact(provider: TRACKLY, contact: $contact, validateOnly: $dry) {
    __typename ... on UpsertContactSuccess { created dryRun }
  }
}"""
ANSWER = {"success": True, "contact_id": "c1", "is_new_contact": True, "journeys_enrolled": 0}


async def measure(count: int, data_dir: str) -> dict[str, list[float]]:
    settings = TracklySettings(
        base_url="https://trackly.bench",
        api_key=SecretStr("k"),
        default_list_number="+18005551234",
    )
    config = Config(
        GatewaySettings(data_dir=data_dir, log_level="ERROR"), {ProviderName.TRACKLY: settings}
    )
    provider = httpx.MockTransport(lambda request: httpx.Response(200, json=ANSWER))
    app = create_app(config, transports={ProviderName.TRACKLY: provider})
    timings: dict[str, list[float]] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
    ):

        async def run(name: str, body: Callable[[int], bytes], key: Callable[[int], str]) -> None:
            for n in range(-20, count):  # 20 to warm up (plans, caches), not timed
                headers = {"content-type": "application/json"}
                if key(n):
                    headers["idempotency-key"] = key(n)
                started = time.perf_counter()
                response = await http.post("/graphql", content=body(n), headers=headers)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                if n >= 0:
                    timings.setdefault(name, []).append(elapsed)

        def upsert(dry: bool) -> Callable[[int], bytes]:
            def body(n: int) -> bytes:
                contact = {"phone": f"+1415555{n % 10_000:04d}"}
                return json.dumps(
                    {"query": UPSERT, "variables": {"contact": contact, "dry": dry}}
                ).encode()

            return body

        fixed = str(uuid.uuid4())
        await run("upsert, no key", upsert(False), lambda n: "")
        await run("dry run (validateOnly)", upsert(True), lambda n: "")
        await run("upsert, a new key each time", upsert(False), lambda n: str(uuid.uuid4()))
        await run("replay of a kept key", lambda n: upsert(False)(0), lambda n: fixed)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-safe-writes-") as temporary:
        timings = asyncio.run(measure(args.count, args.data_dir or temporary))
    print(f"{'request':<30} {'p50 ms':>8} {'p90 ms':>8} {'mean ms':>8}")
    for name, values in timings.items():
        ordered = sorted(values)
        p50 = ordered[len(ordered) // 2] * 1000
        p90 = ordered[int(len(ordered) * 0.9)] * 1000
        mean = statistics.fmean(values) * 1000
        print(f"{name:<30} {p50:>8.3f} {p90:>8.3f} {mean:>8.3f}")


if __name__ == "__main__":
    main()
