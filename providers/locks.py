"""One write at a time per contact, for what an adapter reads and then writes back.

A write that resends what it read (CampaignLark's full upsert resends a contact's tags, status
and names; its field update resends the status the PUT requires) loses whatever another
request wrote in between: two requests for one contact, side by side, and one of them is
silently undone. An adapter takes `Runtime.locks.hold(key)` (the key: the contact's key at the
provider, its email or phone) around each write to that contact, the single writes included,
so a read-then-write never has another write of the contact inside it.

`LocalContactLocks` serialises the writes of this process (the default, one worker).
`RedisContactLocks` those of every worker and host of the account: each process lines its own
writers up locally, and the first of them takes a lease in Redis (SET NX PX with a token of its
own, released only by that token, expiring by itself if its holder died). While Redis is down,
writes are serialised per process only: the fleet keeps serving, and the gap is the outage's.
Lock keys are digests: no contact's data goes into Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import secrets
from collections.abc import AsyncIterator
from typing import Protocol

from providers.model import ProviderName
from providers.resilience.redis_link import DOWN, RedisLink

# KEYS[1]: the lock; ARGV[1]: the holder's token. Deletes it only for its own holder.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
POLL_SECONDS = 0.02  # between tries for a lease another process holds (plus up to as much again)


class ContactLocks(Protocol):
    def hold(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait until no other write of the contact `key` is in progress, and hold it."""
        ...


class LocalContactLocks:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> (lock, holders+waiters)

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]  # no one else waits: the map stays as small as the traffic
            else:
                self._locks[key] = (lock, users - 1)


class RedisContactLocks:
    def __init__(
        self, link: RedisLink, provider: ProviderName, account: str, *, lease_seconds: float
    ) -> None:
        self.link = link
        self.prefix = link.key(provider, account, "lock:")
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self.local = LocalContactLocks()
        self._release = link.client.register_script(RELEASE)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self.local.hold(key):  # this process' writers queue here, not in Redis
            name = self.prefix + hashlib.sha256(key.encode()).hexdigest()[:32]
            token = secrets.token_hex(16)
            leased = await self._lease(name, token)
            try:
                yield
            finally:
                if leased:
                    await self.link.attempt(lambda: self._release(keys=[name], args=[token]))

    async def _lease(self, name: str, token: str) -> bool:
        """True once this process holds the lease; False when Redis is down (local only).
        The wait is bounded by the caller's deadline, and by the holder's lease."""
        client = self.link.client
        while True:
            taken = await self.link.attempt(
                lambda: client.set(name, token, nx=True, px=self.lease_ms)
            )
            if taken is DOWN:
                return False
            if taken:
                return True
            await asyncio.sleep(POLL_SECONDS * (1 + random.random()))


def contact_key(value: str) -> str:
    """The key a contact's writes are serialised by: case does not make another contact."""
    return value.casefold()
