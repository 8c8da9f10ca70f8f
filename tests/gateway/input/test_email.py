"""The gateway's email check (email-validator, syntax only): CampaignLark's key, any input's."""

from __future__ import annotations

import httpx
import pytest

from gateway.input import validation
from providers.errors import ErrorCode, ProviderError
from providers.model import ProviderName
from tests.support import UPSERT, serve, trackly_config


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Tyrion@Example.COM", "Tyrion@example.com"),  # the domain is case-insensitive
        ("  jon.snow+night@watch-wall.org ", "jon.snow+night@watch-wall.org"),
        ("arya@no-such-domain-anywhere-4f2a.com", "arya@no-such-domain-anywhere-4f2a.com"),
        ("   ", None),
        (None, None),
    ],
)
def test_email_is_normalised_without_any_dns_look_up(
    raw: str | None, normalised: str | None
) -> None:
    assert validation.email(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "hodor",
        "hodor@",
        "@winterfell.com",
        "hodor@winterfell",
        "ho dor@winterfell.com",
        "a@b@c.com",
        "x" * 250 + "@example.com",
    ],
)
def test_malformed_email_is_invalid_email_on_the_email_field(raw: str) -> None:
    with pytest.raises(ProviderError) as caught:
        validation.email(raw)
    failure = caught.value.failure
    assert (failure.code, failure.field, failure.provider) == (
        ErrorCode.INVALID_EMAIL,
        "email",
        None,
    )


async def test_malformed_email_is_refused_for_trackly_too_without_a_call() -> None:
    calls: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"success": True, "contact_id": "c1"})

    transport = httpx.MockTransport(provider)
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as gw:
        data = await gw.data(
            UPSERT, {"provider": "TRACKLY", "contact": {"phone": "4155552671", "email": "nope"}}
        )
    result = data["upsertContact"]
    assert (result["code"], result["field"], result["provider"]) == (
        "INVALID_EMAIL",
        "contact.email",
        None,
    )
    assert calls == []
