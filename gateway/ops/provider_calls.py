"""A layer under each provider's httpx client: request id out, latency and a span per attempt.

It wraps the transport (providers.http.make_client's `wrap`), so it sees every attempt the
retry layer makes, failed ones too, and never changes what the adapter gets back.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext

import httpx
from opentelemetry import trace

from gateway.ops.metrics import GatewayMetrics
from gateway.ops.request_context import current_request
from providers.model import ProviderName

REQUEST_ID_HEADER = "X-Request-Id"
# With tracing off there is no span to make: a no-op one still costs its set-up.
_NO_SPAN: AbstractContextManager[None] = nullcontext()


class ObservedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        provider: ProviderName,
        metrics: GatewayMetrics,
        tracer: trace.Tracer,
    ) -> None:
        self.inner = inner
        self.provider = provider
        self.metrics = metrics
        self.tracer = tracer
        self._traced = not isinstance(tracer, trace.NoOpTracer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        record = current_request()
        if record is not None:
            record.provider_calls += 1
            request.headers[REQUEST_ID_HEADER] = record.request_id
        with self._span(request) as span:
            started = time.perf_counter()
            try:
                response = await self.inner.handle_async_request(request)
            except Exception as exc:
                self._observe(type(exc).__name__, started)
                if span is not None:
                    span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
                raise
            self._observe(str(response.status_code), started)
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 500:
                    status = trace.Status(trace.StatusCode.ERROR, str(response.status_code))
                    span.set_status(status)
            return response

    def _span(self, request: httpx.Request) -> AbstractContextManager[trace.Span | None]:
        if not self._traced:
            return _NO_SPAN
        attributes = {
            "gateway.provider": self.provider.value,
            "http.request.method": request.method,
        }
        return self.tracer.start_as_current_span(
            "provider.call", kind=trace.SpanKind.CLIENT, attributes=attributes
        )

    def _observe(self, result: str, started: float) -> None:
        self.metrics.provider_called(self.provider.value, result, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self.inner.aclose()
