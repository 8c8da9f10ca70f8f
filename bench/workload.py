"""What the benchmark sends: GraphQL bodies for the gateway and the same contacts on the wire."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

TRACKLY_KEY = "trk_bench" + "0" * 27
LIST_NUMBER = "+18005551234"

UPSERT = """
mutation Upsert($contact: ContactInput!) {
  upsertContact(provider: TRACKLY, contact: $contact) {
    __typename
    ... on UpsertContactSuccess { contact { id phone } created journeysEnrolled warnings }
    ... on Error { code message }
  }
}
"""

BULK = """
mutation Bulk($contacts: [ContactInput!]!) {
  bulkUpsertContacts(provider: TRACKLY, contacts: $contacts) {
    __typename
    ... on BulkUpsertContactsSuccess {
      successCount errorCount contactsCreated warnings
      errors { index error { code message } }
    }
    ... on Error { code message }
  }
}
"""


def upsert_body() -> dict[str, Any]:
    contact = {"phone": "(415) 555-2671", "customFields": {"plan": "gold", "visits": 3}}
    return {"query": UPSERT, "variables": {"contact": contact}}


def contacts(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Distinct US numbers in the national format people type, so every one is parsed anew."""
    return [
        {
            "phone": f"(415) {200 + n // 10_000:03d}-{n % 10_000:04d}",
            "customFields": {"plan": "gold", "visits": n % 7},
        }
        for n in range(start, start + count)
    ]


def bulk_body(count: int, start: int = 0) -> bytes:
    return json.dumps({"query": BULK, "variables": {"contacts": contacts(count, start)}}).encode()


def wire_chunks(count: int, start: int = 0, size: int = 1_000) -> list[bytes]:
    """The same contacts as Trackly's bulk endpoint takes them, already in E.164."""
    items = [
        {
            "phone_number": f"+1415{200 + n // 10_000:03d}{n % 10_000:04d}",
            "list_number": LIST_NUMBER,
            "use_journeys": False,
            "skip_journey_if_exists": True,
            "custom_fields": {"plan": "gold", "visits": n % 7},
            "override_custom_fields": False,
        }
        for n in range(start, start + count)
    ]
    return [
        json.dumps({"contacts": items[i : i + size]}, separators=(",", ":")).encode()
        for i in range(0, len(items), size)
    ]


def post_json(url: str, body: bytes, timeout: float = 120.0) -> Any:
    """One blocking POST on a fresh connection; the answer's JSON (raises on non-2xx)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("POST", parts.path or "/", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise RuntimeError(f"{url} answered {response.status}: {data[:300]!r}")
    return json.loads(data)


def gateway_config(simulator_url: str, **gateway: Any) -> str:
    """A gateway config (TOML) with Trackly pointed at `simulator_url`."""
    lines = ["[gateway]"] + [f"{key} = {json.dumps(value)}" for key, value in gateway.items()]
    lines += [
        "",
        "[providers.trackly]",
        f'base_url = "{simulator_url}"',
        f'api_key = "{TRACKLY_KEY}"',
        f'default_list_number = "{LIST_NUMBER}"',
    ]
    return "\n".join(lines) + "\n"
