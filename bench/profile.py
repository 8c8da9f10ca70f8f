"""Profile the gateway's own work in-process: the real ASGI app, a provider that answers at once.

    python -m bench.profile upsert --count 2000        # per-request cost of one upsert
    python -m bench.profile bulk --count 10000 --html out.html

The provider is an httpx.MockTransport (no socket), so what the profile shows is the gateway:
HTTP parsing aside, everything from the request body to the response bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx
from pydantic import SecretStr
from pyinstrument import Profiler

from bench import workload
from gateway.app import create_app
from gateway.config import Config, GatewaySettings
from providers.model import ProviderName
from providers.trackly import TracklySettings


def _provider(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/bulk"):
        count = request.content.count(b'"phone_number"')
        body = {"contacts_created": count, "list_contacts_created": count, "errors": []}
        return httpx.Response(200, json=body)
    return httpx.Response(200, content=workload_upsert_answer())


def workload_upsert_answer() -> bytes:
    from bench.simulator import UPSERT_ANSWER

    return UPSERT_ANSWER


def _config(max_bulk: int) -> Config:
    settings = TracklySettings(
        base_url="http://provider.bench",
        api_key=SecretStr(workload.TRACKLY_KEY),
        default_list_number=workload.LIST_NUMBER,
    )
    gateway = GatewaySettings(max_bulk_contacts=max_bulk)
    return Config(gateway, {ProviderName.TRACKLY: settings})


async def _post(app: Any, body: bytes) -> bytes:
    """One request straight through the ASGI app, without any client library in the way."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def run(kind: str, count: int, html: str | None, show_all: bool) -> None:
    mock = httpx.MockTransport(_provider)
    app = create_app(_config(max(count, 10)), transports={ProviderName.TRACKLY: mock})
    async with app.router.lifespan_context(app):
        if kind == "upsert":
            body = json.dumps(workload.upsert_body()).encode()
            bodies = [body] * count
            await _post(app, body)
        else:
            bodies = [workload.bulk_body(count, start=10_000)]
            await _post(app, workload.bulk_body(10, start=90_000))
        cpu = time.process_time()
        for body in bodies:
            answer = await _post(app, body)
        cpu = time.process_time() - cpu
        if kind == "bulk":  # new numbers, or the phone cache would hide their parsing
            bodies = [workload.bulk_body(count, start=50_000)]
        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
        for body in bodies:
            answer = await _post(app, body)
        profiler.stop()
        assert b"Success" in answer, answer[:300]
    unit = count
    print(
        f"{kind}: {cpu / unit * 1e6:.1f} us CPU per {'request' if kind == 'upsert' else 'contact'}"
        " (without the profiler)"
    )
    if html:
        with open(html, "w") as out:
            out.write(profiler.output_html())
    else:
        print(profiler.output_text(unicode=False, color=False, show_all=show_all))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["upsert", "bulk"])
    parser.add_argument("--count", type=int, default=2_000)
    parser.add_argument("--html")
    parser.add_argument("--all", action="store_true", help="show library frames too")
    args = parser.parse_args()
    asyncio.run(run(args.kind, args.count, args.html, args.all))


if __name__ == "__main__":
    main()
