"""Interactive traffic first: how long a front-end's upsertContact waits while imports run.

The real app (lifespan, import worker, pacing) in this process, in front of the in-process
Heymarket simulator, at a small budget (`--budget`, 600 a minute: a slot every ~0.1 s) so a few
seconds show what minutes would. Each case starts `--jobs` import jobs of new contacts, lets them
fill the budget, then sends `--upserts` interactive upsertContact (new phones: a look-up and a
create, two calls each), one every `--every` seconds whether or not the previous one answered,
as a front-end's users would, and measures each one's answer time. Cases:
- idle: no import;
- share 0.8: imports running, gateway.import_budget_share = 0.8 (the default);
- share 1.0: imports running, no preference (every call in arrival order: before this change).
`--fleet` runs each case on two gateways sharing one budget through a real redis-server (both
import, the upserts go to the first), which is where the imports' reservations piled up.

Printed per case: interactive answer time p50 / p95 / max (seconds, and in slot intervals), the
contacts the imports processed a minute meanwhile, and the provider requests a minute (the
budget's use). About 25 s a case.

    .venv/bin/python -m bench.interactive_share [--fleet] [--budget 600/minute] [--jobs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import Config, GatewaySettings
from gateway.sandbox import Sandbox
from providers.heymarket.sandbox import HeymarketSimulator
from providers.model import ProviderName
from providers.resilience.pacing import Gcra, Rate

UPSERT = """mutation($contact: ContactInput!) {
  upsertContact(provider: HEYMARKET, contact: $contact) {
    __typename ... on Error { code message }
  }
}"""
START = """mutation($contacts: [ContactInput!]) {
  startContactImport(provider: HEYMARKET, contacts: $contacts) {
    ... on ContactImportStarted { contactImport { id } }
    ... on Error { code message }
  }
}"""


@contextlib.asynccontextmanager
async def gateway(
    sandbox: Sandbox,
    budget: str,
    share: float,
    data_dir: Path,
    redis_url: str | None,
    namespace: str = "bench",
) -> AsyncIterator[httpx.AsyncClient]:
    base = sandbox.config()
    settings = base.providers[ProviderName.HEYMARKET].model_copy(update={"rate_limit": budget})
    options: dict[str, Any] = {"data_dir": data_dir, "import_budget_share": share}
    if redis_url is not None:
        options |= {
            "redis_url": SecretStr(redis_url),
            "redis_namespace": namespace,  # the same for the case's gateways: one budget
            "fleet_processes": 2,
        }
    config = Config(GatewaySettings(**options), {ProviderName.HEYMARKET: settings}, sandbox=True)
    app = create_app(config, transports=sandbox.transports(), sandbox=sandbox)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gw", timeout=None
        ) as client:
            yield client


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    return response.json()["data"]


async def one_case(
    args: argparse.Namespace, share: float | None, redis_url: str | None
) -> dict[str, float]:
    """share None: no import."""
    simulator = HeymarketSimulator(rate_limit=10**6)
    sandbox = Sandbox(heymarket=simulator)
    gateways = 2 if redis_url is not None else 1
    namespace = f"bench{uuid.uuid4().hex[:6]}"  # a fresh budget for each case
    areas = iter((212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228, 229))  # real US codes
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    gateway(
                        sandbox,
                        args.budget,
                        share or 0.8,
                        Path(tmp) / f"g{n}",
                        redis_url,
                        namespace,
                    )
                )
                for n in range(gateways)
            ]
            if share is not None:
                for client in clients:
                    for _ in range(args.jobs):
                        area = next(areas)
                        contacts = [{"phone": f"+1{area}555{n:04d}"} for n in range(args.contacts)]
                        data = await post(client, START, {"contacts": contacts})
                        assert "contactImport" in data["startContactImport"], data
                await asyncio.sleep(args.warmup)  # the imports fill the budget
            before = len(simulator.requests)
            started = time.monotonic()
            answers: list[float] = []

            async def upsert(n: int) -> None:
                sent = time.monotonic()
                data = await post(clients[0], UPSERT, {"contact": {"phone": f"+1650555{n:04d}"}})
                kind = data["upsertContact"]["__typename"]
                assert kind == "UpsertContactSuccess", data
                answers.append(time.monotonic() - sent)

            tasks = []
            for n in range(args.upserts):
                tasks.append(asyncio.create_task(upsert(n)))
                await asyncio.sleep(args.every)
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - started
            sent = len(simulator.requests) - before
    interval = Gcra.of(Rate.parse(args.budget), 0.1 if redis_url else 0.05).interval
    answers.sort()
    return {
        "p50": statistics.median(answers),
        "p95": answers[max(0, round(0.95 * len(answers)) - 1)],
        "max": answers[-1],
        "interval": interval,
        "import_requests_per_min": (sent - 2 * args.upserts) * 60 / elapsed,
        "requests_per_min": sent * 60 / elapsed,
    }


async def main(args: argparse.Namespace) -> None:
    redis = None
    redis_url = None
    if args.fleet:
        from tests.redis_server import RedisServer, redis_server_binary

        redis = RedisServer(redis_server_binary())
        redis.start()
        redis_url = redis.url
    try:
        where = "two gateways sharing Redis" if args.fleet else "one gateway"
        print(
            f"Heymarket budget {args.budget}, {where}, {args.jobs} import job(s) per gateway, "
            f"{args.upserts} interactive upserts one every {args.every}s"
        )
        print(
            f"{'case':<10} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'p50 slots':>9} "
            f"{'p95 slots':>9} {'import req/min':>14} {'all req/min':>11}"
        )
        for label, share in (("idle", None), ("share 0.8", 0.8), ("share 1.0", 1.0)):
            row = await one_case(args, share, redis_url)
            print(
                f"{label:<10} {row['p50']:7.3f} {row['p95']:7.3f} {row['max']:7.3f} "
                f"{row['p50'] / row['interval']:9.1f} {row['p95'] / row['interval']:9.1f} "
                f"{row['import_requests_per_min']:14.0f} {row['requests_per_min']:11.0f}"
            )
    finally:
        if redis is not None:
            redis.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--budget", default="1200/minute")
    parser.add_argument("--jobs", type=int, default=3, help="import jobs per gateway")
    parser.add_argument("--contacts", type=int, default=2_000, help="contacts per import job")
    parser.add_argument("--upserts", type=int, default=30)
    # 0.75 s: 2.7 calls a second, an eighth of the default budget (under the fifth kept for it)
    parser.add_argument("--every", type=float, default=0.75, help="seconds between upserts")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds imports run first")
    parser.add_argument("--fleet", action="store_true", help="two gateways sharing Redis")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
