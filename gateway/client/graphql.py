"""A small client of a running gateway's GraphQL API, for the CLI's import commands.

It speaks what any client would: JSON POSTs with `Authorization: Bearer <key>`, and the GraphQL
multipart request spec for a file (streamed from disk, never read whole into memory).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV, KEY_ENV = "GATEWAY_URL", "GATEWAY_API_KEY"


class ClientError(Exception):
    """The gateway could not be reached, or refused the request itself (not a typed answer)."""


@dataclass(frozen=True)
class Endpoint:
    url: str  # the gateway's base URL (without /graphql)
    api_key: str | None

    @classmethod
    def from_args(cls, url: str | None, api_key: str | None) -> Endpoint:
        base = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        base = base.removesuffix("/graphql")
        return cls(base, api_key or os.environ.get(KEY_ENV) or None)

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


class GraphQLClient:
    def __init__(self, endpoint: Endpoint, *, timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self.http = httpx.Client(timeout=timeout, headers=endpoint.headers())

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The answer's `data`; ClientError for transport errors and GraphQL `errors`."""
        return self._answer(
            lambda: self.http.post(
                self.endpoint.graphql, json={"query": query, "variables": variables or {}}
            )
        )

    def upload(
        self, query: str, variables: dict[str, Any], name: str, path: Path, content_type: str
    ) -> dict[str, Any]:
        """Run `query` with the file at `path` as the variable `name` (the multipart spec)."""
        operations = {"query": query, "variables": {**variables, name: None}}
        with path.open("rb") as handle:
            return self._answer(
                lambda: self.http.post(
                    self.endpoint.graphql,
                    data={
                        "operations": json.dumps(operations),
                        "map": json.dumps({"0": [f"variables.{name}"]}),
                    },
                    files={"0": (path.name, handle, content_type)},
                    # strawberry refuses a multipart request that a browser could have sent
                    # cross-site without a preflight; this header makes it a non-simple one.
                    headers={"Apollo-Require-Preflight": "true"},
                    timeout=None,  # a big file takes as long as it takes to send
                )
            )

    def _answer(self, send: Any) -> dict[str, Any]:
        try:
            response: httpx.Response = send()
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the gateway at {self.endpoint.url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise ClientError(
                f"the gateway answered HTTP {response.status_code}: {response.text[:300]}"
            ) from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors or response.status_code != 200:
            message = "; ".join(str(e.get("message")) for e in errors or [] if isinstance(e, dict))
            raise ClientError(f"HTTP {response.status_code}: {message or response.text[:300]}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise ClientError("the gateway's answer has no data")
        return data
