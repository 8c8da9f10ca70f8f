"""Shared pacing, circuits and caches against a real redis-server, several "processes" in one
test (each its own RedisLink, as each worker has), and what happens when Redis goes away."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import pytest
from pydantic import SecretStr

from providers.cache import MemoryCache, RedisCache
from providers.locks import RedisContactLocks
from providers.model import ProviderName
from providers.resilience.breaker import CircuitOpen, CircuitState
from providers.resilience.fleet import Fleet, metric_families, readiness
from providers.resilience.pacing import PacingExceeded, Rate
from providers.resilience.redis_breaker import RedisCircuitBreaker
from providers.resilience.redis_link import account_id
from providers.resilience.redis_pacer import RedisPacer, fair_share
from providers.trackly import TracklySettings
from tests.fleet.conftest import LinkFactory
from tests.redis_server import RedisServer, free_port

CL = ProviderName.TRACKLY
SECRET_KEY = "trk_" + "9f8e" * 8


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordedSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_two_processes_share_one_budget(links: LinkFactory) -> None:
    rate = Rate(5, 1.0)  # one request every 0.204 s
    one = RedisPacer(links(), CL, "acct", rate, processes=2, sleep=RecordedSleep())
    two = RedisPacer(links(), CL, "acct", rate, processes=2, sleep=RecordedSleep())
    interval = one.schedule.interval
    assert await one.acquire(max_wait=0) == 0
    # The schedule's next moment is the account's, not a process': neither may send now...
    for pacer in (two, one):
        with pytest.raises(PacingExceeded) as refused:
            await pacer.acquire(max_wait=0)
        assert 0 < refused.value.wait <= interval
    # ...and a caller that can wait is handed that moment, reserved for it.
    sleep = RecordedSleep()
    patient = RedisPacer(links(), CL, "acct", rate, sleep=sleep)
    waited = await patient.acquire(max_wait=5)
    assert 0 < waited <= interval
    assert sleep.waits == [waited]
    assert one.link.stats.redis_errors == 0


async def test_the_fleet_shares_one_small_burst_then_one_pace(links: LinkFactory) -> None:
    rate = Rate(100, 1.0)
    pacers = [
        RedisPacer(links(), CL, "acct", rate, processes=2, margin=0.1, sleep=RecordedSleep())
        for _ in range(2)
    ]
    burst = pacers[0].schedule.burst
    assert burst == 5  # half the room the 0.1 s margin leaves in a second
    for n in range(burst):
        assert await pacers[n % 2].acquire(max_wait=0) == 0
    with pytest.raises(PacingExceeded):
        await pacers[1].acquire(max_wait=0)


async def test_accounts_do_not_share_a_budget(links: LinkFactory) -> None:
    rate = Rate(1, 1.0)
    first = RedisPacer(links(), CL, "account-a", rate, sleep=RecordedSleep())
    second = RedisPacer(links(), CL, "account-b", rate, sleep=RecordedSleep())
    assert await first.acquire(max_wait=0) == 0
    assert await second.acquire(max_wait=0) == 0
    with pytest.raises(PacingExceeded):
        await first.acquire(max_wait=0)


def test_fair_share_never_exceeds_the_limit_and_never_reaches_zero() -> None:
    assert fair_share(Rate(100, 1.0), 4) == Rate(25, 1.0)
    assert fair_share(Rate(100, 1.0), 3) == Rate(33, 1.0)
    assert fair_share(Rate(2, 60.0), 8) == Rate(1, 60.0)


async def test_redis_down_paces_on_the_local_fair_share_and_says_so(
    links: LinkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    link = links(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    pacer = RedisPacer(link, CL, "acct", Rate(10, 1.0), processes=4, sleep=RecordedSleep())
    with caplog.at_level(logging.WARNING, logger="gateway.fleet"):
        granted = 0
        with pytest.raises(PacingExceeded):
            for _ in range(11):
                await pacer.acquire(max_wait=0)
                granted += 1
    # 10 // 4 a second, spaced: the fleet of four stays under the account's limit
    assert pacer.local.rate == Rate(2, 1.0) and granted == 1
    assert link.stats.down and link.stats.outages == 1
    assert link.stats.redis_errors == 1  # one failure, then the cool-down spares Redis
    assert link.stats.local_grants[CL] == 2  # one granted, the next refused
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "local share" in warnings[0].getMessage()


async def test_shared_pacing_resumes_when_redis_is_back(
    own_redis: RedisServer, links: LinkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    link = links(own_redis.url, retry_seconds=2.0, clock=clock)
    pacer = RedisPacer(link, CL, "acct", Rate(100, 1.0), processes=2, sleep=RecordedSleep())
    await pacer.acquire()
    assert await link.client.get(pacer.key) is not None

    own_redis.stop()
    await pacer.acquire()  # goes on, locally
    assert link.stats.down
    own_redis.start()
    await pacer.acquire()  # still cooling down: local, Redis is not asked
    assert link.stats.redis_errors == 1 and link.stats.local_grants[CL] == 2

    clock.now += 2.0
    with caplog.at_level(logging.INFO, logger="gateway.fleet"):
        await pacer.acquire()
    assert not link.stats.down
    assert await link.client.get(pacer.key) is not None  # a fresh Redis: the shared schedule
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_one_process_opens_the_circuit_for_all(links: LinkFactory) -> None:
    one = RedisCircuitBreaker(links(), CL, "acct", threshold=3, reset_seconds=30)
    two = RedisCircuitBreaker(links(), CL, "acct", threshold=3, reset_seconds=30)
    one.record_failure()
    two.record_failure()  # evidence from both counts together
    await one.flush()
    await two.flush()
    one.record_failure()
    await one.flush()
    assert one.snapshot().state is CircuitState.OPEN

    three = RedisCircuitBreaker(links(), CL, "acct", threshold=3, reset_seconds=30)
    assert three.snapshot().state is CircuitState.CLOSED
    await three.sync()
    snapshot = three.snapshot()
    assert snapshot.state is CircuitState.OPEN
    assert snapshot.consecutive_failures == 3
    assert snapshot.retry_after is not None and 25 < snapshot.retry_after <= 30
    with pytest.raises(CircuitOpen):
        three.before_call()


async def test_a_success_clears_the_shared_evidence(links: LinkFactory) -> None:
    one = RedisCircuitBreaker(links(), CL, "acct", threshold=2, reset_seconds=30)
    two = RedisCircuitBreaker(links(), CL, "acct", threshold=2, reset_seconds=30)
    one.record_failure()
    await one.flush()
    await two.sync()
    two.record_success()  # the provider answered: consecutive failures start again
    await two.flush()
    await one.sync()
    one.record_failure()
    await one.flush()
    await two.sync()
    assert one.snapshot().state is CircuitState.CLOSED
    assert two.snapshot().state is CircuitState.CLOSED


async def test_breaker_without_redis_decides_locally(links: LinkFactory) -> None:
    link = links(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    breaker = RedisCircuitBreaker(link, CL, "acct", threshold=2, reset_seconds=30)
    breaker.record_failure()
    await breaker.flush()
    breaker.record_failure()  # Redis is cooling down: no write is even tried
    await breaker.flush()
    await breaker.sync()
    assert breaker.snapshot().state is CircuitState.OPEN
    assert link.stats.redis_errors == 1


async def test_caches_are_shared_with_their_ttl(links: LinkFactory) -> None:
    one = RedisCache(links(), CL, "acct")
    two = RedisCache(links(), CL, "acct")
    await one.set("fields", '{"plan": 7}', ttl=60)
    assert await two.get("fields") == '{"plan": 7}'
    ttl_ms = await one.link.client.pttl(one.prefix + "fields")
    assert 0 < ttl_ms <= 60_000
    await two.delete("fields")
    assert await one.get("fields") is None


async def test_cache_falls_back_to_memory_while_redis_is_down(links: LinkFactory) -> None:
    cache = RedisCache(links(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2), CL, "acct")
    await cache.set("tags", "[1, 2]", ttl=60)
    assert await cache.get("tags") == "[1, 2]"
    assert cache.link.stats.down


async def test_memory_cache_expires_entries() -> None:
    clock = ManualClock()
    cache = MemoryCache(clock=clock)
    await cache.set("tags", "x", ttl=10)
    clock.now += 9.9
    assert await cache.get("tags") == "x"
    clock.now += 0.2
    assert await cache.get("tags") is None


async def test_memory_cache_drops_the_entry_written_longest_ago_past_its_bound() -> None:
    cache = MemoryCache(clock=ManualClock(), max_entries=3)
    for key in ("a", "b", "c"):
        await cache.set(key, key, ttl=60)
    await cache.set("a", "a again", ttl=60)  # written anew: now the youngest
    await cache.set("d", "d", ttl=60)
    assert [await cache.get(key) for key in "abcd"] == ["a again", None, "c", "d"]


async def test_keys_are_namespaced_and_carry_no_secrets(links: LinkFactory) -> None:
    settings = TracklySettings(
        base_url="https://trackly.test/api",
        api_key=SecretStr(SECRET_KEY),
        default_list_number="+18005551234",
    )
    fleet = Fleet.shared(links(), processes=2)
    guard = fleet.guard(CL, settings.model_copy(update={"rate_limit": "10/second"}))
    await guard.pacer.acquire()
    guard.breaker.record_failure()
    await fleet.cache(CL, settings).set("fields", "{}", ttl=5)
    await fleet.sync()
    await fleet.aclose()
    assert fleet.link is not None
    inspect = links()
    keys = [key async for key in inspect.client.scan_iter(match=f"{inspect.namespace}:*")]
    account = account_id(CL, settings)
    prefix = f"{inspect.namespace}:trackly:{account}:"
    assert sorted(keys) == [
        prefix + "cache:fields",
        prefix + "circuit:failures",
        prefix + "pacing:gcra",
    ]
    for key in keys:
        assert SECRET_KEY not in key and "trackly.test" not in key
    assert SECRET_KEY not in account


async def test_readiness_and_metrics(links: LinkFactory) -> None:
    assert (await readiness(Fleet())).ok
    up = Fleet.shared(links())
    assert (await readiness(up)).ok
    down = Fleet.shared(links(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2))
    state = await readiness(down)
    assert not state.ok and "local" in state.detail
    values = {family.name: family.samples for family in metric_families(down)}
    assert values["gateway_redis_fallback"] == (({}, 1),)
    assert values["gateway_redis_errors_total"] == (({}, 1),)


async def test_one_contact_is_written_by_one_process_at_a_time(links: LinkFactory) -> None:
    one = RedisContactLocks(links(), CL, "acct", lease_seconds=5)
    two = RedisContactLocks(links(), CL, "acct", lease_seconds=5)
    inside: list[str] = []

    async def write(locks: RedisContactLocks, name: str) -> None:
        async with locks.hold("ann@example.com"):
            inside.append(name)
            assert len(inside) == 1, inside
            await asyncio.sleep(0.05)
            inside.remove(name)

    await asyncio.gather(*(write(locks, str(n)) for n, locks in enumerate([one, two] * 3)))
    # other contacts are not held up by it
    async with one.hold("ann@example.com"), asyncio.timeout(1), two.hold("bob@example.com"):
        pass


async def test_a_dead_holders_lease_runs_out(links: LinkFactory) -> None:
    link = links()
    locks = RedisContactLocks(link, CL, "acct", lease_seconds=5)
    name = locks.prefix + hashlib.sha256(b"ann@example.com").hexdigest()[:32]
    await link.client.set(name, "a process that died", px=300)  # its lease, never released
    started = asyncio.get_running_loop().time()
    async with locks.hold("ann@example.com"):
        waited = asyncio.get_running_loop().time() - started
        assert await link.client.get(name) != "a process that died"
    assert 0.2 < waited < 2
    assert await link.client.get(name) is None  # released by its own holder


async def test_locks_hold_within_the_process_while_redis_is_down(
    own_redis: RedisServer, links: LinkFactory
) -> None:
    locks = RedisContactLocks(links(own_redis.url), CL, "acct", lease_seconds=5)
    own_redis.stop()
    order: list[str] = []

    async def write(name: str) -> None:
        async with locks.hold("ann@example.com"):
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(write("a"), write("b"))
    assert order == ["a in", "a out", "b in", "b out"]
