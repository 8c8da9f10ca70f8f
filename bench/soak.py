"""`make soak`: the sandbox gateway under mixed traffic for a while, and what it did.

Starts `gateway serve` without a config (sandbox mode, as `make run` does) on a free loopback
port, then runs `--clients` concurrent clients (200) for `--seconds` (300), each sending
upserts one after another: valid and invalid ones (refused by the gateway, or by the
provider after its calls), across the three sandbox providers. Prints requests, HTTP statuses,
`__typename`s, the 429s the simulators answered (their GET /_sandbox/stats), latency
percentiles, and the gateway's RSS at the start, the middle and the end.

Goals: no 5xx, no 429 from the simulators (the gateway's pacing keeps every provider inside
its documented window; the simulators enforce it strictly), RSS growth in the second half under
5 %. Heymarket's sandbox budget is 500 requests a minute (two per upsert): most of its clients
wait in the pacer, and those whose turn is past their deadline get a typed RateLimitedError
(origin PACING) at once. Bounded: at most an hour, 1,000 clients, loopback only. Exit status 1
when a goal is missed.

    python -m bench.soak --seconds 300 --clients 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

HOST = "127.0.0.1"
PROVIDERS = ("TRACKLY", "HEYMARKET", "CAMPAIGNLARK")
POOL = 2_000  # contacts per provider: the simulators' state stops growing once all exist
UPSERT = """mutation Soak($provider: Provider!, $contact: ContactInput!) {
  upsertContact(provider: $provider, contact: $contact) {
    __typename
    ... on UpsertContactSuccess { created }
    ... on Error { code origin }
  }
}"""


def valid(provider: str, rng: random.Random) -> dict[str, Any]:
    n = rng.randrange(POOL)
    if provider == "TRACKLY":  # 555-2xxx: clear of the simulator's VOIP range
        return {"phone": f"+1415555{2000 + n:04d}", "customFields": {"plan": "gold", "n": n}}
    if provider == "HEYMARKET":
        return {
            "phone": f"+1510555{2000 + n:04d}",
            "firstName": "Soak",
            "customFields": {"plan": rng.choice(["gold", "silver"]), "score": n},
            "tags": [rng.choice(["vip", "lead", "customer"])],
        }
    return {
        "email": f"soak{n}@example.com",
        "customFields": {"lead_source": "soak", "plan": "gold"},
        "fieldMode": rng.choice(["MERGE", "MERGE", "REPLACE"]),
    }


def invalid(provider: str, rng: random.Random) -> dict[str, Any]:
    kind = rng.randrange(4)
    base = valid(provider, rng)
    if kind == 0:  # refused by the gateway, no call
        return {**base, "phone": "12345"} if provider != "CAMPAIGNLARK" else {**base, "email": "x@"}
    if kind == 1:  # a lone surrogate in a custom field: refused by the gateway, no call
        return {**base, "customFields": {"plan": "\ud800"}}
    if kind == 2:  # an unknown field: refused after the provider's catalogue is read
        return {**base, "customFields": {"no_such_field": "x"}}
    if provider == "TRACKLY":  # an unknown sending list: the provider refuses it
        return {**base, "listNumber": "+18005559999"}
    return {**base, "tags": ["no-such-tag"]}


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    typenames: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def record(self, provider: str, status: int, body: Any, seconds: float) -> None:
        self.statuses[status] += 1
        self.latencies.setdefault(provider, []).append(seconds)
        result = (body.get("data") or {}).get("upsertContact") if isinstance(body, dict) else None
        if result is None:
            self.typenames["(transport error)"] += 1
            return
        self.typenames[result["__typename"]] += 1
        if "code" in result:
            self.codes[f"{result['code']} ({result['origin']})"] += 1


async def client(
    session: aiohttp.ClientSession, url: str, until: float, tally: Tally, seed: int
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        provider = rng.choice(PROVIDERS)
        contact = valid(provider, rng) if rng.random() < 0.7 else invalid(provider, rng)
        payload = json.dumps(
            {"query": UPSERT, "variables": {"provider": provider, "contact": contact}}
        ).encode()  # json.dumps escapes a lone surrogate; the gateway refuses it
        started = time.monotonic()
        try:
            async with session.post(
                url, data=payload, headers={"content-type": "application/json"}
            ) as response:
                status, raw = response.status, await response.read()
        except aiohttp.ClientError as exc:
            tally.statuses[0] += 1
            tally.typenames[f"(client error: {type(exc).__name__})"] += 1
            continue
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        tally.record(provider, status, body, time.monotonic() - started)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def simulator_stats(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    stats = {}
    for provider in PROVIDERS:
        async with session.get(f"{base}/sandbox/{provider.lower()}/_sandbox/stats") as reply:
            stats[provider] = await reply.json()
    return stats


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    cut = (
        statistics.quantiles(ordered, n=100, method="inclusive")
        if len(ordered) > 1
        else ordered * 99
    )
    return (
        f"p50 {cut[49] * 1000:,.0f}  p90 {cut[89] * 1000:,.0f}  p99 {cut[98] * 1000:,.0f}  "
        f"max {ordered[-1] * 1000:,.0f} ms"
    )


async def soak(seconds: float, clients: int, log: Path) -> bool:
    port = free_port()
    base = f"http://{HOST}:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--host", HOST, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        connector = aiohttp.TCPConnector(limit=clients + 10)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await ready(session, base, server)
            rss = {"start": rss_mb(server.pid)}
            print(
                f"soak: gateway pid {server.pid} on {base} (sandbox), {clients} clients, "
                f"{seconds:g} s; log {log}",
                flush=True,
            )
            tally = Tally()
            started = time.monotonic()
            until = started + seconds
            tasks = [
                asyncio.create_task(client(session, base + "/graphql", until, tally, seed))
                for seed in range(clients)
            ]
            await asyncio.sleep(seconds / 2)
            rss["middle"] = rss_mb(server.pid)
            print(f"soak: half way, {sum(tally.statuses.values()):,} requests so far", flush=True)
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - started
            rss["end"] = rss_mb(server.pid)
            stats = await simulator_stats(session, base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return report(tally, stats, rss, elapsed, clients)


async def ready(session: aiohttp.ClientSession, base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("soak: the gateway exited at start-up; see its log")
        try:
            async with session.get(base + "/healthz") as reply:
                if reply.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("soak: the gateway did not answer /healthz within 60 s")


def report(
    tally: Tally, stats: dict[str, Any], rss: dict[str, float], elapsed: float, clients: int
) -> bool:
    total = sum(tally.statuses.values())
    print(f"\nrequests: {total:,} in {elapsed:.0f} s ({total / elapsed:,.0f}/s), {clients} clients")
    print("HTTP statuses: " + ", ".join(f"{s}: {n:,}" for s, n in sorted(tally.statuses.items())))
    print("__typename:")
    for name, count in tally.typenames.most_common():
        print(f"  {name:<28} {count:>9,}")
    print("error codes (origin):")
    for name, count in tally.codes.most_common():
        print(f"  {name:<40} {count:>9,}")
    print("simulators (requests, 429s answered):")
    for provider, figures in stats.items():
        print(f"  {provider:<13} {figures['requests']:>9,}  {figures['rejected_429']:>6,}")
    print("latency:")
    everything = [s for values in tally.latencies.values() for s in values]
    print(f"  {'all':<13} {percentiles(everything)}")
    for provider in PROVIDERS:
        print(f"  {provider:<13} {percentiles(tally.latencies.get(provider, []))}")
    growth = (rss["end"] - rss["middle"]) / rss["middle"] * 100
    print(
        f"RSS: start {rss['start']:.0f} MB, middle {rss['middle']:.0f} MB, end {rss['end']:.0f} MB"
        f" (second half {growth:+.1f} %)"
    )
    five_xx = sum(n for s, n in tally.statuses.items() if s >= 500)
    drawn = sum(figures["rejected_429"] for figures in stats.values())
    failed = tally.statuses.get(0, 0)
    goals = [
        (f"no 5xx: {five_xx}", five_xx == 0),
        (f"no client errors (connection refused, reset, timed out): {failed}", failed == 0),
        (f"no 429 from the simulators: {drawn}", drawn == 0),
        (f"RSS growth in the second half under 5 %: {growth:+.1f} %", growth < 5),
    ]
    print("goals:")
    for text, met in goals:
        print(f"  {text}: {'met' if met else 'MISSED'}")
    return all(met for _, met in goals)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0, help="how long (max 3600)")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients (max 1000)")
    parser.add_argument("--log", type=Path, help="the gateway's log (default: a temp file)")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 3_600 or not 1 <= args.clients <= 1_000:
        parser.error("--seconds 1..3600, --clients 1..1000")
    log = args.log or Path(tempfile.mkdtemp(prefix="soak-")) / "gateway.log"
    met = asyncio.run(soak(args.seconds, args.clients, log))
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
