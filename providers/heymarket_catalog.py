"""A name -> numeric id map fetched from the provider (custom fields, tags), cached with a TTL.

One Catalogue per configured account and kind. A name it does not know triggers one refresh
before it is reported missing (a field created a minute ago must not be refused), and
concurrent refreshes collapse into one request.

With a shared cache (Redis: `Runtime.cache.shared`), a load is published there with the TTL,
and a process whose map is stale or misses a name first adopts what another process loaded;
so a map is at most about twice the TTL old, and the fleet fetches it about once per TTL.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from providers.cache import SharedCache

Clock = Callable[[], float]
Loader = Callable[[], Awaitable[Mapping[str, int]]]


@dataclass(frozen=True, slots=True)
class Resolution:
    ids: dict[str, int]  # name as asked -> id
    missing: list[str]  # names still unknown after at most one refresh


class Catalogue:
    def __init__(
        self,
        load: Loader,
        *,
        ttl: float,
        clock: Clock = time.monotonic,
        shared: SharedCache | None = None,
        key: str = "catalogue",
    ) -> None:
        self._load = load
        self._shared, self._key = shared, key
        self._adopted: str | None = None  # the shared text this map was built from
        self._distrust_shared = False
        self._ttl = ttl
        self._clock = clock
        self._by_name: dict[str, int] = {}
        self._by_folded: dict[str, int | None] = {}  # None: two names differ only by case
        self._by_id: dict[int, str] = {}
        self._loaded_at: float | None = None
        self._generation = 0
        self._lock = asyncio.Lock()
        self.loads = 0

    async def resolve(self, names: Iterable[str]) -> Resolution:
        wanted = list(dict.fromkeys(names))
        seen = self._generation
        if self._stale():
            await self._refresh(seen, wanted)
        elif any(self._find(name) is None for name in wanted):
            await self._refresh(seen, wanted)  # created since the last load? ask once more
        ids = {name: found for name in wanted if (found := self._find(name)) is not None}
        return Resolution(ids, [name for name in wanted if name not in ids])

    def name_of(self, ident: int) -> str | None:
        return self._by_id.get(ident)

    def invalidate(self) -> None:
        """Forget the map: the provider just refused an id we took from it."""
        self._loaded_at = None
        self._distrust_shared = True  # the shared copy holds the same refused id

    def _find(self, name: str) -> int | None:
        found = self._by_name.get(name)
        return found if found is not None else self._by_folded.get(name.casefold())

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._ttl

    async def _refresh(self, seen: int, wanted: list[str]) -> None:
        async with self._lock:
            if self._generation != seen:
                return  # another caller refreshed while this one waited
            if await self._adopt_shared(wanted):
                return
            entries = await self._load()
            self.loads += 1
            self._install(entries)
            if self._shared is not None and self._ttl > 0:
                self._adopted = json.dumps(dict(entries), sort_keys=True)
                await self._shared.set(self._key, self._adopted, self._ttl)
            self._distrust_shared = False

    async def _adopt_shared(self, wanted: list[str]) -> bool:
        """Take another process' newer load instead of asking the provider again, if it knows
        every wanted name (else the provider is asked: one may have been created since)."""
        if self._shared is None or self._distrust_shared:
            return False
        raw = await self._shared.get(self._key)
        if raw is None or raw == self._adopted:
            return False  # nothing there, or just what this map already is
        try:
            entries = {str(name): int(ident) for name, ident in json.loads(raw).items()}
        except (ValueError, TypeError, AttributeError):
            return False
        folded = {name.casefold() for name in entries}
        if any(name not in entries and name.casefold() not in folded for name in wanted):
            return False
        self._adopted = raw
        self._install(entries)
        return True

    def _install(self, entries: Mapping[str, int]) -> None:
        self._by_name = dict(entries)
        self._by_id = {ident: name for name, ident in entries.items()}
        self._by_folded = {}
        for name, ident in entries.items():
            key = name.casefold()
            self._by_folded[key] = ident if key not in self._by_folded else None
        self._loaded_at = self._clock()
        self._generation += 1
