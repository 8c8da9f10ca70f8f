"""Helpers shared by the tests: run the real ASGI app (lifespan included) and query it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from gateway.app import create_app
from gateway.config import Config
from gateway.sandbox import Sandbox
from providers.model import ProviderName

# Re-exported: many tests use a Trackly account as "a provider".
from tests.providers.trackly.support import LIST_NUMBER as LIST_NUMBER
from tests.providers.trackly.support import TRACKLY_KEY as TRACKLY_KEY
from tests.providers.trackly.support import TRACKLY_URL as TRACKLY_URL
from tests.providers.trackly.support import trackly_config as trackly_config


class GatewayClient:
    def __init__(self, http: httpx.AsyncClient, app: Any = None) -> None:
        self.http = http
        self.app = app  # the Starlette app served, for tests that look inside it

    async def post(
        self, query: str, variables: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": dict(variables or {})}, **kwargs
        )

    async def data(
        self, query: str, variables: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The `data` of a GraphQL answer that must carry no transport-level errors."""
        response = await self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def serve(
    config: Config,
    *,
    transports: Mapping[ProviderName, httpx.AsyncBaseTransport] | None = None,
    sandbox: Sandbox | None = None,
    **options: Any,
) -> AsyncIterator[GatewayClient]:
    # `options` go to create_app as they are (clock, sleep, tracer_provider).
    # A provider given no fake gets httpx's own transport, which respx's default mocker patches
    # (production clients run on aiohttp, below respx; tests/providers/test_transport.py
    # covers that one).
    wire: dict[ProviderName, httpx.AsyncBaseTransport] = {
        name: httpx.AsyncHTTPTransport() for name in config.providers
    }
    if sandbox is not None:
        wire.update(sandbox.transports())
    wire.update(transports or {})
    app = create_app(config, transports=wire, sandbox=sandbox, **options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield GatewayClient(http, app)


def answer(
    status: int = 200,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.MockTransport:
    """A provider that gives the same answer to every request."""

    def handler(request: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(handler)


UPSERT = """
mutation Upsert($provider: Provider!, $contact: ContactInput!) {
  upsertContact(provider: $provider, contact: $contact) {
    __typename
    ... on UpsertContactSuccess {
      contact { provider id phone email customFields }
      created listMembershipCreated listContactId journeysEnrolled warnings
    }
    ... on Error { code message provider providerCode field retryable origin }
    ... on RateLimitedError { retryAfterSeconds }
    ... on ProviderUnavailableError { retryAfterSeconds }
  }
}
"""

BULK = """
mutation Bulk($provider: Provider!, $contacts: [ContactInput!]!) {
  bulkUpsertContacts(provider: $provider, contacts: $contacts) {
    __typename
    ... on BulkUpsertContactsSuccess {
      successCount errorCount contactsCreated listContactsCreated journeysEnrolled warnings
      errors {
        index phone email
        error {
          __typename code message provider providerCode field retryable origin
          ... on RateLimitedError { retryAfterSeconds }
          ... on ProviderUnavailableError { retryAfterSeconds }
        }
      }
    }
    ... on Error { code message provider providerCode field retryable origin }
    ... on RateLimitedError { retryAfterSeconds }
    ... on ProviderUnavailableError { retryAfterSeconds }
  }
}
"""

UPDATE = """
mutation Update($provider: Provider!, $contact: ContactRefInput!, $fields: CustomFields!,
                $mode: FieldUpdateMode) {
  updateContactFields(provider: $provider, contact: $contact, customFields: $fields,
                      mode: $mode) {
    __typename
    ... on UpdateContactFieldsSuccess { contact { provider id phone email } customFields }
    ... on Error { code message provider providerCode field retryable origin }
    ... on RateLimitedError { retryAfterSeconds }
    ... on ProviderUnavailableError { retryAfterSeconds }
  }
}
"""


class FakeClock:
    """A clock that moves only when someone sleeps on it: pacing and breakers without waiting."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)
