"""The one Redis connection a process shares state through, and what it knows about Redis' health.

Every shared pacer, breaker and cache of the process goes through one RedisLink. When a Redis
call fails, the link marks Redis as down for `retry_seconds`: meanwhile everything uses its local
fallback without waiting on Redis; the first call after that tries Redis again, and when it
answers the shared state is back. One warning is logged per outage, one info line on recovery.

Keys are `<namespace>:<provider>:<account>:<purpose>`, where `account` is a digest of the
account's base URL and key: every worker and host of one account meets on the same keys, two
accounts never do, and no key carries a secret, a URL or a contact's data.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from providers.model import ProviderName
from providers.resilience.pacing import Clock
from providers.settings import ProviderSettings, secret

log = logging.getLogger("gateway.fleet")

# What a failing Redis raises through redis-py: its own errors, and the OS' for a dead socket.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
T = TypeVar("T")


class Down(enum.Enum):
    """What RedisLink.attempt answers instead of a result while Redis is down."""

    DOWN = "down"


DOWN = Down.DOWN


def account_id(provider: ProviderName, settings: ProviderSettings) -> str:
    """A stable, secret-free name for one provider account, the same on every host: a digest
    of the provider, base URL and every credential (api_key, or e.g. a JWT secret pair)."""
    secrets = [
        f"{name}={secret(value)}"
        for name, value in sorted(settings)
        if isinstance(value, SecretStr)
    ]
    material = "|".join([provider.value, settings.base_url, *secrets])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass
class FleetStats:
    """Counters for /metrics; plain numbers so any exporter can read them."""

    redis_errors: int = 0
    outages: int = 0  # times Redis went from up to down
    down: bool = False
    # provider -> [requests that waited for a shared slot, seconds waited in all]
    shared_waits: dict[ProviderName, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0.0])
    )
    # provider -> requests paced by the local fair share while Redis was down
    local_grants: dict[ProviderName, int] = field(default_factory=lambda: defaultdict(int))

    def waited(self, provider: ProviderName, seconds: float) -> None:
        if seconds > 0:
            entry = self.shared_waits[provider]
            entry[0] += 1
            entry[1] += seconds


def honour_cancel(task: asyncio.Task[object] | None, asked: int) -> None:
    """Raise the cancellation a Redis call swallowed.

    redis-py writes a command under `asyncio.wait_for(..., socket_timeout)`. On Python 3.11,
    wait_for returns the write's result when the task is cancelled just as the write ends
    (CPython gh-86296, fixed in 3.12, where wait_for is built on asyncio.timeout): the cancel
    is counted (`task.cancelling()` went up) but never raised, and the caller goes on as if
    nothing had asked it to stop. A loop of shared-pacer calls then outlives its cancellation
    for good; seen as an import's slot-takers that a shutdown or a test could not stop. So a
    cancel asked for during the call and not delivered is raised here, when it returns; an
    `asyncio.timeout` around the caller still turns it into its TimeoutError. Harmless on 3.12
    and later, where nothing is swallowed."""
    if task is not None and task.cancelling() > asked:
        raise asyncio.CancelledError


class RedisLink:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        namespace: str = "gateway",
        retry_seconds: float = 2.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.retry_seconds = retry_seconds
        self.stats = FleetStats()
        self._clock = clock
        self._down_until: float | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        namespace: str = "gateway",
        retry_seconds: float = 2.0,
        timeout: float = 0.5,
        max_connections: int = 50,
        clock: Clock = time.monotonic,
    ) -> RedisLink:
        # No retries inside redis-py: a Redis that does not answer at once is treated as down
        # and the request goes on with the local budget instead of waiting for it.
        # A blocking pool: a burst of concurrent requests queues for a connection (up to
        # `timeout`) instead of failing the pool and being mistaken for Redis being down.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=max(2.0, timeout),  # waiting for a pooled connection is not Redis failing
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
            health_check_interval=0,
        )
        client = aioredis.Redis(connection_pool=pool)
        return cls(client, namespace=namespace, retry_seconds=retry_seconds, clock=clock)

    def key(self, provider: ProviderName, account: str, purpose: str) -> str:
        return f"{self.namespace}:{provider.value}:{account}:{purpose}"

    def available(self) -> bool:
        """False while a recent failure says Redis is down: use the local fallback."""
        return self._down_until is None or self._clock() >= self._down_until

    def failed(self, error: BaseException) -> None:
        self.stats.redis_errors += 1
        if not self.stats.down:
            self.stats.down = True
            self.stats.outages += 1
            log.warning(
                "Redis is unreachable (%s): shared budgets, circuits and caches fall back to "
                "this process' local share until it answers again",
                type(error).__name__,
            )
        self._down_until = self._clock() + self.retry_seconds

    def succeeded(self) -> None:
        self._down_until = None
        if self.stats.down:
            self.stats.down = False
            log.info("Redis answers again: shared budgets, circuits and caches resume")

    async def attempt(self, operation: Callable[[], Awaitable[T]]) -> T | Down:
        """One Redis operation's result; DOWN when Redis is down (now or in its cool-down),
        and the caller uses its local fallback. Every shared pacer, breaker and cache call goes
        through here, so the link always knows whether Redis answers."""
        if not self.available():
            return DOWN
        return await self._call(operation)

    async def ping(self) -> bool:
        """For readiness: a live round trip, whatever the cool-down says."""
        return await self._call(self.client.ping) is not DOWN

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T | Down:
        task = asyncio.current_task()
        asked = task.cancelling() if task is not None else 0
        try:
            result = await operation()
        except REDIS_ERRORS as exc:
            self.failed(exc)
            honour_cancel(task, asked)
            return DOWN
        self.succeeded()
        honour_cancel(task, asked)
        return result

    async def aclose(self) -> None:
        await self.client.aclose()
