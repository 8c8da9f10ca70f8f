"""A name -> entry map one account keeps at its provider (custom fields, tags), cached.

Written once for every provider (Heymarket's field and tag ids, CampaignLark's merge tags and
tag ids). The rules:

- Fetched on first use and trusted for `ttl` seconds.
- A name it does not know triggers one refresh before it is reported missing (a field created
  a minute ago must not be refused); concurrent refreshes collapse into one provider request.
- One matching rule: the exact name; else the single entry whose name matches ignoring case;
  else, when several match ignoring case, the name is ambiguous and refused with a message
  naming the candidates (never a silent pick).
- With a shared cache (Redis: `SharedCache.shared`), a load is published there with the TTL;
  a process whose map is stale, or misses a name, first adopts what another process loaded, if
  that copy knows every wanted name. So the fleet asks the provider about once per TTL.
- `invalidate()` after the provider refused an id taken from the map: the next use loads it
  from the provider again (not from the shared copy, which holds the same refused id).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from providers.cache import SharedCache
from providers.errors import ErrorCode, Failure
from providers.model import ProviderName

T = TypeVar("T")
Clock = Callable[[], float]
Loader = Callable[[], Awaitable[Mapping[str, T]]]


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How a map is written to the shared cache (JSON) and read back."""

    encode: Callable[[Mapping[str, T]], Any]
    decode: Callable[[Any], dict[str, T]]


IDS: Codec[int] = Codec(
    encode=dict,
    decode=lambda raw: {str(name): int(ident) for name, ident in raw.items()},
)


@dataclass(frozen=True, slots=True)
class Resolution(Generic[T]):
    found: dict[str, T]  # name as asked -> entry
    missing: tuple[str, ...]  # unknown after at most one refresh
    ambiguous: dict[str, tuple[str, ...]]  # name as asked -> the names it matches by case


class Catalogue(Generic[T]):
    def __init__(
        self,
        load: Loader[T],
        *,
        provider: ProviderName,
        what: str,
        cache: SharedCache,
        key: str,
        ttl: float,
        codec: Codec[T] = IDS,  # type: ignore[assignment]
        clock: Clock = time.monotonic,
    ) -> None:
        self.provider, self.what = provider, what
        self._load = load
        self._cache, self._key, self._ttl, self._codec = cache, key, ttl, codec
        self._clock = clock
        self._entries: dict[str, T] = {}
        self._folded: dict[str, list[str]] = {}  # casefolded name -> the account's names
        self._reverse: dict[Any, str] | None = None
        self._loaded_at: float | None = None
        self._adopted: str | None = None  # the shared text the map was last built from
        self._distrust_shared = False
        self._generation = 0
        self._lock = asyncio.Lock()
        self.loads = 0  # requests made to the provider; for tests and metrics

    # -- reading ------------------------------------------------------------------------------

    async def entries(self) -> Mapping[str, T]:
        """The whole map, loaded first when it is stale."""
        if self._stale():
            await self._refresh(self._generation, [])
        return self._entries

    async def resolve(self, names: Iterable[str], *, refresh_on_miss: bool = True) -> Resolution[T]:
        wanted = list(dict.fromkeys(names))
        seen = self._generation
        if self._stale() or (refresh_on_miss and any(self._match(name) is None for name in wanted)):
            await self._refresh(seen, wanted)
        found: dict[str, T] = {}
        missing: list[str] = []
        ambiguous: dict[str, tuple[str, ...]] = {}
        for name in wanted:
            match = self._match(name)
            if match is None:
                missing.append(name)
            elif isinstance(match, tuple):
                ambiguous[name] = match
            else:
                found[name] = self._entries[match]
        return Resolution(found, tuple(missing), ambiguous)

    def name_of(self, entry: Hashable) -> str | None:
        """The account's name for an entry (an id), from the map as last loaded."""
        if self._reverse is None:
            self._reverse = {value: name for name, value in self._entries.items()}
        return self._reverse.get(entry)

    def refusal(
        self, resolution: Resolution[T], name: str, *, code: ErrorCode, field: str, unknown: str
    ) -> Failure:
        """Why `name`, which the resolution did not find, cannot be used: ambiguous, or
        unknown (`unknown` says it)."""
        if name in resolution.ambiguous:
            candidates = ", ".join(repr(n) for n in resolution.ambiguous[name])
            return Failure(
                code,
                f"{self.provider.label} has several {self.what}s matching {name!r} when case is "
                f"ignored ({candidates}); give the exact name",
                provider=self.provider,
                field=field,
            )
        return Failure(code, unknown, provider=self.provider, field=field)

    def invalidate(self) -> None:
        """Forget the map: the provider just refused an entry taken from it."""
        self._loaded_at = None
        self._distrust_shared = True

    # -- loading ------------------------------------------------------------------------------

    def _match(self, name: str) -> str | tuple[str, ...] | None:
        if name in self._entries:
            return name
        candidates = self._folded.get(name.casefold())
        if not candidates:
            return None
        return candidates[0] if len(candidates) == 1 else tuple(candidates)

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._ttl

    async def _refresh(self, seen: int, wanted: list[str]) -> None:
        async with self._lock:
            if self._generation != seen:
                return  # another caller refreshed while this one waited
            if await self._adopt_shared(wanted):
                return
            entries = dict(await self._load())
            self.loads += 1
            self._install(entries)
            if self._cache.shared and self._ttl > 0:
                self._adopted = json.dumps(self._codec.encode(entries), sort_keys=True)
                await self._cache.set(self._key, self._adopted, self._ttl)
            self._distrust_shared = False

    async def _adopt_shared(self, wanted: list[str]) -> bool:
        if not self._cache.shared or self._distrust_shared:
            return False
        raw = await self._cache.get(self._key)
        if raw is None or raw == self._adopted:
            return False  # nothing there, or just what this map already is
        try:
            entries = self._codec.decode(json.loads(raw))
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):
            return False  # written by another version of the gateway: load it afresh
        folded = {name.casefold() for name in entries}
        if any(name not in entries and name.casefold() not in folded for name in wanted):
            return False  # it lacks a name: the provider may have it by now
        self._adopted = raw
        self._install(entries)
        return True

    def _install(self, entries: dict[str, T]) -> None:
        self._entries = entries
        self._folded = {}
        for name in entries:
            self._folded.setdefault(name.casefold(), []).append(name)
        self._reverse = None
        self._loaded_at = self._clock()
        self._generation += 1
