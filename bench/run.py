"""`make bench`: every figure of the benchmark, measured side by side in one run.

1. Single upsert through the gateway next to the raw-bytes aiohttp proxy floor (wrk).
2. Bulk: the gateway's CPU per contact and peak RSS growth, next to posting the same contacts
   straight to the simulator's bulk endpoint.
3. A slow provider: (a) single upserts from 50 clients at 100 ms a request, (b) 100,000
   contacts in bulk at 50 ms a request.
4. Workers: single upserts through 1 worker without Redis, 1 worker with Redis, and 2 workers
   sharing Redis (every request reserving its slot in the shared budget).
5. A document's first call against its later ones, with and without a persisted operations
   manifest (whose documents are planned at start-up).
6. Heymarket imports at the real budget, in real time (about 13 minutes):
   bench/heymarket_import.py.
7. Import jobs (bench/imports.py): (a) Trackly, 100,000 contacts at 50 ms a bulk request,
   against the provider-bound ideal; (b) Heymarket and CampaignLark keeping their budgets busy
   over `--import-seconds` (default 300) each, in real time; (c) a 1,000,000-contact CSV: peak
   RSS growth and CPU per contact. About 13 minutes; `--import-seconds 30` for a quick run.
Every server is a child process on 127.0.0.1; every loop is bounded; nothing else is reached.
`--only N` runs one section.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import heymarket_import, imports, workload, wrk
from bench.report import table, verdict
from bench.servers import Server, redis_server, started

CLIENTS = (1, 16, 64, 200)
BULK_CHUNK = 1_000  # Trackly's MAX_ITEMS_PER_REQUEST
BULK_CONCURRENCY = 4  # the gateway's default bulk_concurrency


@contextmanager
def simulator(delay_ms: float = 0.0) -> Iterator[Server]:
    with started("simulator", "bench.simulator", "--delay-ms", str(delay_ms)) as server:
        yield server


@contextmanager
def gateway(
    sim: Server, folder: Path, *, workers: int = 1, provider: str = "", **settings: object
) -> Iterator[Server]:
    """`provider`: extra TOML lines for Trackly's section (it is the config's last)."""
    config = folder / f"gateway-{sim.port}-{workers}-{len(settings)}.toml"
    config.write_text(workload.gateway_config(sim.url, **{**EXTRA, **settings}) + provider)
    args = ("--config", str(config), "--workers", str(workers))
    with started("gateway", "bench.gateway_server", *args) as server:
        yield server


# Extra [gateway] keys for every gateway the run starts (`--set fast_path=false`, ...).
EXTRA: dict[str, object] = {}


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """KEY=VALUE pairs, the value read as JSON when it is JSON (true, 4, "x") else text."""
    settings: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            settings[key] = json.loads(value)
        except ValueError:
            settings[key] = value
    return settings


def single_upsert(folder: Path, seconds: float) -> tuple[str, list[str]]:
    body = workload.upsert_body()
    rows: list[list[object]] = []
    results: dict[tuple[str, int], wrk.LoadResult] = {}
    cpu_us: dict[tuple[str, int], float] = {}  # server CPU per request, whatever the contention
    with (
        simulator() as sim,
        started("floor", "bench.floor", "--upstream", f"{sim.url}/v2/contacts") as floor,
        gateway(sim, folder) as gw,
    ):
        answer = workload.post_json(f"{gw.url}/graphql", _json(body))
        assert answer["data"]["upsertContact"]["__typename"] == "UpsertContactSuccess", answer
        for url in (floor.url + "/", gw.url + "/graphql"):
            wrk.post(url, body, 16, min(seconds, 2.0))  # warm up: connections, caches
        servers = {"floor": floor, "gateway": gw}
        for clients in CLIENTS:
            for name, url in (("floor", floor.url + "/"), ("gateway", gw.url + "/graphql")):
                cpu = servers[name].cpu_seconds()
                results[name, clients] = result = wrk.post(url, body, clients, seconds)
                used = servers[name].cpu_seconds() - cpu
                cpu_us[name, clients] = used / max(1.0, result.rps * seconds) * 1e6
    for clients in CLIENTS:
        f, g = results["floor", clients], results["gateway", clients]
        rows.append(
            [
                clients,
                f.p50_ms,
                g.p50_ms,
                f.p99_ms,
                g.p99_ms,
                f.rps,
                g.rps,
                g.rps / f.rps,
                cpu_us["floor", clients],
                cpu_us["gateway", clients],
                f.bad + g.bad,
            ]
        )
    f1, g1 = results["floor", 1], results["gateway", 1]
    g16, g200 = results["gateway", 16], results["gateway", 200]
    f16 = results["floor", 16]
    f64, g64, f200 = results["floor", 64], results["gateway", 64], results["floor", 200]
    checks = [
        f"1 client: gateway p50 {g1.p50_ms:.2f} ms <= floor {f1.p50_ms:.2f} + 0.5 ms: "
        + verdict(g1.p50_ms <= f1.p50_ms + 0.5),
        f"64 clients: gateway {g64.rps:,.0f} req/s >= 0.5 x floor {f64.rps:,.0f}: "
        + verdict(g64.rps >= 0.5 * f64.rps),
        f"no collapse: gateway at 200 {g200.rps:,.0f} req/s >= at 16 {g16.rps:,.0f}: "
        + verdict(g200.rps >= g16.rps)
        + f" (the floor itself: {f200.rps:,.0f} at 200 vs {f16.rps:,.0f} at 16; "
        f"gateway {g200.rps / g16.rps:.2f}x, floor {f200.rps / f16.rps:.2f}x)",
        f"no collapse: gateway p99 at 200 {g200.p99_ms:.1f} ms <= 3 x floor {f200.p99_ms:.1f}: "
        + verdict(g200.p99_ms <= 3 * f200.p99_ms),
    ]
    header = [
        "clients",
        "floor p50 ms",
        "gw p50 ms",
        "floor p99 ms",
        "gw p99 ms",
        "floor req/s",
        "gw req/s",
        "gw/floor",
        "floor CPU us/req",
        "gw CPU us/req",
        "errors",
    ]
    return table("1. Single upsert: gateway vs raw aiohttp proxy floor", header, rows), checks


def bulk_cpu(folder: Path, repeats_1k: int, repeats_10k: int) -> tuple[str, list[str]]:
    rows: list[list[object]] = []
    checks: list[str] = []
    with simulator() as sim:
        # Peak RSS growth: a fresh gateway, warmed with a small bulk, then one of 10,000.
        with gateway(sim, folder) as gw:
            _bulk(gw, 10, 90_000)
            before = gw.memory_kib("VmRSS")
            _bulk(gw, 10_000, 0)
            growth_mb = (gw.memory_kib("VmHWM") - before) / 1024
        with gateway(sim, folder) as gw:
            _bulk(gw, 10, 90_000)
            start = 10_000
            for count, repeats in ((1_000, repeats_1k), (10_000, repeats_10k)):
                per_contact: list[float] = []
                for _ in range(repeats):
                    cpu = gw.cpu_seconds()
                    _bulk(gw, count, start)
                    per_contact.append((gw.cpu_seconds() - cpu) / count * 1e6)
                    start += count
                direct = _direct(sim, count, repeats)
                gw_us = statistics.median(per_contact)
                rows.append([count, gw_us, direct, gw_us / direct, repeats])
                checks.append(
                    f"{count:,} contacts: gateway {gw_us:.1f} us/contact <= 15: "
                    + verdict(gw_us <= 15)
                )
    checks.append(
        f"10,000 contacts: peak RSS growth {growth_mb:.1f} MB <= 60: " + verdict(growth_mb <= 60)
    )
    header = ["contacts", "gw CPU us/contact", "direct us/contact", "gw/direct", "runs"]
    return table(
        "2. Bulk: gateway CPU per contact vs posting straight to the simulator", header, rows
    ), checks


def slow_provider(folder: Path, seconds: float, bulk_total: int) -> tuple[str, list[str]]:
    rows: list[list[object]] = []
    checks: list[str] = []
    with (
        simulator(delay_ms=100) as sim,
        gateway(sim, folder) as gw,
        started("floor", "bench.floor", "--upstream", f"{sim.url}/v2/contacts") as floor,
    ):
        body = workload.upsert_body()
        ideal = 50 / 0.1
        loads: dict[str, wrk.LoadResult] = {}
        # The floor under the same load: what two hops alone leave of the ideal.
        for name, server, url in (("floor", floor, floor.url + "/"), ("gateway", gw, "")):
            url = url or gw.url + "/graphql"
            wrk.post(url, body, 50, 1.0)
            cpu = server.cpu_seconds()
            load = loads[name] = wrk.post(url, body, 50, seconds)
            busy = (server.cpu_seconds() - cpu) / seconds
            rows.append(
                [
                    f"(a) 50 clients, 100 ms upserts: {name}",
                    f"{ideal:,.0f} req/s",
                    f"{load.rps:,.0f} req/s",
                    load.rps / ideal,
                    f"{busy:.0%}",
                ]
            )
        rate = loads["gateway"].rps
        checks.append(
            f"(a) {rate:,.0f} req/s >= 0.9 x {ideal:,.0f}: "
            + verdict(rate >= 0.9 * ideal)
            + f" (the floor itself: {loads['floor'].rps:,.0f} req/s)"
        )
    with (
        simulator(delay_ms=50) as sim,
        gateway(sim, folder, max_bulk_contacts=bulk_total, bulk_concurrency=BULK_CONCURRENCY) as gw,
    ):
        _bulk(gw, 10, 0)
        payload = workload.bulk_body(bulk_total)
        began, cpu = time.perf_counter(), gw.cpu_seconds()
        answer = workload.post_json(f"{gw.url}/graphql", payload)
        wall = time.perf_counter() - began
        busy = (gw.cpu_seconds() - cpu) / wall
        result = answer["data"]["bulkUpsertContacts"]
        assert result.get("successCount") == bulk_total, str(result)[:300]
        ideal = math.ceil(bulk_total / BULK_CHUNK) / BULK_CONCURRENCY * 0.05
        rows.append(
            [
                f"(b) {bulk_total:,} contacts, 50 ms chunks",
                f"{ideal:.2f} s",
                f"{wall:.2f} s",
                wall / ideal,
                f"{busy:.0%}",
            ]
        )
        checks.append(f"(b) {wall:.2f} s <= 1.15 x {ideal:.2f} s: " + verdict(wall <= 1.15 * ideal))
    header = ["case", "provider-bound ideal", "measured", "ratio", "server CPU busy"]
    return table("3. Against a slow provider", header, rows), checks


# Paced, so that every request asks Redis for a slot; far above what the machine can send.
PACED = 'rate_limit = "100000/second"\n'


def workers(folder: Path, seconds: float) -> tuple[str, list[str]]:
    body = workload.upsert_body()
    rows: list[list[object]] = []
    results: dict[tuple[str, int], wrk.LoadResult] = {}
    with simulator() as sim, redis_server() as redis:
        shared = {"redis_url": redis, "provider": PACED}
        setups: list[tuple[str, dict[str, Any]]] = [
            ("1 worker, no Redis", {"provider": PACED}),
            ("1 worker, Redis", shared),
            ("2 workers, Redis", {**shared, "workers": 2}),
        ]
        for name, settings in setups:
            with gateway(sim, folder, **settings) as gw:
                wrk.post(gw.url + "/graphql", body, 16, min(seconds, 2.0))  # warm up
                for clients in (16, 64):
                    results[name, clients] = load = wrk.post(
                        gw.url + "/graphql", body, clients, seconds
                    )
                    rows.append([name, clients, load.p50_ms, load.p99_ms, load.rps, load.bad])
    one, two = results["1 worker, Redis", 64], results["2 workers, Redis", 64]
    local = results["1 worker, no Redis", 64]
    checks = [
        f"64 clients: 2 workers {two.rps:,.0f} req/s vs 1 worker {one.rps:,.0f} (2 cores, "
        "shared with the simulator and wrk)",
        f"64 clients: Redis costs {1 - one.rps / local.rps:.0%} of one worker's throughput",
    ]
    header = ["gateway", "clients", "p50 ms", "p99 ms", "req/s", "errors"]
    return table("4. Workers: 1 vs 2, sharing budgets through Redis", header, rows), checks


def _bulk(gw: Server, count: int, start: int) -> None:
    answer = workload.post_json(f"{gw.url}/graphql", workload.bulk_body(count, start))
    result = answer["data"]["bulkUpsertContacts"]
    if result.get("successCount") != count:
        raise RuntimeError(f"bulk of {count} did not fully succeed: {str(result)[:300]}")


def _direct(sim: Server, count: int, repeats: int) -> float:
    """CPU per contact of encoding the same contacts and posting them straight to the simulator."""
    samples = []
    for n in range(repeats):
        cpu = time.process_time()
        for chunk in workload.wire_chunks(count, start=n * count, size=BULK_CHUNK):
            workload.post_json(f"{sim.url}/v2/contacts/bulk", chunk)
        samples.append((time.process_time() - cpu) / count * 1e6)
    return statistics.median(samples)


def persisted_first_call(
    folder: Path, documents: int = 20, later: int = 5
) -> tuple[str, list[str]]:
    """Each document's first call against its later ones (latency on loopback, one request at
    a time, medians over `documents` distinct upsert documents, after another document warmed
    the process): without a manifest the first call is parsed, validated, run by strawberry,
    then planned; with the documents in a persisted operations manifest they are planned at
    start-up."""
    texts = [
        workload.UPSERT.replace("upsertContact(", f"saved{n}: upsertContact(")
        for n in range(documents)
    ]
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({hashlib.sha256(q.encode()).hexdigest(): q for q in texts}))
    rows: list[list[object]] = []
    ratios: dict[str, float] = {}
    calls = 0
    with simulator() as sim:
        setups: list[tuple[str, dict[str, Any]]] = [
            ("no manifest", {}),
            ("manifest", {"persisted_operations": str(manifest)}),
        ]
        for label, settings in setups:
            with gateway(sim, folder, **settings) as gw:
                url = f"{gw.url}/graphql"

                def call(query: str, url: str = url) -> float:
                    nonlocal calls
                    calls += 1
                    body = workload.upsert_body()
                    body["query"] = query
                    body["variables"]["contact"]["phone"] = f"(415) 555-{calls % 10_000:04d}"
                    before = time.perf_counter()
                    answer = workload.post_json(url, _json(body))
                    spent = (time.perf_counter() - before) * 1e3
                    assert "errors" not in answer, answer
                    return spent

                # The process' own first-use costs (connections to the provider, lazy imports,
                # caches) are paid by another document, so the figures are each document's own.
                call(workload.UPSERT)
                firsts, afterwards = [], []
                for query in texts:
                    firsts.append(call(query))
                    afterwards += [call(query) for _ in range(later)]
                first, rest = statistics.median(firsts), statistics.median(afterwards)
                ratios[label] = first / rest
                rows.append([label, f"{first:.2f}", f"{rest:.2f}", f"{first / rest:.2f}"])
    text = table(
        "5. A document's first call: planned on first use, or at start-up from a manifest",
        ["gateway", "first call ms (median)", "later calls ms (median)", "ratio"],
        rows,
    )
    checks = [
        f"manifest: first call {ratios['manifest']:.2f}x the later ones (no manifest: "
        f"{ratios['no manifest']:.2f}x): " + verdict(ratios["manifest"] <= 1.25)
    ]
    return text, checks


def _json(body: object) -> bytes:
    return json.dumps(body).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run")
    parser.add_argument("--bulk-total", type=int, default=100_000)
    parser.add_argument(
        "--only", choices=["1", "2", "3", "4", "5", "6", "7"], help="run one section"
    )
    parser.add_argument(
        "--import-seconds",
        type=float,
        default=300.0,
        help="7 (b): how long each budget-bound import is measured, in real time",
    )
    parser.add_argument(
        "--import-contacts", type=int, default=1_000_000, help="7 (c): the big CSV's contacts"
    )
    parser.add_argument(
        "--import-case",
        choices=["a", "b", "c"],
        action="append",
        help="7: run only this case (repeatable; default: all three)",
    )
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a [gateway] key"
    )
    args = parser.parse_args()
    EXTRA.update(parse_settings(args.set))
    if args.only in (None, "1", "3", "4"):  # the sections that drive load with wrk
        wrk.require_wrk()
    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sections: dict[str, Callable[[], tuple[str, list[str]]]] = {
            "1": lambda: single_upsert(folder, args.seconds),
            "2": lambda: bulk_cpu(folder, repeats_1k=9, repeats_10k=3),
            "3": lambda: slow_provider(folder, args.seconds, args.bulk_total),
            "4": lambda: workers(folder, args.seconds),
            "5": lambda: persisted_first_call(folder),
            "6": lambda: heymarket_import.section(folder),
            "7": lambda: imports.section(
                folder,
                args.import_seconds,
                args.import_contacts,
                EXTRA,
                cases=frozenset(args.import_case or "abc"),
            ),
        }
        for key, section in sections.items():
            if args.only and key != args.only:
                continue
            text, checks = section()
            block = text + "\n" + "\n".join(f"- {c}" for c in checks) + "\n"
            print(block, flush=True)
            out.append(block)
    out.append(_machine())
    print(out[-1])
    if args.markdown:
        Path(args.markdown).write_text("\n".join(out) + "\n")


def _machine() -> str:
    import os
    import platform

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
