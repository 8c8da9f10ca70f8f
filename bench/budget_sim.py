"""A provider's sandbox simulator at its documented budget, logging when each request was served,
for `make bench` section 7 (b):
- heymarket: providers/heymarket/sandbox.py, 500 requests a minute per key (heymarket.md);
- campaignlark: providers/campaignlark/sandbox.py, 100 requests a second per workspace
  (campaignlark.md).
Both enforce the budget strictly over a sliding window (providers/simulator/base.py RateWindow)
and answer 429 past it. `GET /_bench/log` answers the simulator's clock now and, for every
request it answered since it started, when (seconds since start) and whether it was a 429:
the run counts requests a window from them.

    python -m bench.budget_sim --provider campaignlark --port 9006
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import uvicorn
from starlette.types import Message, Receive, Scope, Send

from bench.servers import send_json
from providers.campaignlark.sandbox import CampaignLarkSimulator, Contact
from providers.heymarket.sandbox import HeymarketSimulator
from providers.simulator.base import Simulator

LOG_PATH = "/_bench/log"


class IndexedCampaignLark(CampaignLarkSimulator):
    """The sandbox's CampaignLark, its contacts found by email through an index: the sandbox
    scans every contact for each look-up, and a five-minute import creates 30,000 of them (the
    scans would then take the CPU the gateway is measured on). Its answers are the sandbox's."""

    def __init__(self) -> None:
        super().__init__()
        self._email_index: dict[str, Contact] = {}

    def find(self, email: str) -> Contact | None:
        found = self._email_index.get(email.lower())
        if found is None or self.contacts.get(found.id) is not found:
            return None
        if str(found.data.get("email_address", "")).lower() != email.lower():
            return super().find(email)  # its email changed since: the sandbox's own scan
        return found

    def _new(self, data: dict[str, Any], tags: list[int], status: str) -> Contact:
        contact = super()._new(data, tags, status)
        self._email_index[str(data.get("email_address", "")).lower()] = contact
        return contact


def simulator(provider: str) -> Simulator:
    if provider == "heymarket":
        return HeymarketSimulator()  # its defaults are the notes' budget: 500 a minute
    if provider == "campaignlark":
        return IndexedCampaignLark()  # the notes' budget: 100 a second
    raise SystemExit(f"unknown provider {provider!r}")


class Logged:
    """The simulator's ASGI app, noting when each answer started and whether it was a 429."""

    def __init__(self, inner: Simulator) -> None:
        self.inner = inner
        self.began = time.monotonic()
        self.served: list[float] = []
        self.refused: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner.app(scope, receive, send)
            return
        if scope["path"] == LOG_PATH:
            await self._log(send)
            return

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                at = time.monotonic() - self.began
                (self.refused if message["status"] == 429 else self.served).append(at)
            await send(message)

        await self.inner.app(scope, receive, noted)

    async def _log(self, send: Send) -> None:
        body = {
            "now": time.monotonic() - self.began,
            "served": self.served,
            "refused": self.refused,
            "rejected_429": self.inner.rejected_429,
        }
        await send_json(send, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--provider", required=True, choices=["heymarket", "campaignlark"])
    args = parser.parse_args()
    app = Logged(simulator(args.provider))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
