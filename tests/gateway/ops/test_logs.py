"""Logs: one masked JSON line per request; no secret, phone or email in any library's records."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from gateway.config import GatewaySettings
from gateway.ops.logs import Masker, configure_logging
from gateway.sandbox import Sandbox
from gateway.service import ContactService
from tests.support import BULK, UPDATE, UPSERT, serve

GATEWAY_KEY = "gw_" + "k3y" * 10
PHONES = ("+14155552671", "4155552671", "(415) 555-2671", "415-555-2671", "+14155552699")
DIGITS = ("4155552671", "4155552699", "555-2671", "555-2699")
EMAILS = ("jane.doe@example.com", "jane.doe%40example.com", "boom@example.org")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    yield stream
    root.setLevel(level)
    for handler in [h for h in root.handlers if getattr(h, "_gateway", False)]:
        root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("call +14155552671 now", "4155552671"),
        ("call (415) 555-2671 now", "555-2671"),
        ("GET /contacts/%2B14155552671", "4155552671"),
        ("from jane.doe@example.com", "jane.doe@"),
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("key=supersecret!", "supersecret"),
    ],
)
def test_masker_hides_phones_emails_tokens_and_secrets(text: str, hidden: str) -> None:
    assert hidden not in Masker(["supersecret"])(text)


def test_masker_leaves_dates_and_short_numbers_alone() -> None:
    text = "signupDate 2024-01-31, 3 retries, HTTP 429, 12.5 ms"
    assert Masker()(text) == text


async def test_a_full_run_logs_one_masked_line_per_request_and_no_secret(
    log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Sandbox()
    config = sandbox.config(GatewaySettings(api_keys=(SecretStr(GATEWAY_KEY),)))
    configure_logging(secrets=config.secrets(), stream=log_stream)
    logging.getLogger("httpx").setLevel(logging.INFO)
    auth = {"Authorization": f"Bearer {GATEWAY_KEY}"}
    real_upsert = ContactService.upsert

    async def upsert_that_breaks(self: ContactService, provider: Any, contact: Any) -> Any:
        if contact.email == "boom@example.org":  # an unexpected bug, its message full of data
            raise RuntimeError(f"cannot handle {contact.phone} / {contact.email}")
        return await real_upsert(self, provider, contact)

    monkeypatch.setattr(ContactService, "upsert", upsert_that_breaks)
    async with serve(config, sandbox=sandbox) as client:
        contact = {"phone": "(415) 555-2671", "email": "jane.doe@example.com"}
        ok = await client.data(UPSERT, {"provider": "TRACKLY", "contact": contact}, headers=auth)
        bad = await client.data(
            UPSERT, {"provider": "TRACKLY", "contact": {"phone": "12"}}, headers=auth
        )
        bulk = await client.data(
            BULK,
            {
                "provider": "TRACKLY",
                "contacts": [{"phone": "+14155552699"}, {"phone": "nope"}, contact],
            },
            headers=auth,
        )
        update = await client.data(
            UPDATE,
            {"provider": "TRACKLY", "contact": {"phone": "415-555-2671"}, "fields": {"v": 1}},
            headers=auth,
        )
        broken = await client.post(
            UPSERT,
            {"provider": "TRACKLY", "contact": {"phone": "+14155552671", "email": EMAILS[2]}},
            headers={**auth, "X-Request-Id": "trace-me-1"},
        )
        refused = await client.post(UPSERT, {}, headers={"Authorization": "Bearer wrong"})
    assert ok["upsertContact"]["__typename"] == "UpsertContactSuccess"
    assert bad["upsertContact"]["code"] == "INVALID_PHONE"
    assert bulk["bulkUpsertContacts"]["errorCount"] == 1
    assert update["updateContactFields"]["__typename"] == "UpdateContactFieldsSuccess"
    assert broken.json()["errors"][0]["message"] == "Unexpected error."
    assert refused.status_code == 401

    text = log_stream.getvalue()
    for secret in config.secrets():
        assert secret not in text
    for needle in (*PHONES, *DIGITS, *EMAILS):
        assert needle not in text, needle
    records = lines(log_stream)
    access = [r for r in records if r["logger"] == "gateway.access"]
    assert len(access) == 6  # one per request
    assert [r.get("outcome") for r in access] == [
        "OK",
        "INVALID_PHONE",
        "OK",
        "OK",
        "INTERNAL_ERROR",
        None,
    ]
    assert [r["status"] for r in access] == [200, 200, 200, 200, 200, 401]
    first = access[0]
    assert (first["operation"], first["provider"], first["route"]) == (
        "Upsert",
        "trackly",
        "/graphql",
    )
    assert first["provider_calls"] >= 1 and first["retries"] == 0
    assert isinstance(first["latency_ms"], float) and len(first["request_id"]) == 32
    assert access[4]["request_id"] == "trace-me-1"
    assert access[2]["mutations"] == [
        {"mutation": "bulkUpsertContacts", "provider": "trackly", "outcome": "OK"}
    ]
    # The libraries' own records went through the same masking, and were there to mask.
    crash = [r for r in records if r["logger"] == "strawberry.execution" and "exc" in r]
    assert crash and "RuntimeError: cannot handle [phone …71] / b***@example.org" in crash[0]["exc"]
    assert any(r["logger"] == "httpx" and "HTTP Request" in r["message"] for r in records)
