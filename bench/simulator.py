"""A minimal provider simulator: answers Trackly-shaped requests instantly or after a delay.

Raw ASGI (no framework) so that it costs as little as possible and is never the bottleneck; it
checks nothing. The benchmark serves it with uvicorn on 127.0.0.1:
    python -m bench.simulator --port 9001 --delay-ms 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                done = message["type"] == "lifespan.shutdown"
                await send({"type": f"{message['type']}.complete"})
                if done:
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if self.delay:
            await asyncio.sleep(self.delay)
        if scope["path"].endswith("/bulk"):
            # Counting the items' key is enough: the benchmark sends well-formed contacts.
            count = body.count(b'"phone_number"')
            answer = _BULK_ANSWER % (count, count)
        else:
            answer = UPSERT_ANSWER
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": answer})


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
