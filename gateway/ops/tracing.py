"""OpenTelemetry: off by default; when on, spans for each GraphQL operation and provider call.

Spans go to whatever TracerProvider the process has (set one up with the OpenTelemetry SDK,
or run under `opentelemetry-instrument`), or to the one handed to create_app. Attributes name
operations, providers, methods and statuses: never a phone, email, URL path or argument.
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry import trace
from strawberry.extensions import SchemaExtension

TRACER_NAME = "contact-gateway"


def make_tracer(enabled: bool, provider: trace.TracerProvider | None = None) -> trace.Tracer:
    if not enabled:
        return trace.NoOpTracer()
    return (provider or trace.get_tracer_provider()).get_tracer(TRACER_NAME)


class OperationSpan(SchemaExtension):
    """One span around a GraphQL operation: parsing, validation and execution inside it."""

    def __init__(self, tracer: trace.Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def on_operation(self) -> Iterator[None]:
        if isinstance(self.tracer, trace.NoOpTracer):  # tracing is off: no span to make
            yield
            return
        with self.tracer.start_as_current_span("graphql.operation") as span:
            yield
            context = self.execution_context
            if context.operation_name:
                span.set_attribute("graphql.operation.name", context.operation_name)
            try:
                kind = context.operation_type.value
            except Exception:  # the document did not parse: there is no operation type
                kind = None
            if kind:
                span.set_attribute("graphql.operation.type", kind)
            result = context.result
            errors = getattr(result, "errors", None) or context.pre_execution_errors
            if errors:
                span.set_status(trace.Status(trace.StatusCode.ERROR, "GraphQL errors"))
