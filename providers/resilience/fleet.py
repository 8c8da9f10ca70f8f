"""What one process shares with the rest of the fleet: pacing, circuits and caches per account.

`Fleet()` keeps everything in this process (the default, one worker). `Fleet.shared(link, ...)`
puts each account's budget, circuit and caches in Redis, with local fallbacks while Redis is
down. The app's lifespan builds one Fleet, asks it for each account's CallGuard and cache, and
starts it (the loop that brings other processes' circuit evidence in) and closes it.
`readiness()` and `metric_families()` are what health checks and /metrics read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from providers.cache import MemoryCache, RedisCache, SharedCache
from providers.locks import ContactLocks, LocalContactLocks, RedisContactLocks
from providers.model import ProviderName
from providers.observe import NO_OBSERVER, ProviderObserver
from providers.resilience.guard import CallGuard
from providers.resilience.pacing import Clock, Pacer, Rate, Sleep, loop_time, make_pacer
from providers.resilience.priority import DEFAULT_BACKGROUND_SHARE
from providers.resilience.redis_breaker import RedisCircuitBreaker
from providers.resilience.redis_link import RedisLink, account_id
from providers.resilience.redis_pacer import RedisPacer
from providers.settings import ProviderSettings

log = logging.getLogger("gateway.fleet")


@dataclass
class Fleet:
    link: RedisLink | None = None
    processes: int = 1  # processes sharing each account: the fallback's fair share divides by it
    sync_seconds: float = 0.25  # how often other processes' circuit evidence is read
    pacing_margin: float = 0.1  # seconds added to each shared window, for jitter in transit
    local_margin: float = 0.05  # the same for a budget this process keeps alone
    # What background calls (imports) may take of a budget while interactive calls wait.
    background_share: float = DEFAULT_BACKGROUND_SHARE
    _breakers: list[RedisCircuitBreaker] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _closing: bool = False

    @classmethod
    def shared(
        cls,
        link: RedisLink,
        *,
        processes: int = 1,
        sync_seconds: float = 0.25,
        pacing_margin: float = 0.1,
        local_margin: float = 0.05,
        background_share: float = DEFAULT_BACKGROUND_SHARE,
    ) -> Fleet:
        return cls(
            link,
            processes=processes,
            sync_seconds=sync_seconds,
            pacing_margin=pacing_margin,
            local_margin=local_margin,
            background_share=background_share,
        )

    @property
    def is_shared(self) -> bool:
        return self.link is not None

    def guard(
        self,
        provider: ProviderName,
        settings: ProviderSettings,
        *,
        clock: Clock = loop_time,
        sleep: Sleep = asyncio.sleep,
        observer: ProviderObserver = NO_OBSERVER,
    ) -> CallGuard:
        """The account's CallGuard: its pacer and breaker shared through Redis in a fleet."""
        if self.link is None:
            pacer = make_pacer(
                settings.rate_limit,
                margin=self.local_margin,
                share=self.background_share,
                clock=clock,
                sleep=sleep,
            )
            return CallGuard.from_settings(
                provider, settings, clock=clock, sleep=sleep, observer=observer, pacer=pacer
            )
        account = account_id(provider, settings)
        breaker = RedisCircuitBreaker(
            self.link,
            provider,
            account,
            settings.breaker_threshold,
            settings.breaker_reset_seconds,
            clock=clock,
        )
        self._breakers.append(breaker)
        shared: Pacer | None = None
        if settings.rate_limit:
            shared = RedisPacer(
                self.link,
                provider,
                account,
                Rate.parse(settings.rate_limit),
                processes=self.processes,
                margin=self.pacing_margin,
                share=self.background_share,
                clock=clock,
                sleep=sleep,
            )
        return CallGuard.from_settings(
            provider,
            settings,
            clock=clock,
            sleep=sleep,
            observer=observer,
            pacer=shared,
            breaker=breaker,
        )

    def locks(
        self, provider: ProviderName, settings: ProviderSettings, *, lease_seconds: float
    ) -> ContactLocks:
        """Per-contact write locks; in a fleet, leases in Redis that outlive no holder by more
        than `lease_seconds` (longer than any one operation may take)."""
        if self.link is None:
            return LocalContactLocks()
        account = account_id(provider, settings)
        return RedisContactLocks(self.link, provider, account, lease_seconds=lease_seconds)

    def cache(self, provider: ProviderName, settings: ProviderSettings) -> SharedCache:
        if self.link is None:
            return MemoryCache()
        return RedisCache(self.link, provider, account_id(provider, settings))

    async def start(self) -> None:
        if self.link is not None:
            await self.link.ping()  # logs the warning now if Redis is down at start-up
            if self._breakers:
                self._task = asyncio.get_running_loop().create_task(self._sync_forever())

    async def aclose(self) -> None:
        self._closing = True
        if self._task is not None:
            # Cancelled again until it has ended: a cancel that lands inside a Redis call can
            # be lost there (redis-py, Python 3.11's asyncio.timeout), and the loop would go on
            # for ever while shutdown waited for it.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=self.sync_seconds * 4)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for breaker in self._breakers:
            await breaker.flush()
        if self.link is not None:
            await self.link.aclose()

    async def sync(self) -> None:
        for breaker in self._breakers:
            await breaker.sync()

    async def _sync_forever(self) -> None:
        # Until closed, whether or not aclose()'s cancellation gets through: one landing inside
        # a Redis call can be absorbed there (seen: the task left "cancelling" yet sleeping
        # again, and a gateway's shutdown waiting on it for good, in about half the runs of
        # tests/fleet/test_config.py's two gateways sharing one Redis).
        while not self._closing:
            await self.sync()
            await asyncio.sleep(self.sync_seconds)


@dataclass(frozen=True, slots=True)
class Readiness:
    """One dependency's state for /readyz. `ok` False does not mean "take me out of the load
    balancer": with Redis down the gateway still serves, on local budgets."""

    name: str
    ok: bool
    detail: str


async def readiness(fleet: Fleet) -> Readiness:
    if fleet.link is None:
        return Readiness("redis", True, "not configured: budgets and circuits are per process")
    if await fleet.link.ping():
        return Readiness("redis", True, "shared budgets, circuits and caches in Redis")
    return Readiness("redis", False, "unreachable: serving on local fair-share budgets")


@dataclass(frozen=True, slots=True)
class MetricFamily:
    name: str
    kind: str  # "counter" or "gauge"
    help: str
    samples: tuple[tuple[dict[str, str], float], ...]


def metric_families(fleet: Fleet) -> list[MetricFamily]:
    """The fleet's numbers, for any exporter (see gateway/fleet.py for Prometheus text)."""
    link = fleet.link
    if link is None:
        return [
            MetricFamily("gateway_redis_configured", "gauge", "Redis is configured", (({}, 0),))
        ]
    stats = link.stats
    waits = sorted(stats.shared_waits.items(), key=lambda item: item[0].value)
    grants = sorted(stats.local_grants.items(), key=lambda item: item[0].value)
    return [
        MetricFamily("gateway_redis_configured", "gauge", "Redis is configured", (({}, 1),)),
        MetricFamily(
            "gateway_redis_fallback",
            "gauge",
            "1 while Redis is unreachable and budgets are local fair shares",
            (({}, 1 if stats.down else 0),),
        ),
        MetricFamily(
            "gateway_redis_errors_total",
            "counter",
            "Redis calls that failed",
            (({}, stats.redis_errors),),
        ),
        MetricFamily(
            "gateway_redis_outages_total",
            "counter",
            "Times Redis went from reachable to unreachable",
            (({}, stats.outages),),
        ),
        MetricFamily(
            "gateway_shared_budget_waits_total",
            "counter",
            "Requests that waited for a slot in a shared provider budget",
            tuple(({"provider": p.value}, n) for p, (n, _) in waits),
        ),
        MetricFamily(
            "gateway_shared_budget_wait_seconds_total",
            "counter",
            "Seconds requests waited for slots in shared provider budgets",
            tuple(({"provider": p.value}, s) for p, (_, s) in waits),
        ),
        MetricFamily(
            "gateway_local_budget_grants_total",
            "counter",
            "Requests paced by the local fair share while Redis was unreachable",
            tuple(({"provider": p.value}, n) for p, n in grants),
        ),
    ]
