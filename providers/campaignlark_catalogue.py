"""CampaignLark's workspace catalogue: its fields (merge tags) and its tags (name -> id).

Fetched on first use and kept for `ttl` seconds in the account's SharedCache (Runtime.cache:
this process' memory, or Redis shared by the fleet, so one worker's fetch serves them all); a
key that is not in it triggers one refresh (a field or tag added in CampaignLark's UI since), so
an unknown merge tag or tag name is known before any write. Concurrent misses share one refresh.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from providers.cache import MemoryCache, SharedCache
from providers.errors import ErrorCode, Failure, ProviderError
from providers.http import ProviderHttp, Reply

T = TypeVar("T")
TAG_PAGE_SIZE = 100  # the largest page CampaignLark serves
MAX_TAG_PAGES = 200  # a pagination that never ends must not loop forever


@dataclass(frozen=True, slots=True)
class FieldInfo:
    merge_tag: str
    label: str
    required: bool


class _Cached(Generic[T]):
    """One mapping, kept in the shared cache and refreshed at most once per miss."""

    def __init__(
        self,
        load: Callable[[], Awaitable[dict[str, T]]],
        cache: SharedCache,
        key: str,
        ttl: float,
        encode: Callable[[dict[str, T]], Any],
        decode: Callable[[Any], dict[str, T]],
    ) -> None:
        self._load = load
        self._cache, self._key, self._ttl = cache, key, ttl
        self._encode, self._decode = encode, decode
        self._raw: str | None = None  # the last cached text seen, and what it decodes to
        self._value: dict[str, T] | None = None
        self._stale = False
        self._version = 0
        self._lock = asyncio.Lock()

    async def _current(self) -> dict[str, T] | None:
        if self._stale:
            return None
        raw = await self._cache.get(self._key)
        if raw is None:
            return None
        if raw != self._raw:
            try:
                self._value = self._decode(json.loads(raw))
            except (ValueError, TypeError, KeyError, IndexError):
                return None  # written by another version of the gateway: load it afresh
            self._raw = raw
        return self._value

    async def get(self, wanted: Collection[str], refresh_on_miss: bool) -> dict[str, T]:
        seen = self._version
        value = await self._current()
        if value is None or (refresh_on_miss and any(key not in value for key in wanted)):
            async with self._lock:
                value = await self._current()
                if value is None or self._version == seen:  # nobody refreshed meanwhile
                    value = await self._load()
                    raw = json.dumps(self._encode(value))
                    await self._cache.set(self._key, raw, self._ttl)
                    self._raw, self._value, self._stale = raw, value, False
                    self._version += 1
        return value

    def forget(self) -> None:
        self._stale = True  # the next look-up loads it again and replaces the shared copy


class Catalogue:
    def __init__(
        self,
        http: ProviderHttp,
        headers: Mapping[str, str],
        cache: SharedCache | None = None,
        ttl: float = 300.0,
    ) -> None:
        self._http = http
        self._headers = dict(headers)
        cache = cache if cache is not None else MemoryCache()
        self._fields: _Cached[FieldInfo] = _Cached(
            self._load_fields, cache, "fields", ttl, _encode_fields, _decode_fields
        )
        self._tags: _Cached[int] = _Cached(self._load_tags, cache, "tags", ttl, dict, _decode_tags)

    async def fields(
        self, wanted: Collection[str] = (), *, refresh_on_miss: bool = True
    ) -> dict[str, FieldInfo]:
        """merge tag -> field; refreshed once when a `wanted` tag is missing."""
        return await self._fields.get(wanted, refresh_on_miss)

    async def tag_ids(
        self, names: Collection[str], *, refresh_on_miss: bool = True
    ) -> dict[str, int]:
        """The ids of the `names` the workspace has (exact name, else case-insensitive)."""
        known = await self._tags.get(names, refresh_on_miss)
        folded = {name.casefold(): tag_id for name, tag_id in known.items()}
        found: dict[str, int] = {}
        for name in names:
            tag_id = known.get(name, folded.get(name.casefold()))
            if tag_id is not None:
                found[name] = tag_id
        return found

    def forget_fields(self) -> None:
        self._fields.forget()

    def forget_tags(self) -> None:
        self._tags.forget()

    async def _load_fields(self) -> dict[str, FieldInfo]:
        reply = await self._http.call("GET", "/v1/fields", headers=self._headers)
        fields: dict[str, FieldInfo] = {}
        for entry in self._listing(reply, "field list"):
            tag = entry.get("merge_tag") if isinstance(entry, dict) else None
            if isinstance(tag, str) and tag:
                label = entry.get("label")
                fields[tag] = FieldInfo(
                    tag, label if isinstance(label, str) else tag, entry.get("required") is True
                )
        return fields

    async def _load_tags(self) -> dict[str, int]:
        tags: dict[str, int] = {}
        for page in range(1, MAX_TAG_PAGES + 1):
            reply = await self._http.call(
                "GET",
                "/v1/tags",
                params={"page": str(page), "limit": str(TAG_PAGE_SIZE)},
                headers=self._headers,
            )
            entries = self._listing(reply, "tag list")
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    tag_id = entry.get("id")
                    if isinstance(tag_id, int) and not isinstance(tag_id, bool):
                        tags.setdefault(entry["name"], tag_id)
            if len(entries) < TAG_PAGE_SIZE or _last_page(reply.body, page):
                break
        return tags

    def _listing(self, reply: Reply, what: str) -> list[Any]:
        """A listing with or without its `data` envelope; anything else cannot be trusted."""
        body = reply.body
        if isinstance(body, dict):
            body = body.get("data")
        if isinstance(body, list):
            return body
        raise ProviderError(
            Failure(
                ErrorCode.PROVIDER_ERROR,
                f"{self._http.provider.label} sent a {what} the gateway could not read",
                provider=self._http.provider,
                provider_code=type(reply.body).__name__,
            )
        )


def _last_page(body: Any, page: int) -> bool:
    pagination = body.get("pagination") if isinstance(body, dict) else None
    if not isinstance(pagination, dict):
        return False
    total_pages = pagination.get("total_pages")
    return isinstance(total_pages, int) and page >= total_pages


def _encode_fields(fields: dict[str, FieldInfo]) -> list[list[Any]]:
    return [[info.merge_tag, info.label, info.required] for info in fields.values()]


def _decode_fields(rows: Any) -> dict[str, FieldInfo]:
    return {row[0]: FieldInfo(str(row[0]), str(row[1]), bool(row[2])) for row in rows}


def _decode_tags(tags: Any) -> dict[str, int]:
    return {str(name): int(tag_id) for name, tag_id in tags.items()}
