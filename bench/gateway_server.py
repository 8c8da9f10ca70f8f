"""The gateway as the benchmark serves it: `create_app` from a config file, under uvicorn.

Like `gateway serve --config`, minus the per-request access log line (the floor writes none
either; a production deployment ships its logs some other way).
    python -m bench.gateway_server --config bench.toml --port 9003
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from gateway.app import create_app
from gateway.config import load_config
from gateway.ops.gc_tuning import tune_for_serving


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers > 1:  # as `gateway serve --workers N`: each worker builds its own app
        os.environ["GATEWAY_CONFIG"] = os.path.abspath(args.config)
        os.environ["GATEWAY_WORKERS"] = str(args.workers)
        uvicorn.run(
            "gateway.worker:create",
            factory=True,
            workers=args.workers,
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
            backlog=4096,
        )
        return
    app = create_app(load_config(args.config))
    tune_for_serving()  # as `gateway serve` does
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
