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
RESOLUTION = "OPERATION_RESOLUTION_FAILURE"


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
        (b"[]", HEADERS, 400),  # an empty batch: answered 200 [] before
    ],
)
async def test_malformed_requests_get_a_4xx_with_a_json_body(
    body: bytes, headers: dict[str, str], status: int
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        response = await gw.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert error["message"] and error["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "application/graphql-response+json", None]
)
async def test_get_without_a_query_is_a_400_that_says_so_unless_a_browser_asks(
    accept: str | None,
) -> None:
    # GraphQL over HTTP: a GET carries its query in the URL; one without is a bad request.
    # It answered 404 (code bad_request) before.
    sandbox = Sandbox()
    headers = {"accept": accept} if accept else {}
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        missing = await gw.http.get("/graphql", headers=headers)
        query = await gw.http.get("/graphql", params={"query": "{ __typename }"}, headers=headers)
        page = await gw.http.get("/graphql", headers={"accept": "text/html"})
    assert missing.status_code == 400
    assert missing.json()["errors"] == [
        {
            "message": "No GraphQL query found in the request",
            "extensions": {"code": "BAD_REQUEST"},
        }
    ]
    assert query.json() == {"data": {"__typename": "Query"}}
    assert page.status_code in (200, 503) and "text/html" in page.headers["content-type"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"query": "{ providers {"}, 200, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, 200, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": UPSERT, "variables": {"provider": "NOPE", "contact": {}}},
            200,
            "BAD_USER_INPUT",
        ),
        ({"query": "query A { __typename } query B { a: __typename }"}, 400, RESOLUTION),
        ({"query": "{ __typename }", "operationName": "Z"}, 400, RESOLUTION),
        ([{"query": "{ __typename }"}] * 6, 400, "TOO_MANY_OPERATIONS"),
        ({"query": "mutation { __typename }"}, 405, "METHOD_NOT_ALLOWED"),  # as a GET: below
    ],
)
async def test_every_transport_level_error_carries_its_code(
    body: object, status: int, code: str
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        if isinstance(body, dict) and body["query"].startswith("mutation"):
            response = await gw.http.get("/graphql", params=body)  # no mutations over GET
        else:
            response = await gw.http.post("/graphql", json=body)
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code, error


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "NOT_FOUND"),
        ("POST", "/healthz", 405, "METHOD_NOT_ALLOWED"),
    ],
)
async def test_starlettes_own_refusals_are_named_like_the_gateways(
    method: str, path: str, status: int, code: str
) -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        response = await gw.http.request(method, path)
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code, error


async def test_an_oversized_body_gets_413_before_it_is_read_whole() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(GatewaySettings(max_body_bytes=2_048)), sandbox=sandbox) as gw:
        response = await gw.http.post("/graphql", content=b" " * 4_096, headers=HEADERS)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


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
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
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
