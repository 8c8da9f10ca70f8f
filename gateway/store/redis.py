"""Idempotency keys in Redis, for a fleet: every process on every host claims on the same keys.

It goes through the fleet's RedisLink (providers/resilience/redis_link.py: one connection pool
per process, `gateway.redis_url`, `redis_namespace`), but unlike pacing and circuits it has no
local fallback: a Redis that does not answer (or is in the link's cool-down after a failure)
is StoreUnavailable, and the request fails retryably rather than run unchecked.

One hash per key, `<namespace>:idempotency:<digest>`, with fields fingerprint, state, token
and, once done, status, headers (JSON) and body (base64); its Redis TTL is the lease while the
request runs and `idempotency_ttl_seconds` once its answer is kept. Each step is a Lua script,
so a claim (check, then take) is one atomic step across the fleet.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gateway.store.base import (
    Claim,
    Claimed,
    InFlight,
    Mismatch,
    Replay,
    StoredAnswer,
    StoreUnavailable,
)
from providers.resilience.redis_link import DOWN, RedisLink

__all__ = ["RedisIdempotencyStore"]

T = TypeVar("T")

# Free (the key is gone: never used, lease or TTL ran out): take it. Else what it holds.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'state', 'running', 'token', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed'}
end
local found = redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'status', 'headers', 'body')
return {found[1], found[2], found[3], found[4], found[5], redis.call('PTTL', KEYS[1])}
"""
_RENEW = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1]
   and redis.call('HGET', KEYS[1], 'state') == 'running' then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_COMPLETE = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1]
   and redis.call('HGET', KEYS[1], 'state') == 'running' then
  redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'headers', ARGV[3],
             'body', ARGV[4])
  return redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return 0
"""
_RELEASE = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1]
   and redis.call('HGET', KEYS[1], 'state') == 'running' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisIdempotencyStore:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        client = link.client
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    def _key(self, key: str) -> str:
        return f"{self.link.namespace}:idempotency:{key}"

    async def claim(self, key: str, fingerprint: str, lease_seconds: float) -> Claim:
        token = secrets.token_hex(16)
        found = await self._attempt(
            lambda: self._claim(
                keys=[self._key(key)], args=[fingerprint, token, _ms(lease_seconds)]
            )
        )
        if found == ["claimed"]:
            return Claimed(token)
        state, stored_fingerprint, status, headers, body, ttl_ms = found
        if stored_fingerprint != fingerprint:
            return Mismatch()
        if state != "done":
            return InFlight(max(0.0, int(ttl_ms) / 1000))
        pairs = json.loads(headers)
        answer = StoredAnswer(
            int(status), tuple((str(n), str(v)) for n, v in pairs), base64.b64decode(body)
        )
        return Replay(answer)

    async def renew(self, key: str, token: str, lease_seconds: float) -> bool:
        done = await self._attempt(
            lambda: self._renew(keys=[self._key(key)], args=[token, _ms(lease_seconds)])
        )
        return bool(done)

    async def complete(
        self, key: str, token: str, answer: StoredAnswer, ttl_seconds: float
    ) -> bool:
        args: list[str | int] = [
            token,
            answer.status,
            json.dumps(answer.headers),
            base64.b64encode(answer.body).decode("ascii"),
            _ms(ttl_seconds),
        ]
        done = await self._attempt(lambda: self._complete(keys=[self._key(key)], args=args))
        return bool(done)

    async def release(self, key: str, token: str) -> None:
        await self._attempt(lambda: self._release(keys=[self._key(key)], args=[token]))

    async def aclose(self) -> None:
        return None  # the link belongs to the fleet, which closes it

    async def _attempt(self, operation: Callable[[], Awaitable[T]]) -> T:
        result: Any = await self.link.attempt(operation)
        if result is DOWN:
            raise StoreUnavailable("Redis did not answer")
        return result  # type: ignore[no-any-return]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
