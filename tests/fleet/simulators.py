"""A provider simulator in a process of its own, counting strictly, for the multi-process tests.

    python -m tests.fleet.simulators --provider campaignlark --port P --limit 100

Every request (but the /_ admin routes) is timed on arrival; more than `limit` in any trailing
window of `period` seconds is answered 429 and counted. GET /_audit gives the arrival times
and the refusals; the simulator's own fault route (/_sandbox/faults) is served as usual.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from providers.campaignlark.sandbox import CampaignLarkSimulator
from providers.trackly.sandbox import TracklySimulator


class StrictWindow:
    def __init__(self, app: ASGIApp, limit: int, period: float) -> None:
        self.app, self.limit, self.period = app, limit, period
        self.recent: deque[float] = deque()
        self.arrivals: list[float] = []
        self.rejected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/_audit":
            body = {"arrivals": self.arrivals, "rejected": self.rejected}
            await _json(send, 200, body)
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
        await self.app(scope, receive, send)


async def _json(send: Send, status: int, body: object) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", choices=["trackly", "campaignlark"], default="trackly")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--period", type=float, default=1.0)
    args = parser.parse_args()
    simulator = (
        CampaignLarkSimulator(rate_limit=args.limit, rate_period=args.period)
        if args.provider == "campaignlark"
        else TracklySimulator()
    )
    app = StrictWindow(simulator.app, args.limit, args.period)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
