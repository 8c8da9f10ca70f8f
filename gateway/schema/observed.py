"""Counting what each mutation answered, for the request's log line and for /metrics.

A field extension on the three mutations only: per-field hooks on every field would run once
per item of a 10,000-contact bulk answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.types import Info

from gateway.ops.metrics import GatewayMetrics
from gateway.ops.request_context import MutationOutcome, current_request, note_operation
from providers.model import ProviderName

OK = "OK"
INTERNAL = "INTERNAL_ERROR"


class ObservedMutation(FieldExtension):
    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        given = str(getattr(kwargs.get("provider"), "name", ""))
        provider = ProviderName[given].value if given in ProviderName.__members__ else "unknown"
        try:
            result = await next_(source, info, **kwargs)
        except Exception:
            _record(info, provider, INTERNAL)
            raise
        code = getattr(result, "code", None)
        outcome = str(getattr(code, "value", code)) if code is not None else OK
        _record(info, provider, outcome)
        items = getattr(result, "errors", None)
        metrics = _metrics(info)
        if metrics is not None and isinstance(items, list) and hasattr(result, "success_count"):
            metrics.bulk_items.labels(provider, OK).inc(result.success_count)
            codes = Counter(str(item.error.code.value) for item in items)
            for failed, count in codes.items():
                metrics.bulk_items.labels(provider, failed).inc(count)
        return result


class OperationName(SchemaExtension):
    """Puts the GraphQL operation's name on the request's log line."""

    def on_operation(self) -> Iterator[None]:
        yield
        note_operation(self.execution_context.operation_name or "")


def _metrics(info: Info[Any, Any]) -> GatewayMetrics | None:
    context = info.context
    metrics = context.get("metrics") if isinstance(context, dict) else None
    return metrics if isinstance(metrics, GatewayMetrics) else None


def _record(info: Info[Any, Any], provider: str, outcome: str) -> None:
    mutation = info.field_name
    metrics = _metrics(info)
    if metrics is not None:
        metrics.requests.labels(mutation, provider, outcome).inc()
    record = current_request()
    if record is not None:
        record.outcomes.append(MutationOutcome(mutation, provider, outcome))
