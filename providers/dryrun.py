"""Dry runs, written once for every provider: reads go out, writes are recorded instead.

A dry run is a per-operation context (a ContextVar, so the bulk tasks an operation starts see
it too). While one is active, `ProviderHttp.call` lets the requests an adapter marks as reads
(catalogue loads, look-ups) go to the provider as usual, through pacing and the breaker, and
notes each one; a request marked as a write is not sent: it is recorded as a `ProviderRequest`
(method, path, the body bytes exactly as the encoder made them, never a header) and answered
with the provider's stand-in (its wire.py says what each write endpoint answers), so the
adapter's flow runs to its end and every check it makes is made.

Nothing here knows a provider or GraphQL: the gateway reads `DryRun.writes` and `notes()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "DryRun",
    "ProviderRequest",
    "StandIn",
    "current",
    "recording",
    "request_target",
]

# (method, path without its query, the body as sent, parsed) -> (status, JSON answer): what the
# provider would answer a write, for the adapter to read during a dry run.
StandIn = Callable[[str, str, Any], tuple[int, Any]]


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """One write request as it would go on the wire: no host, no header, the exact body."""

    method: str
    path: str  # relative to the account's base_url, with its query string
    content: bytes | None

    def body(self) -> Any:
        """The body as JSON (the standard library's parser: integers of any size exact)."""
        return None if self.content is None else json.loads(self.content)


@dataclass(slots=True)
class DryRun:
    """What one dry-run operation would have written, and what it read to find out."""

    writes: list[ProviderRequest] = field(default_factory=list)
    reads: list[tuple[str, str]] = field(default_factory=list)  # (provider label, "GET /path")

    def notes(self) -> list[str]:
        """Warnings for the answer: that nothing was written, and which reads were made."""
        notes = [
            "dry run: nothing was written; preview lists the "
            f"{len(self.writes)} write request(s) a real call would send. Ids, created flags "
            "and counts in this answer are stand-ins, not the provider's"
        ]
        by_provider: dict[str, Counter[str]] = {}
        for provider, request in self.reads:
            by_provider.setdefault(provider, Counter())[request] += 1
        for provider, counts in by_provider.items():
            listed = ", ".join(
                request if n == 1 else f"{request} (x{n})" for request, n in counts.items()
            )
            notes.append(f"dry run: read from {provider} (reads are allowed): {listed}")
        return notes


_current: contextvars.ContextVar[DryRun | None] = contextvars.ContextVar("dry_run", default=None)


def current() -> DryRun | None:
    """The dry run the running operation is part of, or None for a real call."""
    return _current.get()


@contextlib.contextmanager
def recording() -> Iterator[DryRun]:
    """Run the body of the `with` as a dry run; tasks it starts inherit it."""
    run = DryRun()
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)


def request_target(path: str, params: Mapping[str, str] | None) -> str:
    """The path with its query string, encoded exactly as httpx encodes `params` on the wire."""
    if not params:
        return path
    return httpx.URL(path, params=params).raw_path.decode("ascii")
