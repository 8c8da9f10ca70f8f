"""The idempotency store's contract, whatever holds the keys (SQLite by default, Redis for a
fleet): claim a key atomically, keep it alive while its request runs, then store the answer
or let the key go.

Records are keyed by a digest the HTTP edge makes of (client scope, Idempotency-Key): no store
ever sees a client's API key or the key itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "Claim",
    "Claimed",
    "IdempotencyStore",
    "InFlight",
    "Mismatch",
    "Replay",
    "StoreUnavailable",
    "StoredAnswer",
]


class StoreUnavailable(Exception):
    """The store did not answer (down, locked, full): the request fails, retryably; the check
    is never skipped."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """An HTTP answer as the client first got it: replayed byte for byte."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is this request's: `token` proves it to renew, complete or release."""

    token: str


@dataclass(frozen=True, slots=True)
class InFlight:
    """Another request with this key is running; its lease ends in `seconds` at most."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used for a different request."""


@dataclass(frozen=True, slots=True)
class Replay:
    """The key's request finished: its answer."""

    answer: StoredAnswer


Claim = Claimed | InFlight | Mismatch | Replay


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: str, lease_seconds: float) -> Claim:
        """Take `key` for a request with this `fingerprint`, atomically across every process
        sharing the store, with an in-flight lease of `lease_seconds`; or say why not. A lease
        that ran out (its process died) or a stored answer past its TTL frees the key."""
        ...

    async def renew(self, key: str, token: str, lease_seconds: float) -> bool:
        """Extend a running request's lease; False when the key is no longer its."""
        ...

    async def complete(
        self, key: str, token: str, answer: StoredAnswer, ttl_seconds: float
    ) -> bool:
        """Keep the answer for `ttl_seconds`; False when the key is no longer this request's."""
        ...

    async def release(self, key: str, token: str) -> None:
        """Let the key go: the answer proves nothing was written, so a retry may run again."""
        ...

    async def aclose(self) -> None: ...
