"""Prometheus metrics, one registry per app, and the gateway's side of ProviderObserver."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.ops.request_context import current_request
from providers.model import ProviderName
from providers.resilience import CallGuard, CircuitState

__all__ = ["CONTENT_TYPE_LATEST", "GatewayMetrics"]

# Provider calls run from a few milliseconds to the 30 s deadline.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_STATE_VALUE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


class GatewayMetrics:
    """Implements providers.observe.ProviderObserver; labels never carry personal data."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gateway_requests",
            "Mutations answered, by mutation, provider and outcome (OK or an ErrorCode).",
            ["mutation", "provider", "outcome"],
            registry=r,
        )
        self.bulk_items = Counter(
            "gateway_bulk_items",
            "Contacts in bulkUpsertContacts, by provider and outcome (OK or an ErrorCode).",
            ["provider", "outcome"],
            registry=r,
        )
        self.http = Counter(
            "gateway_http_requests",
            "HTTP requests served, by route and status.",
            ["route", "status"],
            registry=r,
        )
        self.provider_latency = Histogram(
            "gateway_provider_call_seconds",
            "One HTTP attempt to a provider, by provider and result (status or failure).",
            ["provider", "result"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "gateway_provider_retries",
            "Provider calls scheduled to be sent again, by provider and reason.",
            ["provider", "reason"],
            registry=r,
        )
        self.pacing_wait = Counter(
            "gateway_provider_pacing_wait_seconds",
            "Time requests spent waiting for a slot in a provider's request budget.",
            ["provider"],
            registry=r,
        )
        self.writes = Counter(
            "gateway_provider_writes",
            "Write requests that reached a provider and were not refused whole, by provider.",
            ["provider"],
            registry=r,
        )
        self.circuit = Gauge(
            "gateway_provider_circuit_state",
            "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.",
            ["provider"],
            registry=r,
        )
        self._guards: Mapping[ProviderName, CallGuard] = {}
        # labels() validates its values and takes a lock on every call; the values are few
        # (routes, statuses, providers, failure names), so each child is looked up once.
        self._http_child: Callable[[str, int], Counter] = cache(
            lambda route, status: self.http.labels(route, str(status))
        )
        self._latency_child: Callable[[str, str], Histogram] = cache(self.provider_latency.labels)
        self._writes_child: Callable[[str], Counter] = cache(self.writes.labels)

    def http_served(self, route: str, status: int) -> None:
        self._http_child(route, status).inc()

    def provider_called(self, provider: str, result: str, seconds: float) -> None:
        """One attempt: `result` is the answer's status, or the failure's exception name."""
        self._latency_child(provider, result).observe(seconds)

    def watch(self, guards: Mapping[ProviderName, CallGuard]) -> None:
        """Read circuit states from these guards whenever metrics are scraped."""
        self._guards = guards

    def render(self) -> bytes:
        for name, guard in self._guards.items():
            self.circuit_changed(name, guard.breaker.snapshot().state)
        return generate_latest(self.registry)

    # ProviderObserver
    def retry_scheduled(self, provider: ProviderName, reason: str, wait: float) -> None:
        self.retries.labels(provider.value, reason).inc()
        record = current_request()
        if record is not None:
            record.retries += 1

    def pacing_waited(self, provider: ProviderName, seconds: float) -> None:
        self.pacing_wait.labels(provider.value).inc(seconds)
        record = current_request()
        if record is not None:
            record.pacing_wait_seconds += seconds

    def circuit_changed(self, provider: ProviderName, state: CircuitState) -> None:
        self.circuit.labels(provider.value).set(_STATE_VALUE[state])

    def write_reached(self, provider: ProviderName) -> None:
        self._writes_child(provider.value).inc()
        record = current_request()
        if record is not None:
            record.provider_writes += 1
