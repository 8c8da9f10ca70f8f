"""The app factory each `gateway serve --workers N` process runs (uvicorn imports it by name)."""

from __future__ import annotations

import os

from starlette.applications import Starlette

CONFIG_ENV = "GATEWAY_CONFIG"
WORKERS_ENV = "GATEWAY_WORKERS"


def create() -> Starlette:
    from gateway.app import create_app
    from gateway.config import load_config
    from gateway.http.edge import configure_edge
    from gateway.ops.gc_tuning import tune_for_serving
    from gateway.ops.logs import configure_logging

    config = load_config(os.environ[CONFIG_ENV])
    settings = config.gateway
    configure_logging(
        secrets=config.secrets(), log_format=settings.log_format, level=settings.log_level
    )
    configure_edge(settings)  # this process' connections: its header deadline and cap
    app = create_app(config, workers=int(os.environ.get(WORKERS_ENV, "1")))
    tune_for_serving()
    return app
