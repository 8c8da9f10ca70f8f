"""What the import tests share: the documents, an upload per the GraphQL multipart request spec,
and waiting for a job to end."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

JOB_FIELDS = """
  id provider status total processed succeeded failed contactsCreated
  createdAt startedAt finishedAt contactsPerMinute etaSeconds warnings
"""
ERRORS = """
  errors(first: $first, after: $after) {
    index phone email
    error { __typename code message provider field retryable origin }
  }
"""
START = f"""
mutation Start($provider: Provider!, $contacts: [ContactInput!], $file: Upload,
               $format: ImportFormat) {{
  startContactImport(provider: $provider, contacts: $contacts, file: $file, format: $format) {{
    __typename
    ... on ContactImportStarted {{ contactImport {{ {JOB_FIELDS} }} }}
    ... on Error {{ code message field retryable origin }}
  }}
}}
"""
GET = f"""
query Get($id: ID!, $first: Int = 100, $after: Int = 0) {{
  contactImport(id: $id) {{ {JOB_FIELDS} {ERRORS} }}
}}
"""
LIST = f"""
query List($status: ImportStatus, $first: Int) {{
  contactImports(status: $status, first: $first) {{ {JOB_FIELDS} }}
}}
"""
CANCEL = f"""
mutation Cancel($id: ID!) {{
  cancelContactImport(id: $id) {{
    __typename
    ... on ContactImportCancelled {{ contactImport {{ {JOB_FIELDS} }} }}
    ... on Error {{ code message field retryable }}
  }}
}}
"""
PROGRESS = f"""
subscription Progress($id: ID!) {{
  contactImportProgress(id: $id) {{ {JOB_FIELDS} }}
}}
"""
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


async def upload(
    http: httpx.AsyncClient,
    provider: str,
    content: bytes,
    *,
    filename: str = "contacts.csv",
    content_type: str = "text/csv",
    format: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """startContactImport with `content` as its file, the way apollo-upload-client sends it."""
    operations = {
        "query": START,
        "operationName": "Start",
        "variables": {"provider": provider, "file": None, "format": format},
    }
    return await http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content, content_type)},
        headers=PREFLIGHT if headers is None else headers,
    )


def started(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["startContactImport"]
    assert answer["__typename"] == "ContactImportStarted", answer
    return answer["contactImport"]  # type: ignore[no-any-return]


async def finished(
    http: httpx.AsyncClient, job_id: str, *, seconds: float = 20, **page: int
) -> dict[str, Any]:
    """The job once it has ended (its errors with it), polling as a client would."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        response = await http.post(
            "/graphql", json={"query": GET, "variables": {"id": job_id, **page}}
        )
        job: dict[str, Any] = response.json()["data"]["contactImport"]
        if job["status"] in FINISHED:
            return job
        assert loop.time() < deadline, f"the import did not end in {seconds}s: {job}"
        await asyncio.sleep(0.05)
