"""Idempotency keys: a mutation request carrying `Idempotency-Key` is carried out at most once.

Pure ASGI, inside AuthGuard (the key's scope is the client's API key) and AccessLog (whose
per-request record counts the write requests that reached a provider). For a POST /graphql with
the header whose operation is a mutation:

1. The key is checked (1 to 255 printable ASCII characters, one header): else 400.
2. The request is fingerprinted (keyed_request.py): each operation's document (or
   persisted-query hash), operationName and variables, as canonical JSON (keys sorted), SHA-256.
3. The key, scoped by a digest of the client's API key, is claimed in the store atomically with
   an in-flight lease that the running request renews; a process that dies stops renewing, and
   the key is free again once the lease runs out.
   - taken by the same request, finished: its stored answer, byte for byte, with
     `Idempotent-Replayed: true`, and no provider call;
   - taken by another request: 422 IDEMPOTENCY_KEY_MISMATCH;
   - the same request still running: 409 IDEMPOTENCY_KEY_IN_FLIGHT, with Retry-After;
   - a store that does not answer: 503 IDEMPOTENCY_STORE_UNAVAILABLE, with Retry-After.
4. The request runs. Its answer is kept (status, headers, body) for `idempotency_ttl_seconds`
   when a write request reached a provider and was not refused whole (no connection, 429,
   503): something may have been written, so a retry must not write again. Otherwise (the
   gateway's own refusals, pacing, an open circuit, a 429 or 503, a dry run, a query) nothing
   was written: the key is let go and a retry with it runs again.

Queries are not judged by it: a key on a request whose operations are all queries is ignored.
It knows no mutation by name, so every mutation is covered as it is; startContactImport, which
stores a job that writes later, says so (`note_state_write`), so its answer (the job) is kept.
A batch (JSON array) is one request: one fingerprint, one stored answer.
A multipart request (file uploads) is fingerprinted on its bytes with its boundary taken out
(a retry's new random boundary is the same request) and treated as a mutation; its body is
spooled to a temporary file while it is hashed (spooled.py), never held in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.guards import error_response, header
from gateway.http.keyed_request import (
    HEADER,
    MAX_KEY_LENGTH,
    fingerprint_of,
    key_problem,
    multipart_boundary,
)
from gateway.http.spooled import SpooledBody
from gateway.ops.request_context import current_request
from gateway.store import (
    Claimed,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    StoredAnswer,
    StoreUnavailable,
)
from providers.asgi import read_body, replay

__all__ = ["MAX_KEY_LENGTH", "Idempotency", "IdempotencySettings"]

log = logging.getLogger("gateway.idempotency")

REPLAYED = (b"idempotent-replayed", b"true")
STORE_RETRY_AFTER = 1  # seconds: a store outage is usually short (a restart, a failover)


@dataclass(frozen=True, slots=True)
class IdempotencySettings:
    ttl_seconds: float = 86_400.0
    lease_seconds: float = 60.0  # an in-flight claim's life without renewal


class Idempotency:
    def __init__(
        self,
        app: ASGIApp,
        store: Callable[[], IdempotencyStore | None],
        settings: IdempotencySettings,
        has_keys: bool,
    ) -> None:
        """`store` gives the running gateway's store (built by the app's lifespan); `has_keys`
        says whether clients authenticate with API keys (else one anonymous scope)."""
        self.app = app
        self.store = store
        self.settings = settings
        self.has_keys = has_keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != "/graphql"
            or header(scope, HEADER) is None
        ):
            await self.app(scope, receive, send)
            return
        boundary = multipart_boundary(scope)
        if boundary is not None:  # an upload: spooled to disk, never held in memory
            spooled = await SpooledBody.read(receive, boundary or None)
            if spooled is None:  # the client left before sending its request
                return
            try:
                await self._keyed(scope, spooled.replay(receive), send, spooled.digest)
            finally:
                spooled.close()
            return
        body = await read_body(receive)
        if body is None:  # the client left before sending its request
            return
        receive = replay(body, receive)
        fingerprint = fingerprint_of(scope, body)
        if fingerprint is None:  # only queries, or nothing GraphQL could run: no key needed
            await self.app(scope, receive, send)
            return
        await self._keyed(scope, receive, send, fingerprint)

    async def _keyed(self, scope: Scope, receive: Receive, send: Send, fingerprint: str) -> None:
        values = [value for name, value in scope["headers"] if name == HEADER]
        problem = key_problem(values)
        if problem is not None:
            await error_response(400, "IDEMPOTENCY_KEY_INVALID", problem)(scope, receive, send)
            return
        key = self._scoped(scope, values[0])
        store = self.store()
        try:
            if store is None:
                raise StoreUnavailable("the gateway is starting")
            claim = await store.claim(key, fingerprint, self.settings.lease_seconds)
        except StoreUnavailable as exc:
            log.warning("idempotency store unavailable: %s", exc)
            await _unavailable()(scope, receive, send)
            return
        if isinstance(claim, Replay):
            await _send_answer(send, claim.answer, replayed=True)
        elif isinstance(claim, Mismatch):
            await _mismatch()(scope, receive, send)
        elif isinstance(claim, InFlight):
            await _in_flight(claim.seconds)(scope, receive, send)
        else:
            await self._run(store, key, claim, scope, receive, send)

    async def _run(
        self,
        store: IdempotencyStore,
        key: str,
        claim: Claimed,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Run the request with the key held, then keep its answer or let the key go."""
        captured = _Captured()
        renewing = asyncio.ensure_future(self._renew(store, key, claim.token))
        try:
            await self.app(scope, receive, captured.send)
        except BaseException:
            renewing.cancel()
            if not _may_have_written():  # else the lease runs out: no retry before it does
                await _quietly(store.release(key, claim.token))
            raise
        renewing.cancel()
        answer = captured.answer()
        if _may_have_written():
            kept = await _quietly(
                store.complete(key, claim.token, answer, self.settings.ttl_seconds)
            )
            if kept is not True:
                log.error(
                    "an answer to a keyed mutation that may have written could not be kept; "
                    "the key stays in flight until its lease runs out"
                )
        else:
            await _quietly(store.release(key, claim.token))
        await _send_answer(send, answer, replayed=False)

    async def _renew(self, store: IdempotencyStore, key: str, token: str) -> None:
        """Keep the lease alive while the request runs (a bulk can run for minutes)."""
        lease = self.settings.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                if not await store.renew(key, token, lease):
                    return
            except StoreUnavailable as exc:
                log.warning("idempotency lease not renewed: %s", exc)

    def _scoped(self, scope: Scope, key: str) -> str:
        """The store's name for (client scope, key): a digest, so neither the client's API
        key nor its idempotency key is ever stored."""
        client = "anonymous"
        if self.has_keys:  # AuthGuard let the request in: its bearer token is a known key
            token = (header(scope, b"authorization") or "").partition(" ")[2].strip()
            client = "key:" + hashlib.sha256(token.encode()).hexdigest()
        return hashlib.sha256(f"{client}\n{key}".encode()).hexdigest()


class _Captured:
    """The inner app's answer, held until it is kept (or not), then sent."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    def answer(self) -> StoredAnswer:
        body = b"".join(self.chunks)
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in self.headers
            if name.lower() != b"content-length"  # set again from the body
        )
        return StoredAnswer(self.status, headers, body)


async def _send_answer(send: Send, answer: StoredAnswer, *, replayed: bool) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    headers.append((b"content-length", b"%d" % len(answer.body)))
    if replayed:
        headers.append(REPLAYED)
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def _may_have_written() -> bool:
    record = current_request()
    # Without a record (an app built without the access log) nothing proves no write happened.
    return record is None or record.provider_writes > 0 or record.state_writes > 0


async def _quietly(operation: Any) -> Any:
    """A store call after the request ran: its failure must not hide the answer."""
    try:
        return await operation
    except StoreUnavailable as exc:
        log.warning("idempotency store unavailable after the request ran: %s", exc)
        return None


def _mismatch() -> Any:
    return error_response(
        422,
        "IDEMPOTENCY_KEY_MISMATCH",
        "This Idempotency-Key was used for a different request (operation or variables); "
        "use a new key for a new request.",
    )


def _in_flight(seconds: float) -> Any:
    wait = max(1, min(int(seconds + 0.999), 60))
    return error_response(
        409,
        "IDEMPOTENCY_KEY_IN_FLIGHT",
        "A request with this Idempotency-Key is still running; retry after it has finished.",
        headers={"Retry-After": str(wait)},
    )


def _unavailable() -> Any:
    return error_response(
        503,
        "IDEMPOTENCY_STORE_UNAVAILABLE",
        "The gateway cannot check Idempotency-Keys right now, so it did not run the request; "
        "retry with the same key.",
        headers={"Retry-After": str(STORE_RETRY_AFTER)},
    )
