"""Heymarket bulk: the gateway's bulk vs the batch endpoint used alone vs no pacing.

Runs against the in-process simulator (500 requests/minute, 429 past it) on a virtual clock
(looptime), so minutes of pacing cost no real time: a quick look at the strategies' request
counts and correctness, not a benchmark (`make bench` section 6 measures the gateway's bulk in
real time). Prints, per strategy: requests sent, 429s drawn, virtual time to finish, contacts
created or updated, and the real CPU time spent. The gateway's bulk is what the adapter does
(look-ups, updates, new contacts in batches); the batch endpoint alone shows why it cannot be
used alone (`overwrite=false` skips existing contacts).

    .venv/bin/python bench/heymarket_bulk.py [CONTACTS]
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
import looptime

from gateway.app import create_app
from gateway.config import Config
from gateway.sandbox import Sandbox
from providers.heymarket.auth import JwtMinter
from providers.heymarket.sandbox import SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY, HeymarketSimulator
from providers.model import ProviderName
from providers.resilience.pacing import GcraPacer, Rate

BULK = """mutation($contacts: [ContactInput!]!) {
  bulkUpsertContacts(provider: HEYMARKET, contacts: $contacts) {
    ... on BulkUpsertContactsSuccess { successCount errorCount contactsCreated }
    ... on Error { code message }
  }
}"""


def contacts(n: int, plan: str) -> list[dict[str, Any]]:
    return [
        {"phone": f"+1415{5550000 + i:07d}", "firstName": f"C{i}", "customFields": {"plan": plan}}
        for i in range(n)
    ]


async def via_gateway(n: int, rate_limit: str | None) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    simulator = HeymarketSimulator(clock=loop.time)
    sandbox = Sandbox(heymarket=simulator)
    base = sandbox.config()
    settings = base.providers[ProviderName.HEYMARKET].model_copy(update={"rate_limit": rate_limit})
    config = Config(base.gateway, {ProviderName.HEYMARKET: settings}, sandbox=True)
    app = create_app(config, sandbox=sandbox)
    rows = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=None) as gw:
            for label, plan in (("new", "gold"), ("existing", "silver")):
                before, cpu, start = len(simulator.requests), time.process_time(), loop.time()
                refused = simulator.rejected_429
                reply = await gw.post(
                    "/graphql", json={"query": BULK, "variables": {"contacts": contacts(n, plan)}}
                )
                result = reply.json()["data"]["bulkUpsertContacts"]
                applied = sum(1 for c in simulator.contacts.values() if c.custom.get("101") == plan)
                rows.append(
                    {
                        "contacts": label,
                        "requests": len(simulator.requests) - before,
                        "virtual_s": loop.time() - start,
                        "cpu_s": time.process_time() - cpu,
                        "ok": result.get("successCount"),
                        "errors": result.get("errorCount"),
                        "applied": applied,
                        "429s": simulator.rejected_429 - refused,
                    }
                )
    return rows


async def via_batch(n: int, chunk: int) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    simulator = HeymarketSimulator(clock=loop.time)
    pacer = GcraPacer(Rate.parse("500/minute"))
    minter = JwtMinter(SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY)
    rows = []
    transport = httpx.ASGITransport(app=simulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hm") as client:
        for label, plan in (("new", "gold"), ("existing", "silver")):
            body = [
                {"phone": c["phone"].lstrip("+"), "first": c["firstName"], "custom": {"101": plan}}
                for c in contacts(n, plan)
            ]
            before, cpu, start = len(simulator.requests), time.process_time(), loop.time()
            refused, failed = simulator.rejected_429, 0
            for i in range(0, n, chunk):
                await pacer.acquire()
                reply = await client.post(
                    "/v1/batch/contacts",
                    params={"overwrite": "false"},
                    json=body[i : i + chunk],
                    headers={"Authorization": f"Bearer {minter.token()}"},
                )
                answer = reply.json()
                failed += len(answer) if isinstance(answer, list) else 0
            applied = sum(1 for c in simulator.contacts.values() if c.custom.get("101") == plan)
            rows.append(
                {
                    "contacts": label,
                    "requests": len(simulator.requests) - before,
                    "virtual_s": loop.time() - start,
                    "cpu_s": time.process_time() - cpu,
                    "ok": n - failed,
                    "errors": failed,
                    "applied": applied,
                    "429s": simulator.rejected_429 - refused,
                }
            )
    return rows


def show(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"{'contacts':<9} {'requests':>8} {'virtual s':>10} {'cpu s':>7} {'ok':>6} "
        f"{'errors':>6} {'applied':>7} {'429s':>6}"
    )
    for r in rows:
        print(
            f"{r['contacts']:<9} {r['requests']:>8} {r['virtual_s']:>10.1f} {r['cpu_s']:>7.2f} "
            f"{r['ok']!s:>6} {r['errors']!s:>6} {r['applied']:>7} {r['429s']:>6}"
        )


async def main(n: int) -> None:
    show(
        f"the gateway's bulk, {n} contacts (look-ups, updates, batches for the new ones)",
        await via_gateway(n, "500/minute"),
    )
    show(f"batch endpoint, chunks of 1000, overwrite=false, {n} contacts", await via_batch(n, 1000))
    show(f"the gateway's bulk without client-side pacing, {n} contacts", await via_gateway(n, None))


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    loop = looptime.new_event_loop(start=0.0)
    try:
        loop.run_until_complete(main(count))
    finally:
        loop.close()
