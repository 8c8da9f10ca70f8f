"""A real Apollo Client app against a running gateway: automatic persisted queries (hashes
first, GET for hashed queries), then a safelist made by Apollo's own manifest generator.

The client project is tests/clients/apollo (pinned npm packages, committed lock); the set-up
installs it with `npm ci`, as `make test` installs the playground's, and runs the generator.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from tests.gateway.playground.browser import serve_on_loopback

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "apollo"
MANIFEST = CLIENT / "persisted-query-manifest.json"


@pytest.fixture(scope="module")
def client_project() -> Path:
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "Node.js and npm are needed (as for the playground)"
    installed = CLIENT / "node_modules" / ".package-lock.json"
    lock = CLIENT / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        _run([npm, "ci", "--no-audit", "--no-fund"])
    _run([npm, "run", "--silent", "manifest"])  # Apollo's generator: src/*.graphql -> JSON
    assert MANIFEST.is_file()
    return MANIFEST


def _run(command: list[str]) -> str:
    done = subprocess.run(
        command, cwd=CLIENT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def gateway_url(request: pytest.FixtureRequest) -> Iterator[str]:
    sandbox = Sandbox()
    settings: dict[str, Any] = getattr(request, "param", {})
    app = create_app(sandbox.config(GatewaySettings(**settings)), sandbox=sandbox)
    with serve_on_loopback(app) as origin:
        yield f"{origin}/graphql"


def run_client(url: str, *mode: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node
    out = _run([node, str(CLIENT / "run.mjs"), url, *mode])
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_apollo_client_speaks_automatic_persisted_queries(
    client_project: Path, gateway_url: str
) -> None:
    result = run_client(gateway_url)
    assert result["providers"] == ["TRACKLY", "HEYMARKET", "CAMPAIGNLARK"]
    assert "plan" in result["heymarketFields"]
    assert result["saved"]["created"] is True
    assert result["saved"]["contact"] == {
        "id": "+14155552671",
        "phone": "+14155552671",
        "__typename": "Contact",
    }
    requests = result["requests"]
    # The query: its hash alone over GET, not found, then again with its text; the mutation:
    # hash alone over POST (never GET), not found, then with its text.
    assert requests[0] == {"method": "GET", "hashOnly": True}
    assert requests[1]["hashOnly"] is False
    assert {"method": "POST", "hashOnly": True} in requests[2:]
    assert all(r["method"] == "POST" for r in requests[2:])


def _safelisted() -> dict[str, Any]:
    return {"persisted_operations": str(MANIFEST), "persisted_operations_only": True}


@pytest.mark.parametrize("gateway_url", [_safelisted()], indirect=True)
def test_a_safelisted_gateway_runs_the_apps_manifest_and_refuses_the_rest(
    client_project: Path, gateway_url: str
) -> None:
    result = run_client(gateway_url, "adhoc")
    assert result["saved"]["created"] is True
    # Every manifest operation is known by its hash: the text never has to be sent.
    assert all(r["hashOnly"] for r in result["requests"][:2])
    assert result["adhoc"] == ["PERSISTED_QUERY_NOT_ALLOWED"]
