"""CORS for front-end apps: allowed origins configured, none by default, refusals are plain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from gateway.app import create_app
from gateway.config import ConfigError, CorsSettings, GatewaySettings, parse_config
from gateway.http.cors import GatewayCORS, vary_by_origin
from gateway.sandbox import Sandbox

APP = "https://app.example.com"
OTHER = "https://evil.example.net"
QUERY = {"query": "{ providers { provider } }"}


def preflight(origin: str, headers: str = "content-type") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": headers,
    }


async def call(
    method: str,
    headers: Mapping[str, str],
    json: Any = None,
    **gateway: Any,
) -> httpx.Response:
    sandbox = Sandbox()
    app = create_app(sandbox.config(GatewaySettings(**gateway)), sandbox=sandbox)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            return await http.request(method, "/graphql", headers=dict(headers), json=json)


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def allowing(*origins: str, **extra: Any) -> dict[str, Any]:
    return {"cors": CorsSettings(allow_origins=origins, **extra)}


async def test_by_default_no_origin_is_allowed_and_the_refusal_has_no_cors_headers() -> None:
    response = await call("OPTIONS", preflight(APP))
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "CORS_REFUSED"
    assert cors_headers(response) == {}


async def test_an_allowed_origin_gets_its_preflight_answered() -> None:
    response = await call("OPTIONS", preflight(APP, "authorization, content-type"), **allowing(APP))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert {"GET", "POST"} <= set(response.headers["access-control-allow-methods"].split(", "))
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert response.headers["access-control-max-age"] == "600"
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    ("headers", "refused"),
    [(preflight(OTHER), "origin"), (preflight(APP, "x-custom"), "headers")],
)
async def test_a_refused_preflight_is_a_json_403_without_cors_headers(
    headers: dict[str, str], refused: str
) -> None:
    response = await call("OPTIONS", headers, **allowing(APP, allow_credentials=True))
    assert response.status_code == 403
    assert refused in response.json()["errors"][0]["message"]
    assert cors_headers(response) == {}


async def test_an_allowed_origin_can_read_the_answer_with_credentials_when_enabled() -> None:
    response = await call("POST", {"origin": APP}, QUERY, **allowing(APP, allow_credentials=True))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in response.headers["vary"]


async def test_another_origin_gets_the_answer_without_any_cors_header() -> None:
    response = await call("POST", {"origin": OTHER}, QUERY, **allowing(APP, allow_credentials=True))
    # The browser then keeps the answer from the page; a non-browser client is unaffected.
    assert cors_headers(response) == {}
    assert "Origin" in response.headers["vary"]


async def test_with_client_keys_the_preflight_needs_none_and_a_401_stays_readable() -> None:
    keyed = {"api_keys": (SecretStr("key-one"),), **allowing(APP)}
    answered = await call("OPTIONS", preflight(APP, "authorization, content-type"), **keyed)
    refused = await call("POST", {"origin": APP}, QUERY, **keyed)
    let_in = await call("POST", {"origin": APP, "authorization": "Bearer key-one"}, QUERY, **keyed)
    assert answered.status_code == 200
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == APP
    assert let_in.status_code == 200 and let_in.headers["access-control-allow-origin"] == APP


async def test_a_wildcard_allows_every_origin_without_credentials() -> None:
    response = await call("POST", {"origin": OTHER}, QUERY, **allowing("*"))
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("cors", "message"),
    [
        ({"allow_origins": ["https://app.example.com/"]}, "is not an origin"),
        ({"allow_origins": ["app.example.com"]}, "is not an origin"),
        ({"allow_origins": ["*"], "allow_credentials": True}, "explicit origins"),
        ({"allow_origin": ["https://app.example.com"]}, "gateway.cors.allow_origin: unknown key"),
        ({"max_age_seconds": -1}, "gateway.cors.max_age_seconds"),
    ],
)
def test_cors_settings_mistakes_are_start_up_errors_that_name_the_key(
    cors: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"gateway": {"cors": cors}}, {})


def test_cors_settings_default_to_no_origin_and_normalise_case() -> None:
    assert GatewaySettings().cors.allow_origins == ()
    config = parse_config({"gateway": {"cors": {"allow_origins": ["https://App.Example.com"]}}}, {})
    assert config.gateway.cors.allow_origins == ("https://app.example.com",)


async def test_a_request_without_origin_gets_vary_origin_and_no_cors_header() -> None:
    response = await call("POST", {}, QUERY, **allowing(APP, allow_credentials=True))
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert response.headers.get_list("vary") == ["Origin"]


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"content-type", b"application/json")],
        [(b"vary", b"Accept-Encoding")],
        [(b"vary", b"Accept-Encoding"), (b"x-a", b"1"), (b"vary", b"Cookie")],
    ],
)
async def test_without_origin_the_answer_varies_as_starlette_would_make_it(
    headers: list[tuple[bytes, bytes]],
) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    middleware = GatewayCORS(app, allow_origins=(APP,))
    start = {"type": "http.response.start", "status": 200, "headers": list(headers)}
    await middleware.send(dict(start), send, request_headers=Headers(raw=[]))
    assert vary_by_origin(dict(start))["headers"] == sent[0]["headers"]
    assert start["headers"] == headers  # the answer's own list is left as it was
