"""Helpers for the CampaignLark tests: a config, and a scripted fake of the provider's wire."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from gateway.config import Config, GatewaySettings
from providers.campaignlark import CampaignLarkSettings
from providers.model import ProviderName

LARK_KEY = "cl_test_" + "9f" * 12
LARK_URL = "https://campaignlark.test"
CONTACT_ID = "64f1a2b3c4d5e6f7a8b9c0d1"

FIELDS = [
    {"id": 1, "label": "Email address", "merge_tag": "email_address", "required": True},
    {"id": 2, "label": "First name", "merge_tag": "first_name", "required": False},
    {"id": 3, "label": "Last name", "merge_tag": "last_name", "required": False},
    {"id": 4, "label": "Phone", "merge_tag": "phone_number", "required": False},
    {"id": 5, "label": "Plan", "merge_tag": "plan", "required": False},
    {"id": 6, "label": "Company", "merge_tag": "company", "required": True},
]
TAGS = [{"id": 1, "name": "newsletter"}, {"id": 3, "name": "vip"}]


def lark_config(*, phone_merge_tag: str | None = "phone_number", **gateway: Any) -> Config:
    return Config(
        GatewaySettings(**gateway),
        {
            ProviderName.CAMPAIGNLARK: CampaignLarkSettings(
                base_url=LARK_URL, api_key=SecretStr(LARK_KEY), phone_merge_tag=phone_merge_tag
            )
        },
    )


def contact_json(
    *,
    status: str = "UNSUBSCRIBED",
    tags: list[dict[str, Any]] | None = None,
    data: dict[str, Any] | None = None,
    created: str = "2024-01-10T08:00:00Z",
    updated: str = "2024-02-15T10:30:00Z",
) -> dict[str, Any]:
    return {
        "id": CONTACT_ID,
        "status": status,
        "tags": TAGS if tags is None else tags,
        "data": data
        if data is not None
        else {"email_address": "tyrion@example.com", "first_name": "Tyrion", "company": "L"},
        "statistics": {"total_opens": 5},
        "created_at": created,
        "updated_at": updated,
    }


Handler = Callable[[httpx.Request], httpx.Response]


class FakeLark:
    """Answers the catalogue and look-ups like CampaignLark; writes as scripted; records all."""

    def __init__(self, **routes: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.routes = routes  # "GET /v1/contacts/by-email" -> handler

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        key = f"{request.method} {path}"
        if key in self.routes:
            return self.routes[key](request)
        if key == "GET /v1/fields":
            return httpx.Response(200, json={"data": FIELDS})
        if key == "GET /v1/tags":
            return httpx.Response(
                200, json={"data": TAGS, "pagination": {"page": 1, "total_pages": 1}}
            )
        if request.method == "GET" and path.startswith("/v1/contacts/"):
            return httpx.Response(200, json={"data": contact_json()})
        return httpx.Response(200, json={"data": contact_json()})

    def sent(self, method: str, path: str) -> list[dict[str, Any]]:
        """The JSON bodies of the requests made to `method path`."""
        return [
            json.loads(r.content or b"null")
            for r in self.requests
            if r.method == method and r.url.path == path
        ]

    def calls(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]
