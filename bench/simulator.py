"""A minimal provider simulator: answers Trackly-shaped requests instantly or after a delay.

Raw ASGI (no framework) so that it costs as little as possible and is never the bottleneck; it
checks nothing. The benchmark serves it with uvicorn on 127.0.0.1:
    python -m bench.simulator --port 9001 --delay-ms 100
`GET /_bench/stats` answers what it served of the bulk endpoint: requests, contacts, the most
requests it held at once, and when the first arrived and the last was answered (seconds on its
clock), so a run can tell the provider's share of a wall time from the gateway's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import uvicorn

UPSERT_ANSWER = json.dumps(
    {
        "contact_id": "c_bench",
        "is_new_contact": True,
        "is_new_list_contact": True,
        "list_contact_id": "lc_bench",
        "journeys_enrolled": 0,
        "warnings": [],
    }
).encode()
_BULK_ANSWER = (
    b'{"contacts_created":%d,"list_contacts_created":%d,'
    b'"journeys_enrolled":0,"errors":[],"warnings":[]}'
)
_HEADERS = [(b"content-type", b"application/json")]


class InstantProvider:
    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.delay = delay_seconds
        self.bulk = {"requests": 0, "contacts": 0, "max_in_flight": 0}
        self.in_flight = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                done = message["type"] == "lifespan.shutdown"
                await send({"type": f"{message['type']}.complete"})
                if done:
                    return
        if scope["path"] == "/_bench/stats":
            await self._stats(send)
            return
        bulk = scope["path"].endswith("/bulk")
        if bulk:
            self.in_flight += 1
            self.bulk["max_in_flight"] = max(self.bulk["max_in_flight"], self.in_flight)
            if self.first_at is None:
                self.first_at = time.monotonic()
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if self.delay:
            await asyncio.sleep(self.delay)
        if bulk:
            # Counting the items' key is enough: the benchmark sends well-formed contacts.
            count = body.count(b'"phone_number"')
            answer = _BULK_ANSWER % (count, count)
            self.bulk["requests"] += 1
            self.bulk["contacts"] += count
            self.in_flight -= 1
            self.last_at = time.monotonic()
        else:
            answer = UPSERT_ANSWER
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": answer})

    async def _stats(self, send: Any) -> None:
        body = {**self.bulk, "first_at": self.first_at, "last_at": self.last_at}
        body["now"] = time.monotonic()
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    uvicorn.run(
        InstantProvider(args.delay_ms / 1000),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
