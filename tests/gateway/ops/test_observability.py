"""/metrics, /readyz, request ids and tracing, through the real app."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from gateway.config import Config, GatewaySettings
from gateway.ops.metrics import GatewayMetrics
from gateway.ops.request_context import begin_request, current_request, end_request
from gateway.sandbox import Sandbox
from providers.model import ProviderName
from providers.resilience import CircuitState
from tests.support import BULK, UPSERT, serve, trackly_config


def with_trackly(config: Config, **settings: Any) -> Config:
    trackly = config.providers[ProviderName.TRACKLY].model_copy(update=settings)
    return Config(config.gateway, {ProviderName.TRACKLY: trackly}, sandbox=config.sandbox)


def sample(page: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text page, or None when it is absent."""
    for line in page.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        found = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not found or found.group(1) != name:
            continue
        given = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if given == labels:
            return float(found.group(3))
    return None


def contact(phone: str) -> dict[str, Any]:
    return {"provider": "TRACKLY", "contact": {"phone": phone}}


async def test_metrics_count_mutations_bulk_items_and_provider_latency() -> None:
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox) as client:
        await client.data(UPSERT, contact("+14155552671"))
        await client.data(UPSERT, contact("12"))
        await client.data(
            BULK, {"provider": "TRACKLY", "contacts": [{"phone": "+14155552672"}, {"phone": "x"}]}
        )
        await client.data(UPSERT, {"provider": "HEYMARKET", "contact": {"phone": "+14155552671"}})
        response = await client.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    page = response.text
    requests = "gateway_requests_total"
    assert sample(page, requests, mutation="upsertContact", provider="trackly", outcome="OK") == 1
    assert (
        sample(
            page, requests, mutation="upsertContact", provider="trackly", outcome="INVALID_PHONE"
        )
        == 1
    )
    assert (
        sample(
            page,
            requests,
            mutation="upsertContact",
            provider="heymarket",
            outcome="OK",
        )
        == 1
    )
    assert sample(page, "gateway_bulk_items_total", provider="trackly", outcome="OK") == 1
    assert (
        sample(page, "gateway_bulk_items_total", provider="trackly", outcome="INVALID_PHONE") == 1
    )
    calls = sample(page, "gateway_provider_call_seconds_count", provider="trackly", result="200")
    assert calls is not None and calls >= 2
    assert sample(page, "gateway_provider_circuit_state", provider="trackly") == 0
    assert sample(page, "gateway_http_requests_total", route="/graphql", status="200") == 4
    for text in ("4155552671", "+1415"):
        assert text not in page  # labels carry no personal data


async def test_the_circuit_state_gauge_follows_the_breaker() -> None:
    config = with_trackly(trackly_config(), breaker_threshold=1)
    transport = httpx.MockTransport(lambda r: httpx.Response(500, json={"error": "boom"}))
    async with serve(config, transports={ProviderName.TRACKLY: transport}) as client:
        failed = await client.data(UPSERT, contact("+14155552671"))
        page = (await client.http.get("/metrics")).text
    assert failed["upsertContact"]["code"] == "PROVIDER_ERROR"
    assert sample(page, "gateway_provider_circuit_state", provider="trackly") == 2
    assert sample(page, "gateway_provider_call_seconds_count", provider="trackly", result="500")


@pytest.mark.looptime
async def test_pacing_waits_are_counted_in_metrics_and_on_the_request() -> None:
    config = with_trackly(trackly_config(), rate_limit="1/second")
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"success": True}))
    async with serve(config, transports={ProviderName.TRACKLY: transport}) as client:
        for n in range(3):
            await client.data(UPSERT, contact(f"+1415555267{n}"))
        page = (await client.http.get("/metrics")).text
    waited = sample(page, "gateway_provider_pacing_wait_seconds_total", provider="trackly")
    assert waited is not None and waited >= 2.0


def test_the_observer_counts_retries_on_metrics_and_on_the_current_request() -> None:
    metrics = GatewayMetrics()
    token = begin_request("r1")
    try:
        metrics.retry_scheduled(ProviderName.TRACKLY, "RATE_LIMITED", 0.5)
        metrics.retry_scheduled(ProviderName.TRACKLY, "RATE_LIMITED", 1.0)
        metrics.circuit_changed(ProviderName.TRACKLY, CircuitState.HALF_OPEN)
        record = current_request()
    finally:
        end_request(token)
    page = metrics.render().decode()
    assert record is not None and record.retries == 2
    assert sample(page, "gateway_provider_retries_total", provider="trackly", reason="RATE_LIMITED")
    assert sample(page, "gateway_provider_circuit_state", provider="trackly") == 1


async def test_metrics_can_be_switched_off() -> None:
    async with serve(trackly_config(metrics=False)) as client:
        response = await client.http.get("/metrics")
    assert response.status_code == 404


async def test_readyz_is_503_until_the_provider_clients_are_open() -> None:
    app = create_app(trackly_config())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        before = await http.get("/readyz")
        async with app.router.lifespan_context(app):
            during = await http.get("/readyz")
            alive = await http.get("/healthz")
        after = await http.get("/readyz")
    assert (before.status_code, during.status_code, after.status_code) == (503, 200, 503)
    assert during.json()["status"] == "ready" and during.json()["providers"] == 1
    assert during.json()["redis"]["ok"] is True  # not configured: per-process budgets
    assert alive.status_code == 200


async def test_request_ids_are_made_or_kept_returned_and_sent_to_the_provider() -> None:
    seen: list[str | None] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-request-id"))
        return httpx.Response(200, json={"success": True}, headers={"X-Request-Id": "trk-77"})

    transports = {ProviderName.TRACKLY: httpx.MockTransport(provider)}
    async with serve(trackly_config(), transports=transports) as client:
        made = await client.post(UPSERT, contact("+14155552671"))
        kept = await client.post(UPSERT, contact("+14155552671"), headers={"X-Request-Id": "abc-1"})
        junk = await client.post(
            UPSERT, contact("+14155552671"), headers={"X-Request-Id": "no spaces <b>"}
        )
        refused = await client.http.post(
            "/graphql",
            content=b"{",
            headers={"X-Request-Id": "e1", "Content-Type": "application/json"},
        )
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "abc-1"
    assert junk.headers["x-request-id"] != "no spaces <b>"
    assert refused.status_code == 400 and refused.headers["x-request-id"] == "e1"
    assert seen == [made.headers["x-request-id"], "abc-1", junk.headers["x-request-id"]]


async def test_a_provider_error_keeps_the_providers_own_request_id() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(500, json={"error": "x"}, headers={"X-Request-Id": "trk-42"})
    )
    async with serve(trackly_config(), transports={ProviderName.TRACKLY: transport}) as client:
        data = await client.data(UPSERT, contact("+14155552671"))
    assert "trk-42" in data["upsertContact"]["message"]


def tracing() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_tracing_gives_an_operation_span_with_provider_call_spans_inside() -> None:
    provider, exporter = tracing()
    sandbox = Sandbox()
    config = sandbox.config(GatewaySettings(tracing=True))
    variables = {
        "provider": "TRACKLY",
        "contact": {"phone": "+14155552671", "email": "jane@example.com"},
    }
    async with serve(config, sandbox=sandbox, tracer_provider=provider) as client:
        # The second send runs from the document's plan (gateway.schema.compiled.view): same spans.
        for _ in range(2):
            await client.data(UPSERT, variables)
    finished = exporter.get_finished_spans()
    operations = [span for span in finished if span.name == "graphql.operation"]
    calls = [span for span in finished if span.name == "provider.call"]
    assert len(operations) == len(calls) == 2
    for operation, call in zip(operations, calls, strict=True):
        assert call.parent is not None and call.parent.span_id == operation.context.span_id
        assert operation.attributes == {
            "graphql.operation.name": "Upsert",
            "graphql.operation.type": "mutation",
        }
        assert dict(call.attributes or {}) == {
            "gateway.provider": "trackly",
            "http.request.method": "POST",
            "http.response.status_code": 200,
        }
    everything = str([dict(s.attributes or {}) for s in finished])
    assert "4155552671" not in everything and "jane" not in everything


async def test_tracing_is_off_by_default() -> None:
    provider, exporter = tracing()
    sandbox = Sandbox()
    async with serve(sandbox.config(), sandbox=sandbox, tracer_provider=provider) as client:
        await client.data(UPSERT, contact("+14155552671"))
    assert exporter.get_finished_spans() == ()


async def test_retries_are_counted_end_to_end_by_reason() -> None:
    answers = iter([503, 503, 200])

    def provider(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        body = {"success": True} if status == 200 else {"error": "busy"}
        return httpx.Response(status, json=body)

    transports = {ProviderName.TRACKLY: httpx.MockTransport(provider)}
    async with serve(trackly_config(), transports=transports) as client:
        data = await client.data(UPSERT, contact("+14155552671"))
        page = (await client.http.get("/metrics")).text
    assert data["upsertContact"]["__typename"] == "UpsertContactSuccess"
    assert (
        sample(page, "gateway_provider_retries_total", provider="trackly", reason="PROVIDER_ERROR")
        == 2
    )
    assert (
        sample(page, "gateway_provider_call_seconds_count", provider="trackly", result="503") == 2
    )
