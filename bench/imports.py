"""`make bench` section 7: contact imports (startContactImport, a CSV uploaded through the
GraphQL multipart request spec, run by the gateway's import worker), against simulators on
loopback, each a child process (bench.servers), the gateway too (bench.gateway_server):

(a) Trackly, 100,000 contacts, the simulator (bench.simulator) answering each bulk request after
    50 ms. The provider-bound ideal, from the notes (trackly.md: at most 1,000 contacts a bulk
    request, no rate limit, parallel bulk calls fine) and the gateway's `bulk_concurrency` C
    (default 4): ceil(100,000 / 1,000) requests, C at a time, 50 ms each, nothing else:
    ceil(100 / C) x 50 ms = 1.25 s. Measured: the job's own createdAt -> finishedAt (the upload
    is done by then; the file is read, stored, judged and sent inside it), next to the same
    contacts as one synchronous bulkUpsertContacts. The job is watched as `gateway import`
    watches one: `contactImport` every POLL_SECONDS (0.5 s; each poll is a GraphQL request
    the gateway serves in the middle of the import).
(b) Heymarket and CampaignLark at their documented budgets, in real time: a simulator enforcing
    the budget strictly (bench.budget_sim: 500 requests a minute, 100 a second; 429 past it)
    logs when it served each request; an import bigger than `--import-seconds` (default 300) can
    finish runs that long from its first request, then is cancelled. Figures: requests served
    against the configured budget (`rate_limit`) over the whole span and per provider window,
    and the 429s of the whole run.
(c) 1,000,000 contacts in a CSV (written to a temp dir), Trackly answering at once: the gateway's
    RSS read from /proc every 50 ms during the upload and the job, its peak growth over the
    RSS before; the gateway's CPU (from /proc) per contact, upload included.

    .venv/bin/python -m bench.run --only 7 [--import-seconds 30] [--import-case a ...]
"""

from __future__ import annotations

import csv
import json
import math
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import workload
from bench.report import table, verdict
from bench.servers import Server, started
from gateway.client.graphql import Endpoint, GraphQLClient
from gateway.client.imports import GET, POLL_SECONDS, START
from gateway.config import GatewaySettings
from providers.campaignlark.sandbox import SANDBOX_API_KEY, SANDBOX_PHONE_MERGE_TAG
from providers.heymarket.sandbox import SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY
from providers.resilience.pacing import WINDOW_MARGIN

TRACKLY_CONTACTS = 100_000
TRACKLY_PER_REQUEST = 1_000  # trackly.md: at most 1,000 items a bulk request
TRACKLY_DELAY = 0.05
BULK_CONCURRENCY = 4  # the gateway's default `bulk_concurrency`
BIG_IMPORT = 1_000_000
RSS_SAMPLE_SECONDS = 0.05
TARGET_RATIO = 1.15
TARGET_BUSY = 0.95
TARGET_RSS_MB = 150.0


@dataclass(frozen=True)
class Budget:
    """A provider's documented budget, as the simulator enforces it and the gateway is set."""

    provider: str
    requests: int
    period: float  # seconds
    rate_limit: str  # the gateway's `rate_limit` (its default: the same budget)


BUDGETS = (
    Budget("heymarket", 500, 60.0, "500/minute"),
    Budget("campaignlark", 100, 1.0, "100/second"),
)

CANCEL = """mutation Cancel($id: ID!) {
  cancelContactImport(id: $id) { __typename ... on Error { code message } }
}"""


# -- the inputs ------------------------------------------------------------------------------


def trackly_csv(path: Path, count: int) -> Path:
    """`count` distinct US numbers as people type them, with two custom fields."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["phone", "plan", "visits"])
        for n in range(count):
            out.writerow([f"(415) {200 + n // 10_000:03d}-{n % 10_000:04d}", "gold", n % 7])
    return path


def heymarket_csv(path: Path, count: int) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["phone", "firstName", "lastName", "plan"])
        for n in range(count):
            out.writerow([f"+1415{3_000_000 + n:07d}", "Bench", f"Contact{n}", "import"])
    return path


def campaignlark_csv(path: Path, count: int) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "firstName", "lastName", "lead_source", "plan"])
        for n in range(count):
            out.writerow([f"bench{n}@example.com", "Bench", f"Contact{n}", "import", "gold"])
    return path


# -- the servers -----------------------------------------------------------------------------


def provider_section(provider: str, url: str) -> str:
    if provider == "trackly":
        return workload.gateway_config(url).split("\n", 2)[2]  # its provider table only
    if provider == "heymarket":
        return (
            "[providers.heymarket]\n"
            f'base_url = "{url}"\n'
            f'secret_id = "{SANDBOX_SECRET_ID}"\n'
            f'secret_key = "{SANDBOX_SECRET_KEY}"\n'
        )
    return (
        "[providers.campaignlark]\n"
        f'base_url = "{url}"\n'
        f'api_key = "{SANDBOX_API_KEY}"\n'
        f'phone_merge_tag = "{SANDBOX_PHONE_MERGE_TAG}"\n'
    )


@contextmanager
def gateway(folder: Path, provider: str, sim: Server, extra: dict[str, object]) -> Iterator[Server]:
    data = folder / f"data-{provider}-{sim.port}"
    settings = {"data_dir": str(data), **extra}
    lines = ["[gateway]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    config = folder / f"imports-{provider}-{sim.port}.toml"
    config.write_text("\n".join(lines) + "\n\n" + provider_section(provider, sim.url))
    with started("gateway", "bench.gateway_server", "--config", str(config)) as server:
        yield server


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.loads(answer.read())


# -- running an import -----------------------------------------------------------------------


def start(client: GraphQLClient, provider: str, path: Path) -> dict[str, Any]:
    variables = {"provider": provider.upper(), "format": "CSV"}
    data = client.upload(START, variables, "file", path, "text/csv")
    answer: dict[str, Any] = data["startContactImport"]
    if answer["__typename"] != "ContactImportStarted":
        raise RuntimeError(f"startContactImport: {answer}")
    return answer["contactImport"]  # type: ignore[no-any-return]


def job(client: GraphQLClient, job_id: str) -> dict[str, Any]:
    return client.execute(GET, {"id": job_id})["contactImport"]  # type: ignore[no-any-return]


def wait(client: GraphQLClient, job_id: str, poll: float, limit: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = job(client, job_id)
        if found["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return found
        time.sleep(poll)
    raise RuntimeError(f"import {job_id} not finished after {limit:.0f} s")


def seconds(job: dict[str, Any], begin: str = "createdAt", end: str = "finishedAt") -> float:
    return (_moment(job[end]) - _moment(job[begin])).total_seconds()


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def client_for(gw: Server) -> GraphQLClient:
    return GraphQLClient(Endpoint.from_args(gw.url, None), timeout=120.0)


def warm_up(client: GraphQLClient, provider: str, path: Path) -> None:
    """A small import first: the process' first-use costs (connections, catalogues, lazy
    imports) are not the figures'."""
    warm = wait(client, start(client, provider, path)["id"], 0.1, 120)
    if warm["status"] != "SUCCEEDED" or warm["failed"]:
        raise RuntimeError(f"warm-up import: {warm}")


# -- (a) Trackly, 100,000 contacts against a 50 ms provider ----------------------------------


def trackly_import(folder: Path, extra: dict[str, object]) -> tuple[list[list[object]], list[str]]:
    concurrency = int(str(extra.get("bulk_concurrency", BULK_CONCURRENCY)))
    requests = math.ceil(TRACKLY_CONTACTS / TRACKLY_PER_REQUEST)
    ideal = math.ceil(requests / concurrency) * TRACKLY_DELAY
    source = trackly_csv(folder / "trackly-100k.csv", TRACKLY_CONTACTS)
    small = trackly_csv(folder / "trackly-warm.csv", 100)
    settings = {"bulk_concurrency": concurrency, "max_bulk_contacts": TRACKLY_CONTACTS, **extra}
    rows: list[list[object]] = []
    with (
        started("simulator", "bench.simulator", "--delay-ms", str(TRACKLY_DELAY * 1e3)) as sim,
        gateway(folder, "trackly", sim, settings) as gw,
        client_for(gw) as client,
    ):
        warm_up(client, "trackly", small)
        before = get_json(f"{sim.url}/_bench/stats")
        cpu = gw.cpu_seconds()
        began = time.perf_counter()
        started_job = start(client, "trackly", source)
        uploaded = time.perf_counter() - began
        done = wait(client, started_job["id"], POLL_SECONDS, 600)
        wall = time.perf_counter() - began
        busy = (gw.cpu_seconds() - cpu) / wall
        after = get_json(f"{sim.url}/_bench/stats")
        if done["status"] != "SUCCEEDED" or done["succeeded"] != TRACKLY_CONTACTS:
            raise RuntimeError(f"Trackly import: {done}")
        job_s = seconds(done)
        sent = after["requests"] - before["requests"]
        rows.append(
            [
                f"(a) import, {TRACKLY_CONTACTS:,} contacts (CSV upload)",
                f"{ideal:.2f} s",
                f"{job_s:.2f} s",
                job_s / ideal,
                f"upload {uploaded:.2f} s, {sent} requests, at most {after['max_in_flight']} "
                f"at once, gateway CPU {busy:.0%}",
            ]
        )
        # The same contacts, one synchronous bulkUpsertContacts: today's way, side by side.
        began = time.perf_counter()
        answer = workload.post_json(f"{gw.url}/graphql", workload.bulk_body(TRACKLY_CONTACTS))
        bulk_wall = time.perf_counter() - began
        if answer["data"]["bulkUpsertContacts"].get("successCount") != TRACKLY_CONTACTS:
            raise RuntimeError(f"bulk: {str(answer)[:300]}")
        rows.append(
            [
                f"(a) bulkUpsertContacts, {TRACKLY_CONTACTS:,} contacts (one request)",
                f"{ideal:.2f} s",
                f"{bulk_wall:.2f} s",
                bulk_wall / ideal,
                "synchronous, for comparison",
            ]
        )
    checks = [
        f"(a) ideal = ceil({TRACKLY_CONTACTS:,} / {TRACKLY_PER_REQUEST:,}) = {requests} bulk "
        f"requests, {concurrency} at a time (bulk_concurrency), {TRACKLY_DELAY * 1e3:.0f} ms "
        f"each: ceil({requests} / {concurrency}) x {TRACKLY_DELAY:.2f} s = {ideal:.2f} s",
        f"(a) import job {job_s:.2f} s <= {TARGET_RATIO} x {ideal:.2f} s "
        f"({job_s / ideal:.2f}x; synchronous bulk {bulk_wall / ideal:.2f}x): "
        + verdict(job_s <= TARGET_RATIO * ideal),
    ]
    return rows, checks


# -- (b) Heymarket and CampaignLark at their budgets, in real time ---------------------------


def pacing_ceiling(budget: Budget, extra: dict[str, object]) -> float:
    """The share of the budget the gateway's own pacing lets go at most, one process without
    Redis (providers/resilience/pacing.py): the budget spread over its period stretched by
    WINDOW_MARGIN and `pacing_margin_seconds`, against jitter in transit."""
    default = GatewaySettings.model_fields["pacing_margin_seconds"].default
    margin = float(str(extra.get("pacing_margin_seconds", default)))
    return budget.period / (budget.period * WINDOW_MARGIN + margin)


def budget_import(
    folder: Path, budget: Budget, duration: float, extra: dict[str, object]
) -> tuple[list[object], list[str]]:
    # More contacts than the span can take: every contact costs at least one request.
    count = math.ceil(budget.requests / budget.period * duration * 1.5) + 1_000
    write = heymarket_csv if budget.provider == "heymarket" else campaignlark_csv
    source = write(folder / f"{budget.provider}-{count}.csv", count)
    name = budget.provider
    with (
        started(f"{name} simulator", "bench.budget_sim", "--provider", name) as sim,
        gateway(folder, name, sim, extra) as gw,
        client_for(gw) as client,
    ):
        began = get_json(f"{sim.url}/_bench/log")["now"]
        started_job = start(client, name, source)
        # The span starts at the import's first request (the catalogue's, if it needs one).
        first: float | None = None
        while first is None:
            time.sleep(0.2)
            served = get_json(f"{sim.url}/_bench/log")["served"]
            first = next((t for t in served if t >= began), None)
        while True:
            log = get_json(f"{sim.url}/_bench/log")
            current = job(client, started_job["id"])
            if log["now"] >= first + duration or current["status"] != "RUNNING":
                break
            time.sleep(min(2.0, max(0.05, first + duration - log["now"])))
        client.execute(CANCEL, {"id": started_job["id"]})
        ended = job(client, started_job["id"])
        log = get_json(f"{sim.url}/_bench/log")
    end = min(first + duration, log["now"])
    span = end - first
    served = [t for t in log["served"] if first <= t < end]
    capacity = budget.requests * span / budget.period
    windows = [
        sum(1 for t in served if first + w * budget.period <= t < first + (w + 1) * budget.period)
        / budget.requests
        for w in range(int(span // budget.period))
    ]
    busy = len(served) / capacity
    ceiling = pacing_ceiling(budget, extra)
    refused = len(log["refused"])
    row: list[object] = [
        f"(b) {name}, {budget.rate_limit}",
        f"{span:.0f} s",
        len(served),
        f"{capacity:,.0f}",
        f"{busy:.1%}",
        f"{ceiling:.1%}",
        f"{min(windows):.1%} / {sorted(windows)[len(windows) // 2]:.1%} / {max(windows):.1%}"
        if windows
        else "-",
        refused,
        f"{ended['processed']:,} ({ended['failed']} failed)",
    ]
    checks = [
        f"(b) {name}: {busy:.1%} of the configured budget ({budget.rate_limit}) busy over "
        f"{span:.0f} s >= {TARGET_BUSY:.0%}, and {refused} 429s == 0: "
        + verdict(busy >= TARGET_BUSY and refused == 0 and span >= duration - 1)
        + ("" if span >= duration - 1 else f" (the import ended after {span:.0f} s)")
        + f"; the gateway's pacing lets go at most {ceiling:.1%} of it, so the import keeps "
        f"{busy / ceiling:.1%} of what pacing allows busy"
    ]
    return row, checks


# -- (c) 1,000,000 contacts: memory and CPU --------------------------------------------------


class RssSampler:
    """The gateway's VmRSS from /proc every RSS_SAMPLE_SECONDS, on a thread, until stopped."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak_kib = server.memory_kib("VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            self.peak_kib = max(self.peak_kib, self.server.memory_kib("VmRSS"))


def big_import(
    folder: Path, count: int, extra: dict[str, object]
) -> tuple[list[list[object]], list[str]]:
    source = trackly_csv(folder / "trackly-big.csv", count)
    small = trackly_csv(folder / "trackly-warm.csv", 100)
    size_mb = source.stat().st_size / 1e6
    with (
        started("simulator", "bench.simulator") as sim,
        gateway(folder, "trackly", sim, extra) as gw,
        client_for(gw) as client,
    ):
        warm_up(client, "trackly", small)
        before_kib = gw.memory_kib("VmRSS")
        cpu = gw.cpu_seconds()
        began = time.perf_counter()
        with RssSampler(gw) as rss:
            started_job = start(client, "trackly", source)
            uploaded = time.perf_counter() - began
            done = wait(client, started_job["id"], 1.0, 3_600)
        wall = time.perf_counter() - began
        used = gw.cpu_seconds() - cpu
        hwm_kib = gw.memory_kib("VmHWM")
    source.unlink()
    if done["status"] != "SUCCEEDED" or done["processed"] != count:
        raise RuntimeError(f"1,000,000-contact import: {done}")
    growth_mb = (max(rss.peak_kib, hwm_kib) - before_kib) / 1024
    us = used / count * 1e6
    rows: list[list[object]] = [
        [
            f"(c) import, {count:,} contacts (CSV, {size_mb:.0f} MB)",
            f"{before_kib / 1024:.0f} MB",
            f"{growth_mb:.1f} MB",
            us,
            f"{wall:.1f} s (upload {uploaded:.1f} s)",
            f"{count / wall:,.0f}",
            f"{done['succeeded']:,} ok, {done['failed']:,} failed",
        ]
    ]
    checks = [
        f"(c) peak RSS growth {growth_mb:.1f} MB <= {TARGET_RSS_MB:.0f}: "
        + verdict(growth_mb <= TARGET_RSS_MB),
        f"(c) gateway CPU {us:.1f} us/contact ({used:.1f} s for {count:,}, upload included)",
    ]
    return rows, checks


# -- the section -----------------------------------------------------------------------------


def section(
    folder: Path,
    import_seconds: float,
    big: int,
    extra: dict[str, object],
    cases: frozenset[str] = frozenset("abc"),
) -> tuple[str, list[str]]:
    """The cases asked for (`--import-case a`: (a) alone, in about half a minute)."""
    checks: list[str] = []
    tables: list[str] = []
    if "a" in cases:
        a_rows, a_checks = trackly_import(folder, extra)
        checks += a_checks
        tables.append(
            table(
                "7. Imports (a): Trackly, 100,000 contacts, 50 ms a bulk request",
                ["case", "provider-bound ideal", "measured", "ratio", "notes"],
                a_rows,
            )
        )
    if "b" in cases:
        b_rows: list[list[object]] = []
        for budget in BUDGETS:
            row, b_checks = budget_import(folder, budget, import_seconds, extra)
            b_rows.append(row)
            checks += b_checks
        tables.append(
            table(
                "7. Imports (b): budget kept busy at the documented limits, in real time",
                [
                    "provider, budget",
                    "span",
                    "requests served",
                    "budget",
                    "busy",
                    "pacing ceiling",
                    "per window min / median / max",
                    "429s",
                    "contacts processed",
                ],
                b_rows,
            )
        )
    if "c" in cases:
        c_rows, c_checks = big_import(folder, big, extra)
        checks += c_checks
        tables.append(
            table(
                "7. Imports (c): a big CSV, memory and CPU",
                [
                    "case",
                    "RSS before",
                    "peak RSS growth",
                    "gw CPU us/contact",
                    "wall",
                    "contacts/s",
                    "answers",
                ],
                c_rows,
            )
        )
    return "\n".join(tables), checks
