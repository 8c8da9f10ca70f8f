"""Fixtures of the fleet tests: Redis links in a namespace of each test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from providers.resilience.redis_link import RedisLink
from tests.redis_server import RedisServer

LinkFactory = Callable[..., RedisLink]


@pytest.fixture
async def links(redis_server: RedisServer) -> AsyncIterator[LinkFactory]:
    """Makes RedisLinks to the session's redis-server (or `url`), all in one fresh namespace,
    and closes them after the test."""
    namespace = f"t{uuid.uuid4().hex[:8]}"
    made: list[RedisLink] = []

    def make(url: str = redis_server.url, **kwargs: object) -> RedisLink:
        link = RedisLink.from_url(url, namespace=namespace, **kwargs)  # type: ignore[arg-type]
        made.append(link)
        return link

    yield make
    for link in made:
        await link.aclose()
