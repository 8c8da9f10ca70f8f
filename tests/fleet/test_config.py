"""Settings and start-up rules for running as a fleet: --workers, redis_url, per-worker budgets."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gateway.cli import main
from gateway.config import ConfigError, GatewaySettings, parse_config
from gateway.ops.fleet import build_fleet, prometheus_text
from gateway.sandbox import Sandbox
from providers.resilience.fleet import metric_families
from tests.fleet.procs import start_gateway
from tests.redis_server import RedisServer
from tests.support import UPSERT, serve, trackly_config

PROVIDERS = "{ providers { provider health { circuit shared rateLimit } } }"


def write(tmp_path: Path, gateway: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"[gateway]\n{gateway}\n[providers.trackly]\n"
        'base_url = "http://127.0.0.1:9"\napi_key = "trk_x"\ndefault_list_number = "+18005551234"\n'
    )
    return path


def test_several_workers_without_redis_refuse_to_start_and_say_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "")
    assert main(["serve", "--config", str(path), "--workers", "3"]) == 2
    err = capsys.readouterr().err
    assert "3 times what the providers allow" in err
    assert "gateway.redis_url" in err and "allow_per_worker_budgets" in err


def test_several_workers_need_a_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2"]) == 2
    assert "needs --config" in capsys.readouterr().err
    assert main(["serve", "--workers", "0"]) == 2


def test_per_worker_budgets_when_the_config_accepts_them(tmp_path: Path) -> None:
    gateway = start_gateway(write(tmp_path, "allow_per_worker_budgets = true"), workers=2)
    try:
        gateway.ready()
        assert httpx.get(gateway.url + "/healthz").json()["status"] == "ok"
        body = httpx.post(gateway.url + "/graphql", json={"query": PROVIDERS}).json()
        (trackly,) = [p for p in body["data"]["providers"] if p["provider"] == "TRACKLY"]
        assert trackly["health"]["shared"] is False
    finally:
        gateway.stop()
    # uvicorn's supervisor started them: two server processes under one parent. (The whole log:
    # output() is its tail, and the workers' retries of the unreachable provider can fill it.)
    log = gateway.log.read_text(errors="replace")
    assert "Started parent process" in log
    assert log.count("Started server process") >= 2


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"redis_url": "http://cache:6379"}, "gateway.redis_url: Value error, must start with"),
        ({"redis_namespace": "a b"}, "gateway.redis_namespace"),
        ({"fleet_processes": 0}, "gateway.fleet_processes"),
        ({"redis_retry_seconds": 0}, "gateway.redis_retry_seconds"),
    ],
)
def test_fleet_settings_are_checked(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config({"gateway": table}, {})


def test_the_redis_url_is_a_secret() -> None:
    config = parse_config({"gateway": {"redis_url": "redis://:hunter2@cache:6379/0"}}, {})
    assert "hunter2" not in repr(config.gateway)


def test_the_fallback_share_defaults_to_this_hosts_workers() -> None:
    assert build_fleet(GatewaySettings(), workers=4).processes == 4
    assert build_fleet(GatewaySettings(fleet_processes=12), workers=4).processes == 12


async def test_one_process_with_redis_reports_shared_state(redis_server: RedisServer) -> None:
    config = trackly_config(redis_url=SecretStr(redis_server.url), redis_namespace="inproc")
    async with serve(config) as client:
        data = await client.data(PROVIDERS)
    (trackly,) = [p for p in data["providers"] if p["provider"] == "TRACKLY"]
    assert trackly["health"]["shared"] is True


async def test_without_redis_nothing_is_shared() -> None:
    async with serve(trackly_config()) as client:
        data = await client.data(PROVIDERS)
    (trackly,) = [p for p in data["providers"] if p["provider"] == "TRACKLY"]
    assert trackly["health"]["shared"] is False


def test_metrics_render_as_prometheus_text() -> None:
    text = prometheus_text(metric_families(build_fleet(GatewaySettings())))
    assert "# TYPE gateway_redis_configured gauge\ngateway_redis_configured 0\n" in text


async def test_the_campaignlark_catalogue_is_fetched_once_for_the_fleet(
    redis_server: RedisServer,
) -> None:
    sandbox = Sandbox()
    settings = GatewaySettings(
        redis_url=SecretStr(redis_server.url), redis_namespace=f"t{uuid.uuid4().hex[:8]}"
    )
    config = sandbox.config(settings)
    contact = {"email": "arya@example.com", "customFields": {"lead_source": "fleet"}}
    async with serve(config, sandbox=sandbox) as one, serve(config, sandbox=sandbox) as two:
        for gateway in (one, two, one):
            data = await gateway.data(UPSERT, {"provider": "CAMPAIGNLARK", "contact": contact})
            assert data["upsertContact"]["__typename"] == "UpsertContactSuccess", data
    catalogue_reads = [r for r in sandbox.campaignlark.requests if r == ("GET", "/v1/fields")]
    assert len(catalogue_reads) == 1


async def test_heymarket_field_ids_are_fetched_once_for_the_fleet(
    redis_server: RedisServer,
) -> None:
    sandbox = Sandbox()
    settings = GatewaySettings(
        redis_url=SecretStr(redis_server.url), redis_namespace=f"t{uuid.uuid4().hex[:8]}"
    )
    config = sandbox.config(settings)
    contact = {"phone": "(510) 555-3344", "customFields": {"plan": "gold"}}
    async with serve(config, sandbox=sandbox) as one, serve(config, sandbox=sandbox) as two:
        for gateway in (one, two, one):
            data = await gateway.data(UPSERT, {"provider": "HEYMARKET", "contact": contact})
            assert data["upsertContact"]["__typename"] == "UpsertContactSuccess", data
    field_reads = [r for r in sandbox.heymarket.requests if r[1] == "/v1/contact-fields"]
    assert len(field_reads) == 1
