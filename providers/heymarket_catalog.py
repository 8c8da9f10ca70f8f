"""A name -> numeric id map fetched from the provider (custom fields, tags), cached with a TTL.

One Catalogue per configured account and kind. A name it does not know triggers one refresh
before it is reported missing (a field created a minute ago must not be refused), and
concurrent refreshes collapse into one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

Clock = Callable[[], float]
Loader = Callable[[], Awaitable[Mapping[str, int]]]


@dataclass(frozen=True, slots=True)
class Resolution:
    ids: dict[str, int]  # name as asked -> id
    missing: list[str]  # names still unknown after at most one refresh


class Catalogue:
    def __init__(self, load: Loader, *, ttl: float, clock: Clock = time.monotonic) -> None:
        self._load = load
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
            await self._refresh(seen)
        elif any(self._find(name) is None for name in wanted):
            await self._refresh(seen)  # created since the last load? ask once more
        ids = {name: found for name in wanted if (found := self._find(name)) is not None}
        return Resolution(ids, [name for name in wanted if name not in ids])

    def name_of(self, ident: int) -> str | None:
        return self._by_id.get(ident)

    def invalidate(self) -> None:
        """Forget the map: the provider just refused an id we took from it."""
        self._loaded_at = None

    def _find(self, name: str) -> int | None:
        found = self._by_name.get(name)
        return found if found is not None else self._by_folded.get(name.casefold())

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._ttl

    async def _refresh(self, seen: int) -> None:
        async with self._lock:
            if self._generation != seen:
                return  # another caller refreshed while this one waited
            entries = await self._load()
            self.loads += 1
            self._by_name = dict(entries)
            self._by_id = {ident: name for name, ident in entries.items()}
            self._by_folded = {}
            for name, ident in entries.items():
                key = name.casefold()
                self._by_folded[key] = ident if key not in self._by_folded else None
            self._loaded_at = self._clock()
            self._generation += 1
