"""What one HTTP request did, gathered as it runs and written out as its single log line.

Held in a ContextVar, so code far from the HTTP layer (a resolver, a provider call inside a
bulk chunk's task, the retry layer's observer) can add to it without being handed it.
"""

from __future__ import annotations

import contextvars
import os
import re
from dataclasses import dataclass, field

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class MutationOutcome:
    mutation: str
    provider: str
    outcome: str  # "OK" or an ErrorCode value


@dataclass
class RequestRecord:
    request_id: str
    operation: str | None = None
    outcomes: list[MutationOutcome] = field(default_factory=list)
    provider_calls: int = 0
    # Write requests that went out and were not refused whole (no connection, 429, 503): the
    # provider may have acted on them. Idempotency keys keep an answer only when this is > 0.
    provider_writes: int = 0
    # Changes to the gateway's own state that lead to writes later (an import job stored):
    # a retry must not make them again, so idempotency keys keep the answer too.
    state_writes: int = 0
    retries: int = 0
    pacing_wait_seconds: float = 0.0


_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "gateway_request", default=None
)


def current_request() -> RequestRecord | None:
    return _current.get()


def note_operation(name: str) -> None:
    """Add a GraphQL operation's name to the request's log line (a batch has several)."""
    record = _current.get()
    if record is not None and name:
        record.operation = name if record.operation is None else f"{record.operation},{name}"


def note_state_write() -> None:
    """The request stored something that will write to a provider (an import job)."""
    record = _current.get()
    if record is not None:
        record.state_writes += 1


def begin_request(request_id: str) -> contextvars.Token[RequestRecord | None]:
    return _current.set(RequestRecord(request_id))


def end_request(token: contextvars.Token[RequestRecord | None]) -> None:
    _current.reset(token)


def request_id_from(header: str | None) -> str:
    """The client's X-Request-Id when it is a sane token, else a new one (never echo junk)."""
    if header and _CLIENT_ID.match(header):
        return header
    return os.urandom(16).hex()  # 32 hex digits, as a uuid4's hex, for a third of the cost
