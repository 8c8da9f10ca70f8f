"""CampaignLark's workspace catalogue: its fields (merge tags) and its tags (name -> id).

Fetched on first use and kept; a key that is not in it triggers one refresh (a field or tag
added in CampaignLark's UI since), so an unknown merge tag or tag name is known before any
write. Concurrent misses share one refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
    """One mapping, loaded once and refreshed at most once per miss."""

    def __init__(self, load: Callable[[], Awaitable[dict[str, T]]]) -> None:
        self._load = load
        self._value: dict[str, T] | None = None
        self._version = 0
        self._lock = asyncio.Lock()

    async def get(self, wanted: Collection[str], refresh_on_miss: bool) -> dict[str, T]:
        seen = self._version
        value = self._value
        if value is None or (refresh_on_miss and any(key not in value for key in wanted)):
            async with self._lock:
                if self._value is None or self._version == seen:  # nobody refreshed meanwhile
                    self._value = await self._load()
                    self._version += 1
            assert self._value is not None
            value = self._value
        return value

    def forget(self) -> None:
        self._value = None


class Catalogue:
    def __init__(self, http: ProviderHttp, headers: Mapping[str, str]) -> None:
        self._http = http
        self._headers = dict(headers)
        self._fields: _Cached[FieldInfo] = _Cached(self._load_fields)
        self._tags: _Cached[int] = _Cached(self._load_tags)

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
