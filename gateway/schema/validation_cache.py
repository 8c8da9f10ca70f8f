"""The parse and validation caches: bounded by entries and by the memory their documents take.

Parsed documents: keyed by the query text, as strawberry's ParserCache keys them, so the same
text gets the same DocumentNode object back. Validation results: keyed by that object's
identity rather than its hash (graphql-core does not cache a node's hash: hashing walks the
whole tree, about 3% of an upsert's CPU under the profiler), checked against the document kept
in the entry so a recycled id can never match.

Both are bounded by bytes too: a parsed document takes 50 to 80 bytes of memory per character
of its text (measured with tracemalloc: the BULK mutation, GraphiQL's introspection query, an
inline bulk), so each entry is charged BYTES_PER_CHAR per character, and a document charged
more than an eighth of the budget is not kept at all. Without that bound, 512 distinct large
documents stayed in memory for good (a 390 KB document took 70 MB).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.schema.schema import validate_document

from gateway.schema.codes import Code
from gateway.schema.cost import Budget, judge

BYTES_PER_CHAR = 80
DEFAULT_BYTES = 8 * 1024 * 1024
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    """Least recently used entries go first, past `max_entries` or `max_bytes`."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, size: int) -> None:
        if size > self.max_bytes // 8:
            return  # one entry may not push out most of the others
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._entries[key] = (value, size)
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped


def charge(text_length: int) -> int:
    return text_length * BYTES_PER_CHAR


class DocumentCache:
    """Parsed documents by query text (parsed with at most `max_tokens` tokens, from at most
    `max_length` characters)."""

    def __init__(
        self, max_entries: int, max_bytes: int, max_tokens: int, max_length: int = 100_000
    ) -> None:
        self.max_tokens = max_tokens
        self.max_length = max_length
        self._documents: BoundedLRU[str, DocumentNode] = BoundedLRU(max_entries, max_bytes)

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def bytes(self) -> int:
        return self._documents.bytes

    def get(self, query: str) -> DocumentNode | None:
        return self._documents.get(query)

    def put(self, query: str, document: DocumentNode) -> None:
        self._documents.put(query, document, charge(len(query)))


_Key = tuple[int, int, tuple[Any, ...]]


class ValidationResults:
    """Errors per (schema, document, rules): the limits' first (`budget`), then the rules'.
    Only a valid document's result is kept: a refused one is not worth holding."""

    def __init__(
        self, maxsize: int, max_bytes: int = DEFAULT_BYTES, budget: Budget | None = None
    ) -> None:
        self.maxsize = maxsize
        self.budget = budget
        self._entries: BoundedLRU[_Key, tuple[DocumentNode, list[GraphQLError]]] = BoundedLRU(
            maxsize, max_bytes
        )

    def errors(
        self, schema: GraphQLSchema, document: DocumentNode, rules: Sequence[Any]
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), tuple(rules))
        hit = self._entries.get(key)
        if hit is not None and hit[0] is document:
            return hit[1]
        errors = judge(document, schema, self.budget) if self.budget is not None else []
        if not errors:
            errors = validate_document(schema, document, tuple(rules))
            for error in errors:
                if not (error.extensions or {}).get("code"):
                    error.extensions = {**(error.extensions or {}), "code": Code.VALIDATION.value}
        if not errors:
            source = document.loc.source.body if document.loc is not None else ""
            self._entries.put(key, (document, errors), charge(len(source)))
        return errors
