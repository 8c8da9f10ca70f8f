"""The error battery every provider shares: each provider supplies data, one module checks it.

A provider's `tests/providers/<name>/cases.py` exports `CASES`, a `ProviderCases`:
- `answers`: answers its API can give (every row of its error table, plus its quirks), each
  with what the client must get;
- `flows`: for each mutation, the input to send, which request the battery answers with a
  case, and the provider's ordinary answers to every other request on the way (look-ups,
  catalogues).
tests/providers/test_error_battery.py then runs every registered provider x (its answers +
the unreadable answers + every transport failure) x each mutation, and fails when a registered
provider has no cases, or a table row has no answer that lands on it.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.config import Config
from providers.errortable import ErrorRule, ErrorTable
from providers.model import ProviderName
from providers.registry import REGISTRY

V, NF, AUTH, CONF = "ValidationError", "NotFoundError", "AuthenticationError", "ConfigurationError"
DOWN, LIMIT, SENDABLE = "ProviderUnavailableError", "RateLimitedError", "NotSendableError"
MUTATIONS = ("upsert", "update", "bulk")


@dataclass(frozen=True)
class ErrorCase:
    """One provider answer and what the client must get for it.

    `field` is relative to the contact ("phone", "customFields.tier"); the battery adds the
    mutation's argument path. None: the battery does not check the field.
    """

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
    origin: str = "PROVIDER"

    def response(self) -> httpx.Response:
        if self.raw is not None:
            return httpx.Response(self.status, content=self.raw, headers=self.headers)
        return httpx.Response(self.status, json=self.body, headers=self.headers)


@dataclass(frozen=True)
class Flow:
    """How one mutation reaches the provider."""

    variables: dict[str, Any]
    target: Callable[[httpx.Request], bool]  # the request the battery answers with a case
    ordinary: Callable[[httpx.Request], httpx.Response]  # every other request's answer


@dataclass(frozen=True)
class ProviderCases:
    provider: ProviderName
    config: Callable[[], Config]
    table: ErrorTable
    key_of: Callable[[Any], str | None]  # the table key the provider's reader takes from a body
    answers: Sequence[ErrorCase]
    flows: Mapping[str, Flow]


# Answers no provider documents, read the same way whatever the provider: never a crash.
UNREADABLE_ANSWERS = [
    ErrorCase(
        id="502-html",
        status=502,
        raw=b"<html>502 Bad Gateway</html>",
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="<html>502 Bad Gateway</html>",
        retryable=True,
    ),
    ErrorCase(
        id="503-empty",
        status=503,
        raw=b"",
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code=None,  # the provider said nothing
        retryable=True,
    ),
    ErrorCase(
        id="401-non-json",
        status=401,
        raw=b"Unauthorized",
        code="UNAUTHORIZED",
        member=AUTH,
        provider_code="Unauthorized",
    ),
    ErrorCase(
        id="200-not-json",
        status=200,
        raw=b"OK!",
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code="OK!",
        retryable=True,
        origin="TRANSPORT",
    ),
    ErrorCase(
        id="200-json-array",
        status=200,
        body=["not", "an", "object"],
        code="PROVIDER_ERROR",
        member=DOWN,
        provider_code=None,
        retryable=True,
        origin="TRANSPORT",
    ),
]

# A request that never got an answer: ProviderUnavailableError, retryable, origin TRANSPORT.
TRANSPORT_FAILURES: list[tuple[Callable[[], Exception], str]] = [
    (lambda: httpx.ConnectError("refused"), "UNAVAILABLE"),
    (lambda: httpx.ReadTimeout("slow"), "TIMEOUT"),
    (lambda: httpx.RemoteProtocolError("dropped"), "UNAVAILABLE"),
]


def registered() -> dict[ProviderName, ProviderCases | None]:
    """Every registered provider's cases; None for a provider that supplies none."""
    found: dict[ProviderName, ProviderCases | None] = {}
    for name in REGISTRY:
        try:
            module = importlib.import_module(f"tests.providers.{name.value}.cases")
        except ModuleNotFoundError:
            found[name] = None
            continue
        found[name] = getattr(module, "CASES", None)
    return found


def uncovered_rows(cases: ProviderCases) -> list[ErrorRule]:
    """The rows of the provider's table no answer lands on."""
    hit: set[ErrorRule] = set()
    for case in cases.answers:
        key = cases.key_of(case.body) if case.raw is None else None
        found = cases.table.classify(case.status, key)
        if found.rule is not None:
            hit.add(found.rule)
    return [rule for rule in cases.table.rules if rule not in hit]


def ids(cases: Iterable[ErrorCase]) -> list[str]:
    return [case.id for case in cases]
