"""The one catalogue every provider's name -> id maps use: TTL, one refresh on a miss, one
matching rule, shared through the fleet's cache."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from providers.cache import MemoryCache
from providers.catalogue import Catalogue
from providers.errors import ErrorCode
from providers.model import ProviderName
from tests.support import FakeClock


class SharedMemory(MemoryCache):
    """A MemoryCache that says it is shared: what RedisCache is to the fleet."""

    shared = True


def catalogue(
    load: Callable[[], Awaitable[dict[str, int]]],
    *,
    cache: MemoryCache | None = None,
    ttl: float = 300.0,
    clock: FakeClock | None = None,
) -> Catalogue[int]:
    return Catalogue(
        load,
        provider=ProviderName.HEYMARKET,
        what="custom field",
        cache=cache if cache is not None else MemoryCache(),
        key="fields",
        ttl=ttl,
        clock=clock or FakeClock(),
    )


async def test_catalogue_is_reloaded_after_its_ttl_and_not_before() -> None:
    clock = FakeClock()
    loads: list[int] = []

    async def load() -> dict[str, int]:
        loads.append(1)
        return {"plan": 101, "Tier": 102}

    names = catalogue(load, clock=clock)
    assert (await names.resolve(["plan"])).found == {"plan": 101}
    clock.now += 299
    assert (await names.resolve(["tier"])).found == {"tier": 102}  # case-insensitive
    assert len(loads) == 1
    clock.now += 1
    await names.resolve(["plan"])
    assert len(loads) == 2 and names.name_of(102) == "Tier"


async def test_concurrent_misses_refresh_the_catalogue_once() -> None:
    loads: list[int] = []

    async def load() -> dict[str, int]:
        loads.append(1)
        await asyncio.sleep(0)
        return {"plan": 101}

    names = catalogue(load)
    await names.entries()
    results = await asyncio.gather(*(names.resolve(["ghost"]) for _ in range(10)))
    assert len(loads) == 2
    assert all(r.missing == ("ghost",) for r in results)


async def test_the_exact_name_wins_over_a_case_insensitive_match() -> None:
    async def load() -> dict[str, int]:
        return {"Tier": 1, "tier": 2}

    found = await catalogue(load).resolve(["tier", "Tier"])
    assert found.found == {"tier": 2, "Tier": 1}


async def test_a_name_matching_several_entries_by_case_is_refused_naming_them() -> None:
    async def load() -> dict[str, int]:
        return {"Tier": 1, "TIER": 2}

    names = catalogue(load)
    found = await names.resolve(["tier"])
    assert found.found == {} and found.ambiguous == {"tier": ("Tier", "TIER")}
    failure = names.refusal(
        found, "tier", code=ErrorCode.UNKNOWN_FIELD, field="customFields.tier", unknown="-"
    )
    assert failure.code is ErrorCode.UNKNOWN_FIELD
    assert failure.field == "customFields.tier" and failure.provider is ProviderName.HEYMARKET
    assert "'Tier'" in failure.message and "'TIER'" in failure.message


async def test_a_missing_name_is_refused_with_the_providers_own_words() -> None:
    async def load() -> dict[str, int]:
        return {}

    names = catalogue(load)
    found = await names.resolve(["ghost"])
    failure = names.refusal(
        found, "ghost", code=ErrorCode.UNKNOWN_TAG, field="tags[0]", unknown="no tag 'ghost'"
    )
    assert (failure.code, failure.message, failure.field) == (
        ErrorCode.UNKNOWN_TAG,
        "no tag 'ghost'",
        "tags[0]",
    )


async def test_a_name_the_shared_map_lacks_is_asked_of_the_provider() -> None:
    cache = SharedMemory()
    loads: list[dict[str, int]] = [{"Plan": 1}, {"Plan": 1, "Tier": 2}]

    async def load() -> dict[str, int]:
        return loads.pop(0)

    first = catalogue(load, cache=cache, ttl=60)
    assert (await first.resolve(["Plan"])).found == {"Plan": 1}
    second = catalogue(load, cache=cache, ttl=60)
    assert (await second.resolve(["plan"])).found == {"plan": 1}  # adopted, not loaded
    assert (await second.resolve(["Tier"])).found == {"Tier": 2}  # missing: the provider is asked
    assert loads == []


async def test_an_invalidated_map_is_loaded_from_the_provider_not_the_shared_copy() -> None:
    cache = SharedMemory()
    loads: list[dict[str, int]] = [{"plan": 1}, {"plan": 7}]

    async def load() -> dict[str, int]:
        return loads.pop(0)

    names = catalogue(load, cache=cache, ttl=60)
    assert (await names.resolve(["plan"])).found == {"plan": 1}
    names.invalidate()  # the provider refused id 1
    assert (await names.resolve(["plan"])).found == {"plan": 7}
    assert json.loads(await cache.get("fields") or "{}") == {"plan": 7}  # the fleet's copy too


async def test_a_shared_copy_it_cannot_read_is_replaced_by_a_load() -> None:
    cache = SharedMemory()
    await cache.set("fields", "not json", 60)

    async def load() -> dict[str, int]:
        return {"plan": 3}

    names = catalogue(load, cache=cache, ttl=60)
    assert (await names.resolve(["plan"])).found == {"plan": 3}
    assert names.loads == 1
