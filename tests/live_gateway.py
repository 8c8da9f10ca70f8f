"""The sandbox gateway as a real process on 127.0.0.1, served the way `gateway serve` serves it
(gateway.cli.serve_app: the same uvicorn options and edge settings), with [gateway] settings of
a test's choosing: `python -m tests.live_gateway PORT '{"max_tokens": 500}'`.

A process of its own, so a test that attacks it measures the gateway's event loop, not a GIL
shared with the test's own client code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.fleet.procs import Process
from tests.redis_server import free_port


def start(tmp: Path, **settings: Any) -> Process:
    """Started; call `.ready()` before use, `.stop()` after."""
    port = free_port()
    settings.setdefault("data_dir", str(tmp / f"data-{port}"))  # never the checkout's own
    args = [sys.executable, "-m", "tests.live_gateway", str(port), json.dumps(settings)]
    return Process(args, tmp / f"live-gateway-{port}.log", port, "/healthz")


def main(argv: list[str]) -> None:
    from gateway.app import create_app
    from gateway.cli import serve_app
    from gateway.config import GatewaySettings
    from gateway.ops.logs import configure_logging
    from gateway.sandbox import Sandbox

    port, settings = int(argv[0]), GatewaySettings.model_validate(json.loads(argv[1]))
    sandbox = Sandbox()
    config = sandbox.config(settings)
    configure_logging(secrets=config.secrets(), log_format="json", level=settings.log_level)
    serve_app(create_app(config, sandbox=sandbox), settings, "127.0.0.1", port)


if __name__ == "__main__":
    main(sys.argv[1:])
