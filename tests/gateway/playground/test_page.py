"""The playground page: served from the gateway's origin, strict CSP, no secret in the page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import gateway.playground.page as page
from gateway.app import create_app
from gateway.config import Config, GatewaySettings
from gateway.playground.page import render_page
from gateway.sandbox import Sandbox
from tests.support import trackly_config

HTML = {"accept": "text/html,application/xhtml+xml"}
SCRIPT_TAG = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Stand-in assets, so these tests do not depend on the npm build."""
    (tmp_path / page.SCRIPT).write_text("console.log('playground')")
    (tmp_path / page.STYLESHEET).write_text("body {}")
    monkeypatch.setattr(page, "ASSETS", tmp_path)
    yield tmp_path


async def get(config: Config, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    sandbox = Sandbox() if config.sandbox else None
    app = create_app(config, sandbox=sandbox)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            return await http.get(path, headers=headers, **kw)


def settings_of(response: httpx.Response) -> dict[str, Any]:
    match = re.search(
        r'<script id="playground-settings" type="application/json">(.*?)</script>', response.text
    )
    assert match, response.text
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def sandbox_config(**gateway: Any) -> Config:
    return Sandbox().config(GatewaySettings(**gateway))


async def test_a_browser_gets_the_self_hosted_page_with_scripts_only_from_this_origin(
    built: Path,
) -> None:
    response = await get(sandbox_config(), "/graphql", HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    scripts = SCRIPT_TAG.findall(response.text)
    assert scripts, response.text
    for attrs, body in scripts:
        # Either a same-origin file or a JSON data block: nothing inline ever runs.
        src = re.search(r'src="([^"]+)"', attrs)
        assert (src and src.group(1).startswith("/playground/assets/") and not body) or (
            'type="application/json"' in attrs
        ), attrs
    assert not re.search(r"(src|href)=\"(https?:)?//", response.text)
    for cdn in ("unpkg", "jsdelivr", "cdnjs", "esm.sh"):
        assert cdn not in response.text


async def test_the_page_has_a_strict_content_security_policy_with_a_fresh_style_nonce(
    built: Path,
) -> None:
    first = await get(sandbox_config(), "/graphql", HTML)
    second = await get(sandbox_config(), "/graphql", HTML)
    policy = dict(
        part.strip().split(" ", 1) for part in first.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in first.headers["content-security-policy"]
    assert "http" not in first.headers["content-security-policy"]
    nonce = settings_of(first)["styleNonce"]
    assert policy["style-src"] == f"'self' 'nonce-{nonce}'"
    assert settings_of(second)["styleNonce"] != nonce
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["cache-control"] == "no-store"


async def test_in_sandbox_mode_the_page_carries_examples_and_what_the_simulators_know(
    built: Path,
) -> None:
    settings = settings_of(await get(sandbox_config(), "/graphql", HTML))
    assert settings["sandbox"] is True and settings["authRequired"] is False
    names = [example["name"] for example in settings["examples"]]
    assert names[0] == "TracklyUpsertContact"
    assert {"TracklyBulkUpsertContacts", "TracklyUpdateContactFields"} <= set(names)
    hints = {hint["provider"]: hint for hint in settings["hints"]}
    assert set(hints) == {"TRACKLY", "HEYMARKET", "CAMPAIGNLARK"}
    values = [value for item in hints["TRACKLY"]["items"] for value in item["values"]]
    assert any("+18005551234" in value for value in values)
    assert any("+14155550123" in value and "NotSendableError" in value for value in values)
    heymarket = [v for item in hints["HEYMARKET"]["items"] for v in item["values"]]
    assert "plan" in heymarket and "vip" in heymarket
    campaignlark = [v for item in hints["CAMPAIGNLARK"]["items"] for v in item["values"]]
    assert "lead_source (required)" in campaignlark


async def test_with_a_real_config_there_are_no_sandbox_hints_and_keys_never_reach_the_page(
    built: Path,
) -> None:
    config = trackly_config(api_keys=(SecretStr("gw-key-never-shown"),))
    response = await get(config, "/graphql", HTML)
    settings = settings_of(response)
    assert response.status_code == 200
    assert settings["sandbox"] is False and settings["authRequired"] is True
    assert settings["hints"] == []
    assert "gw-key-never-shown" not in response.text
    assert "a1b2" not in response.text  # nor the provider's key


def test_the_settings_block_cannot_be_closed_early_by_its_content() -> None:
    html = render_page(
        {"sandbox": False, "examples": [{"note": "</script><script>alert(1)</script>"}]}, "n"
    )
    assert html.count("</script>") == 2  # the JSON block's and the bundle's
    assert "\\u003c/script>" in html


async def test_assets_are_served_from_the_gateway_with_nosniff(built: Path) -> None:
    response = await get(sandbox_config(), "/playground/assets/playground.js", {})
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in response.headers["content-type"]


async def test_without_a_build_the_page_and_assets_say_how_to_build_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "ASSETS", tmp_path / "missing")
    config = sandbox_config()
    page_response = await get(config, "/graphql", HTML)
    asset = await get(config, "/playground/assets/playground.js", {})
    assert page_response.status_code == 503 and "make playground" in page_response.text
    assert asset.status_code == 503
    assert asset.json()["errors"][0]["extensions"]["code"] == "PLAYGROUND_NOT_BUILT"


async def test_api_clients_still_reach_graphql_on_the_same_path(built: Path) -> None:
    response = await get(
        sandbox_config(),
        "/graphql",
        {"accept": "application/json"},
        params={"query": "{ providers { provider } }"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["providers"][0]["provider"] == "TRACKLY"
