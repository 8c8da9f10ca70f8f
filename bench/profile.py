"""Profile the gateway's own work in-process: the real ASGI app, a provider that answers at once.

    python -m bench.profile upsert --count 2000        # per-request cost of one upsert
    python -m bench.profile bulk --count 10000 --html out.html
    python -m bench.profile upsert --rounds 5 --no-profile [--set fast_path=false]

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
from bench.run import parse_settings
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


def _config(max_bulk: int, extra: dict[str, Any]) -> Config:
    settings = TracklySettings(
        base_url="http://provider.bench",
        api_key=SecretStr(workload.TRACKLY_KEY),
        default_list_number=workload.LIST_NUMBER,
    )
    gateway = GatewaySettings(max_bulk_contacts=max_bulk, **extra)
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


async def run(
    kind: str,
    count: int,
    html: str | None,
    show_all: bool,
    rounds: int = 1,
    profile: bool = True,
    extra: dict[str, Any] | None = None,
) -> None:
    mock = httpx.MockTransport(_provider)
    config = _config(max(count, 10), extra or {})
    app = create_app(config, transports={ProviderName.TRACKLY: mock})
    async with app.router.lifespan_context(app):
        if kind == "upsert":
            body = json.dumps(workload.upsert_body()).encode()
            await _post(app, body)
        else:
            await _post(app, workload.bulk_body(10, start=90_000))
        # The best of `rounds`: one run on a shared machine moves by 10-30%.
        best = float("inf")
        for round_ in range(rounds):
            if kind == "upsert":
                bodies = [body] * count
            else:  # new numbers every round, or the phone cache would hide their parsing
                bodies = [workload.bulk_body(count, start=10_000 + round_ * 1_000_000)]
            cpu = time.process_time()
            for body in bodies:
                answer = await _post(app, body)
            best = min(best, time.process_time() - cpu)
        assert b"Success" in answer, answer[:300]
        if profile:
            if kind == "bulk":
                bodies = [workload.bulk_body(count, start=50_000)]
            profiler = Profiler(interval=0.001, async_mode="disabled")
            profiler.start()
            for body in bodies:
                answer = await _post(app, body)
            profiler.stop()
    unit = "request" if kind == "upsert" else "contact"
    print(
        f"{kind}: {best / count * 1e6:.1f} us CPU per {unit} (without the profiler"
        f"{f', best of {rounds}' if rounds > 1 else ''})"
    )
    if not profile:
        return
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
    parser.add_argument("--rounds", type=int, default=1, help="print the best of N timings")
    parser.add_argument("--no-profile", action="store_true", help="the CPU figure only")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    asyncio.run(
        run(
            args.kind,
            args.count,
            args.html,
            args.all,
            rounds=args.rounds,
            profile=not args.no_profile,
            extra=parse_settings(args.set),
        )
    )


if __name__ == "__main__":
    main()
