"""The error battery every provider shares: each provider supplies cases, this checks them.

A case is one provider answer and what the client must get for it. `assert_covers_table`
makes sure the cases walk every row of the provider's ERROR_TABLE, so a row added without a
case fails the suite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from providers.errortable import ErrorRule, ErrorTable


@dataclass(frozen=True)
class ErrorCase:
    id: str
    status: int
    body: Any = None  # JSON body; ignored when raw is set
    code: str = ""
    member: str = ""
    provider_code: str | None = None
    retryable: bool = False
    field: str | None = None
    raw: bytes | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    retry_after: float | None = None

    def response(self) -> httpx.Response:
        if self.raw is not None:
            return httpx.Response(self.status, content=self.raw, headers=self.headers)
        return httpx.Response(self.status, json=self.body, headers=self.headers)


# Answers no provider documents, read the same way whatever the provider: never a crash.
UNREADABLE_ANSWERS = [
    ErrorCase(
        id="502-html",
        status=502,
        raw=b"<html>502 Bad Gateway</html>",
        code="PROVIDER_ERROR",
        member="ProviderUnavailableError",
        provider_code="<html>502 Bad Gateway</html>",
        retryable=True,
    ),
    ErrorCase(
        id="503-empty",
        status=503,
        raw=b"",
        code="PROVIDER_ERROR",
        member="ProviderUnavailableError",
        provider_code="HTTP 503",
        retryable=True,
    ),
    ErrorCase(
        id="401-non-json",
        status=401,
        raw=b"Unauthorized",
        code="UNAUTHORIZED",
        member="AuthenticationError",
        provider_code="Unauthorized",
    ),
    ErrorCase(
        id="200-not-json",
        status=200,
        raw=b"OK!",
        code="PROVIDER_ERROR",
        member="ProviderUnavailableError",
        provider_code="OK!",
        retryable=True,
    ),
]

# A request that never got an answer; the member is ProviderUnavailableError, retryable.
TRANSPORT_FAILURES = [
    (httpx.ConnectError("refused"), "UNAVAILABLE"),
    (httpx.ReadTimeout("slow"), "TIMEOUT"),
    (httpx.RemoteProtocolError("dropped"), "UNAVAILABLE"),
]


def assert_covers_table(table: ErrorTable, cases: Iterable[ErrorCase], key_of: Any) -> None:
    """Every rule of `table` is the one some case lands on."""
    hit: set[ErrorRule] = set()
    for case in cases:
        found = table.classify(case.status, key_of(case.body) if case.raw is None else None)
        if found.rule is not None:
            hit.add(found.rule)
    missing = [rule for rule in table.rules if rule not in hit]
    assert not missing, f"error table rows without a battery case: {missing}"


def assert_error(result: dict[str, Any], case: ErrorCase, provider: str | None) -> None:
    assert result["__typename"] == case.member, (case.id, result)
    assert result["code"] == case.code, (case.id, result)
    assert result["provider"] == provider, (case.id, result)
    assert result["providerCode"] == case.provider_code, (case.id, result)
    assert result["retryable"] is case.retryable, (case.id, result)
    if case.field is not None:
        assert result["field"] == case.field, (case.id, result)
    assert result["message"], case.id
    if case.retry_after is not None:
        assert result["retryAfterSeconds"] == case.retry_after, (case.id, result)


def ids(cases: Sequence[ErrorCase]) -> list[str]:
    return [case.id for case in cases]
