"""Suite-wide settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import stamina

from gateway.config import GatewaySettings

if TYPE_CHECKING:
    from tests.fleet.procs import Process
    from tests.redis_server import RedisServer


@pytest.fixture(autouse=True)
def no_backoff_sleeps() -> Iterator[None]:
    """Retries happen as configured, but without their backoff sleeps (stamina's test mode).

    Tests that check waits read them from the retry hook or a fake clock, never from time.
    """
    stamina.set_testing(True, attempts=20, cap=True)
    yield
    stamina.set_testing(False)


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path: Path) -> Iterator[Path]:
    """Each test's gateways keep their state (SQLite: idempotency keys, import jobs) in a
    directory of the test's own, unless the test names one.

    The default, `.gateway-data` under the working directory, would be the checkout's for the
    whole suite: a job one test left queued would be resumed by the next test's import worker
    and send contacts to that test's sandbox (it once turned a `created: true` into `false`).
    """
    field = GatewaySettings.model_fields["data_dir"]
    default = field.default
    field.default = tmp_path / "gateway-data"
    GatewaySettings.model_rebuild(force=True)  # pydantic builds defaults into the validator
    try:
        yield field.default
    finally:
        field.default = default
        GatewaySettings.model_rebuild(force=True)


@pytest.fixture(scope="session")
def redis_binary() -> str:
    from tests.redis_server import redis_server_binary

    return redis_server_binary()


@pytest.fixture(scope="session")
def redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """One redis-server for the session; tests keep apart by key namespace."""
    from tests.redis_server import RedisServer

    server = RedisServer(redis_binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(redis_binary: str) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start again."""
    from tests.redis_server import RedisServer

    server = RedisServer(redis_binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Real processes a test starts (gateways, simulators): stopped after it, last first."""
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()
