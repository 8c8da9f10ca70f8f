"""What a front-end reads to build a contact form: capabilities and the accounts' catalogues."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Config
from gateway.sandbox import Sandbox
from providers.simulator.faults import Fault
from tests.support import serve

README = Path(__file__).resolve().parents[3] / "README.md"


def form_query() -> str:
    """The README's contact-form query, as a front-end developer would copy it."""
    text = README.read_text()
    found = re.search(r"```graphql\n(query ContactForm.*?)```", text, re.S)
    assert found, "README shows the ContactForm query"
    return found.group(1)


async def test_the_readme_form_query_answers_every_provider_from_one_request() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        data = await gw.data(form_query())
    by_provider = {p["provider"]: p for p in data["providers"]}
    assert set(by_provider) == {"TRACKLY", "HEYMARKET", "CAMPAIGNLARK"}
    trackly = by_provider["TRACKLY"]["capabilities"]
    assert trackly["contactKey"] == "phone" and trackly["nativeBulk"] is True
    assert trackly["maxContactsPerRequest"] == 1000
    stored = {f["field"]: f["stored"] for f in trackly["fields"]}
    assert stored["email"] is False and stored["listNumber"] is True
    heymarket = by_provider["HEYMARKET"]["capabilities"]
    assert heymarket["maxTags"] == 5 and heymarket["statuses"] == ["SUBSCRIBED", "UNSUBSCRIBED"]
    assert heymarket["rateLimit"] == "500/minute"
    lark = by_provider["CAMPAIGNLARK"]["capabilities"]
    assert lark["contactKey"] == "email" and len(lark["statuses"]) == 5
    assert data["trackly"] == [] and data["tracklyTags"] == []  # free-form, no tags
    assert {f["key"] for f in data["heymarket"]} >= {"plan", "tier", "vip"}
    assert "vip" in data["heymarketTags"]
    lead = next(f for f in data["campaignlark"] if f["key"] == "lead_source")
    assert lead["required"] is True and lead["label"]
    assert "email_address" not in {f["key"] for f in data["campaignlark"]}
    assert "newsletter" in data["campaignlarkTags"]


async def test_capabilities_of_a_provider_not_configured_still_answer() -> None:
    sandbox = Sandbox()
    only_trackly = sandbox.config()
    config = Config(
        only_trackly.gateway,
        {k: v for k, v in only_trackly.providers.items() if k.value == "trackly"},
        sandbox=True,
    )
    query = "{ providers { provider configured capabilities { contactKey maxTags } } }"
    async with serve(config, sandbox=sandbox) as gw:
        data = await gw.data(query)
    heymarket = next(p for p in data["providers"] if p["provider"] == "HEYMARKET")
    assert heymarket["configured"] is False
    assert heymarket["capabilities"] == {"contactKey": "phone", "maxTags": 5}


async def test_a_catalogue_of_a_provider_not_configured_is_a_coded_error() -> None:
    sandbox = Sandbox()
    only = sandbox.config()
    config = Config(
        only.gateway,
        {k: v for k, v in only.providers.items() if k.value == "trackly"},
        sandbox=True,
    )
    async with serve(config, sandbox=sandbox) as gw:
        response = await gw.post("{ tags(provider: HEYMARKET) }")
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "PROVIDER_NOT_CONFIGURED"
    assert error["extensions"]["retryable"] is False


@pytest.mark.parametrize(
    ("provider", "path"),
    [("HEYMARKET", "/v1/contact-fields"), ("CAMPAIGNLARK", "/v1/fields")],
)
async def test_a_catalogue_the_provider_cannot_serve_is_a_retryable_coded_error(
    provider: str, path: str
) -> None:
    sandbox = Sandbox()
    simulator: Any = sandbox.heymarket if provider == "HEYMARKET" else sandbox.campaignlark
    simulator.faults.add(Fault(status=500, times=None, path=path))
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        response = await gw.post(f"{{ customFieldDefinitions(provider: {provider}) {{ key }} }}")
    [error] = response.json()["errors"]
    extensions = error["extensions"]
    assert (extensions["code"], extensions["provider"], extensions["retryable"]) == (
        "PROVIDER_ERROR",
        provider,
        True,
    )
    assert extensions["origin"] == "PROVIDER"


async def test_catalogues_are_read_through_the_cache_the_writes_use() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as gw:
        for _ in range(3):
            await gw.data("{ customFieldDefinitions(provider: HEYMARKET) { key } }")
        data = await gw.data(
            "mutation($c: ContactInput!) { upsertContact(provider: HEYMARKET, contact: $c) "
            "{ __typename } }",
            {"c": {"phone": "4155552671", "customFields": {"plan": "gold"}}},
        )
    assert data["upsertContact"]["__typename"] == "UpsertContactSuccess"
    loads = [r for r in sandbox.heymarket.requests if r[1] == "/v1/contact-fields"]
    assert len(loads) == 1
