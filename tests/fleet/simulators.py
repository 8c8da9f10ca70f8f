"""A provider simulator in a process of its own, counting strictly, for the multi-process tests.

    python -m tests.fleet.simulators --provider campaignlark --port P --limit 100

Every request (but the /_ admin routes) is timed on arrival; more than `limit` in any trailing
window of `period` seconds is answered 429 and counted. GET /_audit gives the arrival times,
each call's method, path and status, and the refusals; GET /_contacts the contacts the
simulator holds (Heymarket: id, phone and names); the simulator's own fault route
(/_sandbox/faults) is served as usual.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from providers.campaignlark.sandbox import CampaignLarkSimulator
from providers.heymarket.sandbox import HeymarketSimulator
from providers.trackly.sandbox import TracklySimulator


class StrictWindow:
    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        period: float,
        contacts: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        self.app, self.limit, self.period = app, limit, period
        self.contacts = contacts
        self.recent: deque[float] = deque()
        self.arrivals: list[float] = []
        self.calls: list[list[Any]] = []  # [method, path, status]
        self.rejected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/_audit":
            body = {"arrivals": self.arrivals, "calls": self.calls, "rejected": self.rejected}
            await _json(send, 200, body)
            return
        if path == "/_contacts":
            await _json(send, 200, self.contacts())
            return
        if path.startswith("/_"):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        while self.recent and self.recent[0] <= now - self.period:
            self.recent.popleft()
        if len(self.recent) >= self.limit:
            self.rejected += 1
            await _json(send, 429, {"error": "rate limited"})
            return
        self.recent.append(now)
        self.arrivals.append(now)
        call: list[Any] = [scope["method"], path, 0]
        self.calls.append(call)

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                call[2] = message["status"]
            await send(message)

        await self.app(scope, receive, noted)


async def _json(send: Send, status: int, body: object) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--provider", choices=["trackly", "campaignlark", "heymarket"], default="trackly"
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--period", type=float, default=1.0)
    args = parser.parse_args()
    contacts: Callable[[], list[dict[str, Any]]] = list
    simulator: Any
    if args.provider == "campaignlark":
        simulator = CampaignLarkSimulator(rate_limit=args.limit, rate_period=args.period)
    elif args.provider == "heymarket":
        heymarket = HeymarketSimulator(rate_limit=args.limit, rate_period=args.period)
        simulator = heymarket

        def contacts() -> list[dict[str, Any]]:
            return [
                {"id": c.id, "phone": c.phone, "first": c.first, "last": c.last}
                for c in heymarket.contacts.values()
            ]
    else:
        simulator = TracklySimulator()
    app = StrictWindow(simulator.app, args.limit, args.period, contacts)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
