"""Persisted operations: Apollo's automatic persisted queries, GET queries, and a safelist."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError, GatewaySettings, parse_config
from gateway.http.persisted import sha256
from gateway.sandbox import Sandbox
from tests.gateway.schema.compiled.test_differential import _fast_path
from tests.support import GatewayClient, serve

CAPABILITIES = "query Caps { providers { provider capabilities { contactKey } } }"
UPSERT = (
    "mutation Upsert($c: ContactInput!) { upsertContact(provider: TRACKLY, contact: $c) "
    "{ __typename ... on UpsertContactSuccess { created } } }"
)
CONTACT = {"c": {"phone": "4155552671"}}
OTHER = "query Other { providers { configured } }"


def hashed(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(document)}}


def apollo_manifest(tmp_path: Path, *documents: str) -> Path:
    path = tmp_path / "persisted-query-manifest.json"
    operations = [
        {"id": sha256(d), "name": d.split()[1].split("(")[0], "type": d.split()[0], "body": d}
        for d in documents
    ]
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1}
    path.write_text(json.dumps({**manifest, "operations": operations}))
    return path


@asynccontextmanager
async def gateway(**settings: Any) -> AsyncIterator[GatewayClient]:
    sandbox = Sandbox()
    async with serve(sandbox.config(GatewaySettings(**settings)), sandbox=sandbox) as gw:
        yield gw


async def test_an_unknown_hash_is_not_found_then_registered_by_its_text() -> None:
    async with gateway() as gw:
        missing = await gw.http.post("/graphql", json={"extensions": hashed(CAPABILITIES)})
        registered = await gw.http.post(
            "/graphql", json={"query": CAPABILITIES, "extensions": hashed(CAPABILITIES)}
        )
        by_hash = await gw.http.post("/graphql", json={"extensions": hashed(CAPABILITIES)})
    assert missing.status_code == 200
    [error] = missing.json()["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json() == by_hash.json() and "errors" not in by_hash.json()


async def test_a_persisted_query_key_spelt_with_json_escapes_is_still_one() -> None:
    # A body with no safelist to check and no "persistedQuery" in it passes through undecoded;
    # the same key written with JSON escapes must still be found.
    async with gateway() as gw:
        await gw.http.post(
            "/graphql", json={"query": CAPABILITIES, "extensions": hashed(CAPABILITIES)}
        )
        escaped = json.dumps({"extensions": hashed(CAPABILITIES)}).replace(
            "persistedQuery", "persisted\\u0051uery"
        )
        assert b"persistedQuery" not in escaped.encode()
        by_hash = await gw.http.post(
            "/graphql", content=escaped, headers={"content-type": "application/json"}
        )
    assert by_hash.status_code == 200, by_hash.text
    assert "errors" not in by_hash.json()
    assert by_hash.json()["data"]["providers"]


async def test_queries_may_come_as_get_by_hash_and_mutations_never_do() -> None:
    async with gateway() as gw:
        await gw.http.post(
            "/graphql", json={"query": CAPABILITIES, "extensions": hashed(CAPABILITIES)}
        )
        query = await gw.http.get(
            "/graphql",
            params={"extensions": json.dumps(hashed(CAPABILITIES))},
            headers={"Accept": "application/json"},
        )
        mutation = await gw.http.get(
            "/graphql",
            params={"query": UPSERT, "variables": json.dumps(CONTACT)},
            headers={"Accept": "application/json"},
        )
    assert query.status_code == 200 and query.json()["data"]["providers"]
    assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("extensions", "code"),
    [
        (
            {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}},
            "PERSISTED_QUERY_HASH_MISMATCH",
        ),
        (
            {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
            "PERSISTED_QUERY_VERSION_UNSUPPORTED",
        ),
        ({"persistedQuery": {"version": 1, "sha256Hash": "short"}}, "BAD_REQUEST"),
    ],
)
async def test_a_hash_that_cannot_be_trusted_is_a_400(extensions: Any, code: str) -> None:
    async with gateway() as gw:
        answer = await gw.http.post(
            "/graphql", json={"query": CAPABILITIES, "extensions": extensions}
        )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == code


async def test_a_safelisted_gateway_runs_its_manifest_and_nothing_else(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path, CAPABILITIES, UPSERT)
    settings = {"persisted_operations": str(manifest), "persisted_operations_only": True}
    async with gateway(**settings) as gw:
        listed = await gw.http.post("/graphql", json={"extensions": hashed(CAPABILITIES)})
        as_text = await gw.http.post("/graphql", json={"query": CAPABILITIES})
        other = await gw.http.post("/graphql", json={"query": "{ providers { provider } }"})
        other_hash = await gw.http.post(
            "/graphql", json={"query": OTHER, "extensions": hashed(OTHER)}
        )
        introspection = await gw.http.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
    assert "errors" not in listed.json() and "errors" not in as_text.json()
    for refused in (other, other_hash):
        assert refused.status_code == 200
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_the_playground_is_exempt_in_sandbox_mode_only(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path, CAPABILITIES)
    settings = {"persisted_operations": str(manifest), "persisted_operations_only": True}
    body = {"query": "{ providers { provider } }"}
    async with gateway(**settings) as gw:
        exempt = await gw.http.post("/graphql", json=body, headers={"x-gateway-playground": "1"})
    assert "errors" not in exempt.json()


async def test_a_manifest_mutation_is_planned_at_start_up(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path, UPSERT)
    sandbox = Sandbox()
    config = sandbox.config(GatewaySettings(persisted_operations=str(manifest)))
    async with serve(config, sandbox=sandbox) as gw:
        fast = _fast_path(gw.app)
        assert fast.book.find(UPSERT, None) is not None  # before any request
        first = await gw.http.post(
            "/graphql", json={"extensions": hashed(UPSERT), "variables": CONTACT}
        )
    assert first.json() == {
        "data": {"upsertContact": {"__typename": "UpsertContactSuccess", "created": True}}
    }


def test_a_map_manifest_is_read_and_a_wrong_hash_is_a_start_up_error(tmp_path: Path) -> None:
    good = tmp_path / "map.json"
    good.write_text(json.dumps({sha256(CAPABILITIES): CAPABILITIES}))
    parse_config({"gateway": {"persisted_operations": str(good)}}, {})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"0" * 64: CAPABILITIES}))
    with pytest.raises(ConfigError, match="is not the SHA-256"):
        parse_config({"gateway": {"persisted_operations": str(bad)}}, {})
    with pytest.raises(ConfigError, match="needs persisted_operations"):
        parse_config({"gateway": {"persisted_operations_only": True}}, {})
