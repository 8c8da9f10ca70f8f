"""Persisted operations on /graphql: Apollo's automatic persisted queries, and a safelist.

In front of the GraphQL view (pure ASGI). A request carrying
`extensions.persistedQuery {version: 1, sha256Hash}` is resolved here to its document before
anything else sees it, so strawberry's view and the planned fast path run it as if the text had
been sent:

- a hash the gateway knows (the manifest, or registered before) needs no text: the request is
  rewritten with it (POST body, or the query string of a GET);
- an unknown hash without text answers `PERSISTED_QUERY_NOT_FOUND` (HTTP 200, message
  "PersistedQueryNotFound", as Apollo Client and urql expect): the client sends it again with
  the text, which registers it;
- a text whose SHA-256 is not the hash is refused (400).

With `persisted_operations_only`, only the manifest's documents run: anything else, hashed or
not, answers `PERSISTED_QUERY_NOT_ALLOWED` (HTTP 200, a GraphQL error). Documents made only of
introspection fields stay allowed while `introspection` is on (GraphiQL's schema query), and in
sandbox mode the playground's own requests (header `x-gateway-playground`) are exempt: the
safelist guards the providers' data, and the sandbox has none.

Mutations never go over GET (strawberry's view refuses them, 405).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.http.guards import error_response, header
from providers.asgi import read_body, replay
from providers.resilience.redis_link import DOWN, RedisLink

log = logging.getLogger("gateway.persisted")

PLAYGROUND_HEADER = b"x-gateway-playground"
_MANIFEST_FORMAT = "apollo-persisted-query-manifest"


class ManifestError(Exception):
    """A manifest that must not be served: the message says which entry and why."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: str | Path) -> dict[str, str]:
    """hash -> document, from Apollo's manifest format or a plain `{hash: document}` map
    (GraphQL Codegen's persisted documents). Every hash must be its document's SHA-256."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read persisted operations manifest {path}: {exc}") from None
    if isinstance(data, dict) and data.get("format") == _MANIFEST_FORMAT:
        if data.get("version") != 1:
            raise ManifestError(f"{path}: only version 1 of {_MANIFEST_FORMAT} is known")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ManifestError(f"{path}: `operations` must be a list")
        pairs = [(op.get("id"), op.get("body")) for op in operations if isinstance(op, dict)]
        if len(pairs) != len(operations):
            raise ManifestError(f"{path}: every operation must be an object")
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ManifestError(f"{path}: expected {_MANIFEST_FORMAT} or a {{hash: document}} map")
    documents: dict[str, str] = {}
    for ident, body in pairs:
        if not isinstance(ident, str) or not isinstance(body, str):
            raise ManifestError(f"{path}: every entry needs a string id and a string document")
        if sha256(body) != ident.lower():
            raise ManifestError(f"{path}: {ident} is not the SHA-256 of its document")
        documents[ident.lower()] = body
    return documents


class QueryStore(Protocol):
    """Registered automatic persisted queries: hash -> document."""

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, document: str) -> None: ...


class MemoryQueryStore:
    """This process' registrations, least recently used dropped first past `max_bytes`."""

    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._size = 0
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def get(self, digest: str) -> str | None:
        document = self._documents.get(digest)
        if document is not None:
            self._documents.move_to_end(digest)
        return document

    async def put(self, digest: str, document: str) -> None:
        if digest in self._documents or len(document) > self.max_bytes:
            return
        self._documents[digest] = document
        self._size += len(document)
        while self._size > self.max_bytes:
            _, dropped = self._documents.popitem(last=False)
            self._size -= len(dropped)


class RedisQueryStore:
    """Registrations shared by the fleet (one registration serves every process), with this
    process' own store in front and as the fallback while Redis is down."""

    def __init__(self, link: RedisLink, ttl_seconds: int = 86_400) -> None:
        self.link = link
        self.ttl = ttl_seconds
        self.prefix = f"{link.namespace}:apq:"
        self.local = MemoryQueryStore()

    async def get(self, digest: str) -> str | None:
        found = await self.local.get(digest)
        if found is not None:
            return found
        shared = await self.link.attempt(lambda: self.link.client.get(self.prefix + digest))
        if shared is DOWN or not isinstance(shared, str):
            return None
        await self.local.put(digest, shared)
        return shared

    async def put(self, digest: str, document: str) -> None:
        await self.local.put(digest, document)
        await self.link.attempt(
            lambda: self.link.client.set(self.prefix + digest, document, ex=self.ttl)
        )


@dataclass(frozen=True)
class PersistedPolicy:
    manifest: Mapping[str, str]  # hash -> document, safelisted
    only: bool  # refuse any document not in the manifest
    introspection: bool  # introspection documents allowed past the safelist
    sandbox: bool  # the playground's requests are exempt


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# Both answer 200 with a GraphQL error, as GraphQL over HTTP asks of application/json answers,
# so clients (Apollo's persisted queries link) read their code.
NOT_FOUND = Refused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
NOT_ALLOWED = Refused(
    200,
    "PERSISTED_QUERY_NOT_ALLOWED",
    "This gateway runs only the operations of its persisted operations manifest, and this "
    "document is not one of them",
)


class PersistedOperations:
    def __init__(self, app: ASGIApp, policy: PersistedPolicy, store: QueryStore) -> None:
        self.app = app
        self.policy = policy
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        exempt = self.policy.sandbox and header(scope, PLAYGROUND_HEADER) is not None
        try:
            if scope["method"] == "GET":
                scope = await self._get(scope, exempt)
            elif "json" in (header(scope, b"content-type") or "").lower():
                body = await read_body(receive)
                if body is None:  # the client left before sending its request
                    return
                receive = replay(await self._post(scope, body, exempt), receive)
            # Other bodies (multipart uploads) pass through unread: the view decides.
        except Refused as refused:
            await error_response(refused.status, refused.code, refused.message)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)

    async def _get(self, scope: Scope, exempt: bool) -> Scope:
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        params = dict(pairs)
        if "query" not in params and "extensions" not in params:
            return scope  # the playground page, or strawberry's own answer to a bare GET
        request = {k: v for k, v in params.items() if k in ("query", "extensions")}
        if "extensions" in request:
            try:
                request["extensions"] = json.loads(request["extensions"])
            except ValueError:
                raise Refused(400, "BAD_REQUEST", "extensions is not valid JSON") from None
        resolved = await self._resolve(request, exempt)
        if resolved is None:
            return scope
        params["query"] = resolved
        return {**scope, "query_string": urlencode(params).encode("latin-1")}

    async def _post(self, scope: Scope, body: bytes, exempt: bool) -> bytes:
        if not (self.policy.only or b"persistedQuery" in body or b"\\" in body):
            # Nothing here can change it: no safelist, and no persisted query (its key would
            # be in the body as written, or spelt with a JSON escape, which needs a backslash).
            # The view decodes the body anyway; decoding it here too doubled the cost of a big
            # one (12 ms for 8 MB).
            return body
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return body  # the view answers malformed JSON itself
        requests = data if isinstance(data, list) else [data]
        changed = False
        for request in requests:
            if not isinstance(request, dict):
                return body
            resolved = await self._resolve(request, exempt)
            if resolved is not None and request.get("query") != resolved:
                request["query"] = resolved
                changed = True
        return json.dumps(data).encode() if changed else body

    async def _resolve(self, request: dict[str, Any], exempt: bool) -> str | None:
        """The document to run for one request (None: none given, the view says so), after
        the safelist's say."""
        query = request.get("query")
        extensions = request.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        text = query if isinstance(query, str) else None
        if persisted is not None:
            text = await self._persisted(persisted, text)
        if text is not None and self.policy.only and not exempt:
            self._safelisted(text)
        return text

    async def _persisted(self, persisted: Any, text: str | None) -> str:
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise Refused(
                400,
                "PERSISTED_QUERY_VERSION_UNSUPPORTED",
                "Unsupported persisted query version: only version 1 is known",
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            raise Refused(400, "BAD_REQUEST", "persistedQuery.sha256Hash must be 64 hex digits")
        digest = digest.lower()
        if text is not None:
            if sha256(text) != digest:
                raise Refused(
                    400,
                    "PERSISTED_QUERY_HASH_MISMATCH",
                    "provided sha256Hash does not match the query",
                )
            if digest not in self.policy.manifest and not self.policy.only:
                await self.store.put(digest, text)  # registered for the next requests
            return text
        known = self.policy.manifest.get(digest)
        if known is None and self.policy.only:
            raise NOT_ALLOWED  # sending its text could not change the answer
        known = known or await self.store.get(digest)
        if known is None:
            raise NOT_FOUND
        return known

    def _safelisted(self, text: str) -> None:
        if sha256(text) in self.policy.manifest:
            return
        if self.policy.introspection and _only_introspection(text):
            return
        raise NOT_ALLOWED


def _only_introspection(text: str) -> bool:
    try:
        document = parse(text, no_location=True, max_tokens=10_000)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fields = [s for op in operations for s in op.selection_set.selections]
    return bool(fields) and all(
        getattr(getattr(f, "name", None), "value", "").startswith("__") for f in fields
    )
