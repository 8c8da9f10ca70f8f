"""The HTTP surface: no input gets a 500, errors have JSON bodies, client auth, health."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import Config, GatewaySettings
from gateway.sandbox import Sandbox
from tests.support import UPSERT, serve

HEADERS = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", HEADERS, 400),
        (b"", HEADERS, 400),
        (b"[" * 200_000, HEADERS, 400),  # nesting deep enough to blow the JSON parser's stack
        (b'{"query": "\xff\xfe"}', HEADERS, 400),  # not UTF-8
        (b"query { providers { provider } }", {"content-type": "text/plain"}, 415),
        (b"42", HEADERS, 400),
        (b'{"query": 7}', HEADERS, 400),
        (b'{"variables": {}}', HEADERS, 400),
    ],
)
async def test_malformed_requests_get_a_4xx_with_a_json_body(
    body: bytes, headers: dict[str, str], status: int
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        response = await gw.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["message"]


async def test_an_oversized_body_gets_413_before_it_is_read_whole() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(GatewaySettings(max_body_bytes=2_048)), sandbox=sandbox) as gw:
        response = await gw.http.post("/graphql", content=b" " * 4_096, headers=HEADERS)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "payload_too_large"


async def test_malformed_graphql_is_a_transport_error_that_says_why() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        response = await gw.post("mutation { upsertContact(provider: NOPE) { __typename } }")
    body = response.json()
    assert "NOPE" in body["errors"][0]["message"]
    assert body["errors"][0]["message"] != "Unexpected error."


async def test_an_unexpected_exception_is_masked() -> None:
    sandbox = Sandbox()

    async def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        app_state = gw  # the adapter is reachable only through the running app
        del app_state
        from providers.trackly import TracklyAdapter

        original = TracklyAdapter.upsert
        TracklyAdapter.upsert = broken  # type: ignore[method-assign,assignment]
        try:
            response = await gw.post(
                UPSERT, {"provider": "TRACKLY", "contact": {"phone": "4155552671"}}
            )
        finally:
            TracklyAdapter.upsert = original  # type: ignore[method-assign]
    body = response.json()
    assert response.status_code == 200
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "secret internals" not in response.text


def _keyed(keys: list[str]) -> tuple[Config, Sandbox]:
    sandbox = Sandbox()
    settings = GatewaySettings(api_keys=tuple(SecretStr(k) for k in keys))
    return sandbox.config(settings), sandbox


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer wrong", "Basic a2V5LW9uZQ==", "key-one"]
)
async def test_a_missing_or_wrong_client_key_gets_401_json(authorization: str | None) -> None:
    config, sandbox = _keyed(["key-one", "key-two"])
    headers = {} if authorization is None else {"authorization": authorization}
    async with serve(config, sandbox=sandbox) as gw:
        response = await gw.post("{ providers { provider } }", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "unauthorized"
    assert "key-one" not in response.text


@pytest.mark.parametrize("key", ["key-one", "key-two"])
async def test_any_configured_client_key_is_let_in(key: str) -> None:
    config, sandbox = _keyed(["key-one", "key-two"])
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(
            "{ providers { provider configured } }", headers={"authorization": f"Bearer {key}"}
        )
    assert {"provider": "TRACKLY", "configured": True} in data["providers"]


async def test_graphiql_page_and_health_need_no_key() -> None:
    config, sandbox = _keyed(["key-one"])
    app = create_app(config, sandbox=sandbox)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            page = await http.get("/graphql", headers={"accept": "text/html"})
            health = await http.get("/healthz")
            query_by_get = await http.get(
                "/graphql",
                params={"query": "{ providers { provider } }"},
                headers={"accept": "text/html"},
            )
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert query_by_get.status_code == 401
