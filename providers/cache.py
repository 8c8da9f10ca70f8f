"""A small key-value cache with TTLs that adapters take through Runtime.cache.

For what an adapter learns about an account and may reuse for a while (field ids, merge tags,
tag ids). `MemoryCache` keeps it in this process (the default); `RedisCache` shares it with every
worker and host of the account, and falls back to its own MemoryCache while Redis is down.
Keys are the adapter's own short names (e.g. "fields"); the cache scopes them to the account.
Values are strings: an adapter stores JSON. Never put a contact's data in a key (an adapter that
keeps something per contact keys it by a keyed digest: see providers/heymarket/ids.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from providers.model import ProviderName
from providers.resilience.pacing import Clock
from providers.resilience.redis_link import DOWN, RedisLink


class SharedCache(Protocol):
    @property
    def shared(self) -> bool:
        """True when other processes see what this one stores (Redis)."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Keep `value` for `ttl` seconds."""
        ...

    async def delete(self, key: str) -> None: ...


# Entries one process keeps for an account at most. Catalogues take a few; an adapter may keep
# one per contact it met (Heymarket's phone -> id), which must not grow a process without end.
MEMORY_CACHE_ENTRIES = 100_000


class MemoryCache:
    """Entries expire when read after their TTL; past `max_entries`, the entry written longest
    ago goes first (a cache: whatever it drops is fetched again)."""

    shared = False

    def __init__(
        self, *, clock: Clock = time.monotonic, max_entries: int = MEMORY_CACHE_ENTRIES
    ) -> None:
        self._clock = clock
        self.max_entries = max(1, max_entries)
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        self._entries[key] = (value, self._clock() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)


class RedisCache:
    shared = True

    def __init__(
        self,
        link: RedisLink,
        provider: ProviderName,
        account: str,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.link = link
        self.prefix = link.key(provider, account, "cache:")
        self.local = MemoryCache(clock=clock)

    async def get(self, key: str) -> str | None:
        raw = await self.link.attempt(lambda: self.link.client.get(self.prefix + key))
        if raw is DOWN:
            return await self.local.get(key)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def set(self, key: str, value: str, ttl: float) -> None:
        # Kept locally too, so an outage starts from what this process knew.
        await self.local.set(key, value, ttl)
        ms = max(1, round(ttl * 1000))
        await self.link.attempt(lambda: self.link.client.set(self.prefix + key, value, px=ms))

    async def delete(self, key: str) -> None:
        await self.local.delete(key)
        await self.link.attempt(lambda: self.link.client.delete(self.prefix + key))
