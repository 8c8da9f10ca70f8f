"""A circuit breaker whose evidence every worker and host of one provider account shares.

The CircuitBreaker protocol is synchronous (it sits on every call's path), so each process keeps
a LocalCircuitBreaker and Redis carries the evidence between processes:
- a provider fault increments a shared failure counter; a success resets it;
- at the threshold (or when this process' half-open probe fails) the process sets a shared
  "open" key that expires after reset_seconds;
- `sync()`, run every fraction of a second by the fleet, trips the local breaker of every
  process while that key lives. Each process then half-opens on its own clock and lets one
  probe through; a failing probe opens the circuit for the fleet again.

Writes leave the call's path as background tasks; with Redis down the local breaker alone
decides, as in a single process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from providers.model import ProviderName
from providers.resilience.breaker import CircuitSnapshot, CircuitState, LocalCircuitBreaker
from providers.resilience.pacing import Clock, loop_time
from providers.resilience.redis_link import DOWN, RedisLink


class RedisCircuitBreaker:
    def __init__(
        self,
        link: RedisLink,
        provider: ProviderName,
        account: str,
        threshold: int = 5,
        reset_seconds: float = 30.0,
        *,
        clock: Clock = loop_time,
    ) -> None:
        self.link = link
        self.local = LocalCircuitBreaker(threshold, reset_seconds, clock=clock)
        self.threshold = threshold
        self.reset_ms = max(1, round(reset_seconds * 1000))
        self._failures_key = link.key(provider, account, "circuit:failures")
        self._open_key = link.key(provider, account, "circuit:open")
        self._writes: set[asyncio.Task[None]] = set()
        self._shared_failures = 0  # the fleet's count, as last seen

    # -- the CircuitBreaker protocol: local decisions, shared evidence --------------------------

    def before_call(self) -> None:
        self.local.before_call()

    def record_success(self) -> None:
        # Most calls succeed: write only when there is shared evidence to clear.
        clear = self._shared_failures > 0 or self.local.snapshot().consecutive_failures > 0
        self.local.record_success()
        if clear:
            self._shared_failures = 0
            self._write(self._shared_success())

    def record_failure(self) -> None:
        self.local.record_failure()
        opened = self.local.snapshot().state is CircuitState.OPEN
        self._write(self._shared_failure(opened))

    def snapshot(self) -> CircuitSnapshot:
        return self.local.snapshot()

    # -- Redis ------------------------------------------------------------------------------------

    async def sync(self) -> None:
        """Adopt the fleet's verdict: trip the local breaker while the shared circuit is open."""
        answer = await self.link.attempt(self._read_shared)
        if answer is DOWN:
            return
        remaining_ms, failures = answer
        self._shared_failures = int(failures or 0)
        if int(remaining_ms) > 0:
            self.local.trip(int(remaining_ms) / 1000, self._shared_failures)
        else:
            self.local.forget_failures(self._shared_failures)

    async def _read_shared(self) -> list[Any]:
        async with self.link.client.pipeline(transaction=False) as pipe:
            pipe.pttl(self._open_key)
            pipe.get(self._failures_key)
            return await pipe.execute()

    async def flush(self) -> None:
        """Wait for the writes in flight (for tests and shutdown)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def _write(self, coroutine: Coroutine[Any, Any, None]) -> None:
        if not self.link.available():
            coroutine.close()
            return
        task = asyncio.get_running_loop().create_task(coroutine)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _shared_failure(self, opened_here: bool) -> None:
        async def count() -> None:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.incr(self._failures_key)
                pipe.pexpire(self._failures_key, self.reset_ms * 10)
                failures, _ = await pipe.execute()
            self._shared_failures = int(failures)
            if opened_here or int(failures) >= self.threshold:
                await self.link.client.set(self._open_key, "1", px=self.reset_ms)
                self.local.trip(self.reset_ms / 1000, int(failures))

        await self.link.attempt(count)

    async def _shared_success(self) -> None:
        await self.link.attempt(lambda: self.link.client.delete(self._failures_key, self._open_key))
