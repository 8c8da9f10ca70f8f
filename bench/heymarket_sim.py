"""The Heymarket simulator (providers/heymarket/sandbox.py) served over HTTP for `make bench`
section 6, at Heymarket's documented budget (500 requests a minute per key, 429 past it).

    python -m bench.heymarket_sim --port 9005 [--seed 1000 --seed-start 0]

`--seed N` starts it with N contacts already there (phones from `bench.heymarket_import.phone`),
put in place directly, so seeding spends none of the budget the run measures.
`GET /_bench/stats?plan=x` answers the requests it served, the 429s it answered, and how many
contacts hold `x` in the `plan` field (field id 101): what the run checks was applied.
"""

from __future__ import annotations

import argparse
import uuid
from collections import Counter

import uvicorn
from starlette.types import Receive, Scope, Send

from bench.heymarket_import import phone
from bench.servers import send_json
from providers.heymarket.sandbox import Contact, HeymarketSimulator

SEEDED_IDS = 50_000_000  # far from the simulator's own ids (98,765 up)


class BenchSimulator:
    def __init__(self, seed: int, seed_start: int) -> None:
        self.simulator = HeymarketSimulator(rate_limit=500, rate_period=60.0)
        for n in range(seed_start, seed_start + seed):
            ident = SEEDED_IDS + n
            self.simulator.contacts[ident] = Contact(
                ident,
                str(uuid.uuid4()),
                phone(n).removeprefix("+"),
                first="Seeded",
                last=f"Contact{n}",
                custom={"101": "seeded", "103": "crm"},
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/stats":
            await self._stats(scope, send)
            return
        await self.simulator.app(scope, receive, send)

    async def _stats(self, scope: Scope, send: Send) -> None:
        query = dict(
            part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part
        )
        plan = query.get("plan")
        sim = self.simulator
        body = {
            "requests": len(sim.requests),
            "by_path": Counter(
                f"{method} {'/v1/contact/{id}' if method == 'PUT' else path}"
                for method, path in sim.requests
            ),
            "rejected_429": sim.rejected_429,
            "contacts": len(sim.contacts),
            "applied": sum(1 for c in sim.contacts.values() if c.custom.get("101") == plan),
        }
        await send_json(send, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seed-start", type=int, default=0)
    args = parser.parse_args()
    app = BenchSimulator(args.seed, args.seed_start)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
