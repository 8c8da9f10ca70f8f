"""`gateway serve | export-schema | check-config | import | imports`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.config import Config, ConfigError, GatewaySettings, exposure_problem, load_config
from gateway.worker import CONFIG_ENV, WORKERS_ENV

if TYPE_CHECKING:
    from starlette.applications import Starlette

FIRST_MUTATION = """\
mutation FirstContact {
  upsertContact(
    provider: TRACKLY
    contact: {phone: "(415) 555-2671", customFields: {plan: "gold"}, enrollInJourneys: true}
  ) {
    __typename
    ... on UpsertContactSuccess {
      contact { id phone }
      created
      listMembershipCreated
      journeysEnrolled
      warnings
    }
    ... on Error { code message field retryable }
  }
}"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve GraphQL (sandbox mode without a config)")
    serve.add_argument("--config", help="TOML config (default: $GATEWAY_CONFIG)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes on this port (default 1)"
    )
    serve.add_argument(
        "--allow-unauthenticated-public",
        action="store_true",
        help="serve without gateway.api_keys on a non-loopback address (not recommended)",
    )
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("--config", required=True)
    _import_commands(commands)
    args = parser.parse_args(argv)
    if args.command in ("import", "imports"):
        return _imports(args)

    if args.command == "export-schema":
        from gateway.schema import export_sdl

        sys.stdout.write(export_sdl())
        return 0
    if args.command == "check-config":
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"gateway: {exc}", file=sys.stderr)
            return 2
        names = ", ".join(name.label for name in config.providers) or "no providers"
        print(f"gateway: {args.config} is valid ({names})")
        return 0
    config_path = args.config or os.environ.get(CONFIG_ENV)
    return _serve(
        config_path,
        args.host,
        args.port,
        args.workers,
        allow_public=args.allow_unauthenticated_public,
    )


def _import_commands(commands: Any) -> None:
    """`gateway import` and `gateway imports`: clients of a running gateway's GraphQL API."""

    def endpoint_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--url", help="the gateway (default: $GATEWAY_URL, else :8000)")
        command.add_argument("--api-key", help="its client key (default: $GATEWAY_API_KEY)")

    start = commands.add_parser("import", help="import a CSV or NDJSON file of contacts")
    start.add_argument("file", type=Path)
    start.add_argument("--provider", required=True, type=str.upper, choices=_PROVIDERS)
    start.add_argument("--format", type=str.upper, choices=("CSV", "NDJSON"))
    start.add_argument("--detach", action="store_true", help="start it and return at once")
    start.add_argument(
        "--errors-out", type=Path, help="write the failed rows here, with a reason column"
    )
    endpoint_options(start)
    jobs = commands.add_parser("imports", help="list, show, watch or cancel imports")
    jobs.add_argument(
        "action", nargs="?", default="list", choices=("list", "show", "watch", "cancel")
    )
    jobs.add_argument("id", nargs="?")
    jobs.add_argument("--status", type=str.upper, help="with list: only jobs in this status")
    endpoint_options(jobs)


_PROVIDERS = ("TRACKLY", "HEYMARKET", "CAMPAIGNLARK")


def _imports(args: argparse.Namespace) -> int:
    from rich.console import Console

    from gateway.client.graphql import ClientError, Endpoint
    from gateway.client.imports import UsageError, run_import, run_imports

    console = Console()
    if not console.is_terminal:  # a pipe or a file: whole lines, never cut at 80 columns
        console = Console(width=240)
    endpoint = Endpoint.from_args(args.url, args.api_key)
    try:
        if args.command == "import":
            return run_import(
                endpoint,
                args.file,
                args.provider,
                args.format,
                detach=args.detach,
                errors_out=args.errors_out,
                console=console,
            )
        if args.action != "list" and not args.id:
            raise UsageError(f"gateway imports {args.action} needs an import id")
        return run_imports(endpoint, args.action, args.id, args.status, console)
    except (ClientError, UsageError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130  # detached: the import goes on in the gateway


def _serve(
    config_path: str | None,
    host: str,
    port: int,
    workers: int = 1,
    *,
    allow_public: bool = False,
) -> int:
    import uvicorn

    from gateway.app import create_app
    from gateway.ops.fleet import per_worker_refusal
    from gateway.ops.logs import configure_logging
    from gateway.sandbox import Sandbox

    sandbox: Sandbox | None = None
    if workers < 1:
        print("gateway: --workers must be 1 or more", file=sys.stderr)
        return 2
    if workers > 1 and not config_path:
        print(
            "gateway: --workers > 1 needs --config: sandbox mode runs its simulators inside "
            "one process",
            file=sys.stderr,
        )
        return 2
    if config_path:
        try:
            config: Config = load_config(config_path)
        except ConfigError as exc:
            print(f"gateway: {exc}", file=sys.stderr)
            return 2
        refusal = per_worker_refusal(config.gateway, workers)
        if refusal:
            print(f"gateway: {refusal}", file=sys.stderr)
            return 2
        if config.gateway.sandbox:
            if workers > 1:
                print("gateway: --workers > 1 cannot serve sandbox mode", file=sys.stderr)
                return 2
            sandbox = Sandbox()
            config = sandbox.config(config.gateway)
            print(f"gateway: sandbox mode (gateway.sandbox in {config_path})", flush=True)
        else:
            print(f"gateway: serving with {config_path}", flush=True)
        if not config.gateway.api_keys:
            print("gateway: WARNING no gateway.api_keys: clients are not authenticated", flush=True)
    else:
        sandbox = Sandbox()
        config = sandbox.config()
        labels = ", ".join(name.label for name in config.providers)
        print(
            f"gateway: sandbox mode (no config): built-in simulators of {labels}, "
            "no credentials needed",
            flush=True,
        )
    settings = config.gateway
    problem = None if allow_public else exposure_problem(settings, host)
    if problem:
        print(f"gateway: {problem}", file=sys.stderr)
        return 2
    try:  # before any worker starts: the store's directory must be usable
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"gateway: gateway.data_dir {settings.data_dir} cannot be used: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    configure_logging(
        secrets=config.secrets(), log_format=settings.log_format, level=settings.log_level
    )
    from gateway.http.edge import open_files_problem

    files = open_files_problem(settings.max_connections)
    if files:
        print(f"gateway: {files}", flush=True)
    print(f"gateway: GraphiQL at http://{host}:{port}/graphql", flush=True)
    if sandbox is not None:
        print("gateway: paste this into GraphiQL to try it:\n" + FIRST_MUTATION, flush=True)
    if workers > 1:
        assert config_path is not None
        # Worker processes build their own app: uvicorn imports the factory in each, which
        # reads the config path and the worker count from the environment.
        os.environ[CONFIG_ENV] = os.path.abspath(config_path)
        os.environ[WORKERS_ENV] = str(workers)
        uvicorn.run(
            "gateway.worker:create",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            **uvicorn_options(settings),
        )
        return 0
    try:
        app = create_app(config, sandbox=sandbox)
    except ConfigError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    serve_app(app, settings, host, port)
    return 0


def uvicorn_options(settings: GatewaySettings) -> dict[str, Any]:
    """How uvicorn serves the app, whatever the number of workers. Each worker process
    configures the edge itself (gateway.worker), from the same settings."""
    from gateway.http.edge import EdgeProtocol, configure_edge

    configure_edge(settings)
    return {
        # Logging is ours (masked JSON, one line per request): no uvicorn config, no access
        # log; each worker sets up its own (gateway.worker).
        "log_config": None,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "proxy_headers": False,
        # The edge: header deadline and connection cap (EdgeProtocol), idle keep-alive closed.
        "http": EdgeProtocol,
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
    }


def serve_app(app: Starlette, settings: GatewaySettings, host: str, port: int) -> None:
    """Serve one process' app until it is told to stop (what `gateway serve` runs)."""
    import uvicorn

    from gateway.ops.gc_tuning import tune_for_serving

    tune_for_serving()
    uvicorn.run(app, host=host, port=port, **uvicorn_options(settings))


if __name__ == "__main__":
    raise SystemExit(main())
