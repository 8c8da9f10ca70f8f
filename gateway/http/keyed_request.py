"""What the idempotency layer judges of a request before it runs: the key, whether the request
holds a mutation, and its fingerprint (gateway/http/idempotency.py uses them)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.types import Scope

from gateway.http.guards import header

__all__ = ["HEADER", "MAX_KEY_LENGTH", "fingerprint_of", "key_problem", "multipart_boundary"]

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")
_BOUNDARY = re.compile(rb"boundary=\"?([^\";]+)\"?", re.IGNORECASE)


def key_problem(values: list[bytes]) -> str | None:
    if len(values) != 1:
        return "Send one Idempotency-Key header, not several."
    text = values[0].decode("latin-1")
    if not text:
        return "The Idempotency-Key header is empty."
    if len(text) > MAX_KEY_LENGTH:
        return (
            f"The Idempotency-Key is {len(text)} characters long; at most {MAX_KEY_LENGTH} "
            "are accepted (a UUID is 36)."
        )
    if not _PRINTABLE.match(text):
        return (
            "The Idempotency-Key may hold printable ASCII characters only (no control "
            "characters, no bytes past 0x7e)."
        )
    return None


def multipart_boundary(scope: Scope) -> bytes | None:
    """A multipart request's boundary (b"" when it names none); None for other requests."""
    content_type = (header(scope, b"content-type") or "").lower()
    if not content_type.startswith("multipart/"):
        return None
    found = _BOUNDARY.search((header(scope, b"content-type") or "").encode("latin-1"))
    return found.group(1) if found else b""


def fingerprint_of(scope: Scope, body: bytes) -> str | None:
    """The request's digest when it holds a mutation (or may: a persisted query, an upload);
    None for queries only, or a body GraphQL would refuse before running anything."""
    boundary = multipart_boundary(scope)
    if boundary is not None:
        # The boundary as sent (a browser's mixes cases): lower-cased it would not be found.
        canonical = body.replace(boundary, b"BOUNDARY") if boundary else body
        return hashlib.sha256(b"multipart\n" + canonical).hexdigest()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    operations = data if isinstance(data, list) else [data]
    if not operations or not all(isinstance(o, dict) for o in operations):
        return None
    if not any(_is_mutation(o) for o in operations):
        return None
    canonical_text = json.dumps(
        [_essentials(o) for o in operations],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical_text.encode()).hexdigest()


def _essentials(operation: dict[str, Any]) -> dict[str, Any]:
    extensions = operation.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    return {
        "query": operation.get("query"),
        "operationName": operation.get("operationName"),
        "variables": operation.get("variables") or {},
        # A document sent by its hash alone is known by the hash.
        "persisted": None if operation.get("query") else persisted,
    }


def _is_mutation(operation: dict[str, Any]) -> bool:
    query = operation.get("query")
    if not isinstance(query, str):
        # A persisted query sent by its hash: which operation it is, the gateway cannot tell
        # here; the key is honoured (a query never writes, so its answer is never kept).
        extensions = operation.get("extensions")
        return isinstance(extensions, dict) and "persistedQuery" in extensions
    try:
        document = parse(query, no_location=True)
    except (GraphQLError, RecursionError):
        return False  # refused as malformed before anything runs
    name = operation.get("operationName")
    chosen = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (name is None or (definition.name is not None and definition.name.value == name))
    ]
    return len(chosen) == 1 and chosen[0].operation is OperationType.MUTATION
