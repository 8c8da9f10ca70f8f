"""The HTTP side of planned documents: which POSTs may skip strawberry's view, and the telemetry
the view's extensions would have recorded for them.

A request takes the fast path only when it is a plain JSON POST of a single operation whose
document already has a plan (gateway.schema.compiled.plan); every other request, and any request the
plan runner declines, goes to strawberry's view with its body untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from starlette.types import Scope

from gateway.input.unicode import ill_formed_part
from gateway.ops.request_context import note_operation
from gateway.schema.compiled.execute import PlanRunner
from gateway.schema.compiled.plan import PlanBook

_STREAMING = (b"multipart", b"event-stream")  # strawberry streams these: its view decides


class FastPath:
    def __init__(self, book: PlanBook, tracer: trace.Tracer) -> None:
        self.book = book
        self.runner = PlanRunner(book.schema)
        self.tracer = tracer
        self.tracing = not isinstance(tracer, trace.NoOpTracer)

    def wanted(self, scope: Scope) -> bool:
        """Cheap header checks first: is this a request the fast path could take at all?"""
        if scope["method"] != "POST" or not self.book:
            return False
        content_type = accept = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
        return b"application/json" in content_type.lower() and not any(
            kind in accept.lower() for kind in _STREAMING
        )

    async def answer(self, body: bytes, context: Mapping[str, Any]) -> bytes | None:
        """The response body, or None when strawberry's view must answer this request."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        query, variables = data.get("query"), data.get("variables")
        name, extensions = data.get("operationName"), data.get("extensions")
        if not isinstance(query, str) or not isinstance(name, (str, type(None))):
            return None
        if not isinstance(variables, (dict, type(None))) or not isinstance(
            extensions, (dict, type(None))
        ):
            return None
        if ill_formed_part(query, name, extensions) is not None:
            return None  # strawberry's view refuses it (gateway.http.graphql)
        plan = self.book.find(query, name)
        if plan is None:
            return None
        prepared = self.runner.prepare(plan, variables, context, extensions)
        if prepared is None:
            return None
        operation = name or plan.operation_name
        if operation:
            note_operation(operation)
        if self.tracing is False:  # no span objects at all: this runs for every request
            return await self.runner.execute(prepared)
        # What gateway.ops.tracing.OperationSpan records on strawberry's path.
        with self.tracer.start_as_current_span("graphql.operation") as span:
            answer = await self.runner.execute(prepared)
            if operation:
                span.set_attribute("graphql.operation.name", operation)
            span.set_attribute("graphql.operation.type", "mutation")
            if answer.startswith(b'{"data":null'):  # errors null the whole answer (execute.py)
                span.set_status(trace.Status(trace.StatusCode.ERROR, "GraphQL errors"))
        return answer
