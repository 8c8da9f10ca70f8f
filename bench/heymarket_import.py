"""`make bench` section 6: Heymarket imports at the real budget, in real time.

A Heymarket simulator (bench.heymarket_sim: 500 requests a minute, 429 past it) and the gateway
(bench.gateway_server) run as child processes on loopback; one bulkUpsertContacts of 1,000
contacts per case, each contact with both names and a custom field:
- all new: a fresh simulator;
- all existing, first seen: a simulator holding the 1,000 contacts, a fresh gateway;
- all existing, seen before, names given: the same again on that gateway, once both sides'
  pacing windows are empty again (a minute's wait), so it starts as the first case did;
- half and half: a simulator holding 500 of them, a fresh gateway, existing and new contacts
  alternating.
Printed per case: wall time, contacts a minute, requests the simulator served (by kind), 429s,
contacts whose new value the simulator holds; next to today's single-call figure. About 13
minutes in all: this is the budget's time, measured, not simulated.

    .venv/bin/python -m bench.run --only 6
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.report import table, verdict
from bench.servers import Server, started
from bench.workload import post_json
from providers.heymarket.sandbox import SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY

CONTACTS = 1_000
# Today's figure, before the batch path: paced single calls, a look-up and a create or update
# per contact (docs/heymarket.md, bench/heymarket_bulk.py): 237 contacts a minute, 1,000 in
# 244.8 s, 2,001 requests (the field catalogue is the extra one).
TODAY_PER_MINUTE = 237
TODAY_SECONDS = 244.8
TODAY_REQUESTS = 2_001
# The gateway paces on a window 2% longer than the provider's minute; both are empty again
# after this long without requests.
QUIET_SECONDS = 62.0

BULK = """mutation Bulk($contacts: [ContactInput!]!) {
  bulkUpsertContacts(provider: HEYMARKET, contacts: $contacts) {
    __typename
    ... on BulkUpsertContactsSuccess { successCount errorCount contactsCreated
      errors { index error { code message } } }
    ... on Error { code message }
  }
}"""


def phone(n: int) -> str:
    return f"+1415{2_000_000 + n:07d}"


def bulk_body(numbers: Sequence[int], plan: str) -> bytes:
    contacts = [
        {
            "phone": phone(n),
            "firstName": "Bench",
            "lastName": f"Contact{n}",
            "customFields": {"plan": plan},
        }
        for n in numbers
    ]
    return json.dumps({"query": BULK, "variables": {"contacts": contacts}}).encode()


def gateway_config(simulator_url: str) -> str:
    return (
        "[gateway]\n"
        "max_bulk_contacts = 10000\n\n"
        "[providers.heymarket]\n"
        f'base_url = "{simulator_url}"\n'
        f'secret_id = "{SANDBOX_SECRET_ID}"\n'
        f'secret_key = "{SANDBOX_SECRET_KEY}"\n'
    )


@contextmanager
def simulator(seed: int = 0) -> Iterator[Server]:
    with started("heymarket simulator", "bench.heymarket_sim", "--seed", str(seed)) as server:
        yield server


@contextmanager
def gateway(sim: Server, folder: Path) -> Iterator[Server]:
    config = folder / f"heymarket-{sim.port}.toml"
    config.write_text(gateway_config(sim.url))
    with started("gateway", "bench.gateway_server", "--config", str(config)) as server:
        yield server


def stats(sim: Server, plan: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{sim.url}/_bench/stats?plan={plan}", timeout=30) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def measure(name: str, gw: Server, sim: Server, numbers: Sequence[int], plan: str) -> list[Any]:
    before = stats(sim, plan)
    began = time.perf_counter()
    answer = post_json(f"{gw.url}/graphql", bulk_body(numbers, plan), timeout=1_800)
    wall = time.perf_counter() - began
    after = stats(sim, plan)
    result = answer["data"]["bulkUpsertContacts"]
    if result.get("__typename") != "BulkUpsertContactsSuccess":
        raise RuntimeError(f"{name}: {str(result)[:300]}")
    kinds = {
        key: after["by_path"].get(key, 0) - before["by_path"].get(key, 0)
        for key in (
            "POST /v1/contact/get",
            "POST /v1/batch/contacts",
            "POST /v1/contact",
            "PUT /v1/contact/{id}",
        )
    }
    per_minute = len(numbers) / wall * 60
    return [
        name,
        f"{wall:.1f}",
        per_minute,
        after["requests"] - before["requests"],
        "{} / {} / {} / {}".format(*kinds.values()),
        after["rejected_429"] - before["rejected_429"],
        f"{result['successCount']} ok, {result['errorCount']} errors",
        after["applied"],
        per_minute / TODAY_PER_MINUTE,
    ]


def section(folder: Path) -> tuple[str, list[str]]:
    began = time.perf_counter()
    everyone = range(CONTACTS)
    half = CONTACTS // 2
    alternating = [n for pair in zip(range(half), range(half, CONTACTS), strict=True) for n in pair]
    rows: list[list[Any]] = []
    with simulator() as sim, gateway(sim, folder) as gw:
        rows.append(measure("all new", gw, sim, everyone, "new"))
    with simulator(seed=CONTACTS) as sim, gateway(sim, folder) as gw:
        rows.append(measure("all existing, first seen", gw, sim, everyone, "first-seen"))
        time.sleep(QUIET_SECONDS)
        rows.append(measure("all existing, seen before", gw, sim, everyone, "seen-before"))
    with simulator(seed=half) as sim, gateway(sim, folder) as gw:
        rows.append(measure("half and half", gw, sim, alternating, "half"))
    wall = time.perf_counter() - began
    new, *others = rows
    checks = [
        f"all new: {new[2]:,.0f} contacts a minute >= 2 x today's {TODAY_PER_MINUTE}: "
        + verdict(new[2] >= 2 * TODAY_PER_MINUTE),
        *(
            f"{row[0]}: {row[2]:,.0f} contacts a minute >= today's {TODAY_PER_MINUTE}: "
            + verdict(row[2] >= TODAY_PER_MINUTE)
            for row in others
        ),
        f"429s drawn: {sum(row[5] for row in rows)}: " + verdict(all(row[5] == 0 for row in rows)),
        f"every contact answered and applied ({CONTACTS:,} each): "
        + verdict(all(row[6] == f"{CONTACTS} ok, 0 errors" and row[7] == CONTACTS for row in rows)),
        f"today (paced single calls): {TODAY_PER_MINUTE} contacts a minute, 1,000 in "
        f"{TODAY_SECONDS} s, {TODAY_REQUESTS:,} requests, in every case",
        f"section wall time: {wall / 60:.1f} minutes",
    ]
    header = [
        "case (1,000 contacts)",
        "wall s",
        "contacts/min",
        "requests",
        "look-ups / batches / creates / updates",
        "429s",
        "answers",
        "applied",
        "x today",
    ]
    title = "5. Heymarket import at the real budget (500 requests a minute)"
    return table(title, header, rows), checks
