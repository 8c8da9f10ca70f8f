"""A small key-value cache with TTLs that adapters take through Runtime.cache.

For what an adapter learns about an account and may reuse for a while (field ids, merge tags,
tag ids). `MemoryCache` keeps it in this process (the default); `RedisCache` shares it with every
worker and host of the account, and falls back to its own MemoryCache while Redis is down.
Keys are the adapter's own short names (e.g. "fields"); the cache scopes them to the account.
Values are strings: an adapter stores JSON. Never put a contact's data in a key.
"""

from __future__ import annotations

import time
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


class MemoryCache:
    shared = False

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}

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
