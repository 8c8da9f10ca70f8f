"""Client auth: keys in constant time, a JSON 401, and no serving without keys on a public host."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from gateway.cli import main
from gateway.config import GatewaySettings, exposure_problem, is_loopback
from tests.support import UPSERT, serve, trackly_config

KEYS = (SecretStr("gw_first_key_0001"), SecretStr("gw_second_key_0002"))


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic gw_first_key_0001", "gw_first_key_0001"],
)
async def test_a_missing_or_wrong_key_gets_a_json_401(header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    async with serve(trackly_config(api_keys=KEYS)) as client:
        response = await client.post(UPSERT, {}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "gw_first_key_0001" not in response.text


@pytest.mark.parametrize("key", [k.get_secret_value() for k in KEYS])
async def test_every_configured_key_is_let_in(key: str) -> None:
    async with serve(trackly_config(api_keys=KEYS)) as client:
        data = await client.data("{ __typename }", headers={"Authorization": f"Bearer {key}"})
    assert data == {"__typename": "Query"}


async def test_health_and_readiness_need_no_key() -> None:
    async with serve(trackly_config(api_keys=KEYS)) as client:
        assert (await client.http.get("/healthz")).status_code == 200
        assert (await client.http.get("/readyz")).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    assert exposure_problem(GatewaySettings(), host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "gateway.example.com"])
def test_a_public_host_without_keys_is_refused_unless_allowed(host: str) -> None:
    assert not is_loopback(host)
    problem = exposure_problem(GatewaySettings(), host)
    assert problem is not None and "gateway.api_keys" in problem
    assert exposure_problem(GatewaySettings(api_keys=KEYS), host) is None
    assert exposure_problem(GatewaySettings(allow_unauthenticated_public=True), host) is None


def test_serve_refuses_a_public_host_without_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2  # never binds
    assert "refusing to serve on 0.0.0.0 without gateway.api_keys" in capsys.readouterr().err


def test_serve_refuses_a_config_without_keys_on_a_public_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "open.toml"
    path.write_text('[providers.trackly]\napi_key = "trk_x"\n')
    assert main(["serve", "--config", str(path), "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "refusing to serve" in capsys.readouterr().err


async def test_a_websocket_shows_an_api_key_in_its_handshake_or_connection_init() -> None:
    """Browsers cannot set headers on a WebSocket: connection_init's payload carries the key."""
    from types import SimpleNamespace

    from strawberry.exceptions import ConnectionRejectionError

    from gateway.http.graphql import GraphQLApp
    from gateway.ops.metrics import GatewayMetrics
    from gateway.schema import build_schema

    app = GraphQLApp(lambda: None, build_schema(), GatewayMetrics(), keys=["k-1", "k-2"])  # type: ignore[arg-type,return-value]

    def context(header: str = "", params: object = None) -> dict[str, object]:
        request = SimpleNamespace(headers={"authorization": header} if header else {})
        return {"request": request, "connection_params": params}

    await app.on_ws_connect(context("Bearer k-2"))
    await app.on_ws_connect(context(params={"Authorization": "Bearer k-1"}))
    await app.on_ws_connect(context(params={"authorization": "bearer k-1"}))
    for refused in (context(), context("Bearer nope"), context(params={"Authorization": 3})):
        with pytest.raises(ConnectionRejectionError):
            await app.on_ws_connect(refused)
