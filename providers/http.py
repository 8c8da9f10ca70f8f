"""What every adapter shares on the wire: one pooled client, and failures mapped at the boundary.

No httpx exception and no unreadable body escapes `ProviderHttp.call`: transport failures become
TIMEOUT / UNAVAILABLE, a non-2xx answer goes through the provider's ErrorTable, and a 2xx whose
body is not JSON is PROVIDER_ERROR.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import orjson

from providers import dryrun
from providers.direct import DirectSender
from providers.dryrun import ProviderRequest, StandIn, request_target
from providers.errors import ErrorCode, Failure, Origin, ProviderError
from providers.errortable import ErrorTable
from providers.model import ProviderName
from providers.resilience.guard import CallGuard, within_deadline
from providers.resilience.retry import ALWAYS_RETRIED
from providers.settings import ProviderSettings
from providers.transport import ProviderTransport

# body -> (the provider's code or message used as the table key, a human message)
ErrorReader = Callable[[Any], tuple[str | None, str | None]]

__all__ = [
    "ProviderHttp",
    "Reply",
    "compact_json",
    "make_client",
    "parse_retry_after",
    "within_deadline",
]

USER_AGENT = "contact-gateway/0.1"
_RAW_SNIPPET = 200
# json.dumps builds a new encoder for any non-default option: one, made once, encodes the same.
_COMPACT = json.JSONEncoder(separators=(",", ":"))
# Answers to a write that prove the provider did not act on it: it refused the request whole.
_REFUSED_UNDONE = ALWAYS_RETRIED


def compact_json(value: Any) -> bytes:
    """`value` as compact JSON in UTF-8 (text as it is, not \\u-escaped).

    orjson writes it in a fifth of the standard library's time; it refuses integers past 64
    bits (a custom field may hold one), which the standard library writes exactly.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _COMPACT.encode(value).encode()


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    request_id: str | None


TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]


def make_client(
    settings: ProviderSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    wrap: TransportWrapper | None = None,
) -> httpx.AsyncClient:
    """The account's pooled client; `transport` (a test's fake, a simulator) replaces the wire.
    `wrap` puts a layer (timing, tracing, request ids) around whichever transport is used, so it
    sees every attempt, failed ones included."""
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )
    transport = transport or ProviderTransport(limits=limits)
    if wrap is not None:
        transport = wrap(transport)
    return httpx.AsyncClient(
        base_url=settings.base_url,
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.write_timeout,
            pool=settings.pool_timeout,
        ),
        transport=transport,
        headers={"User-Agent": USER_AGENT},
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ProviderHttp:
    def __init__(
        self,
        provider: ProviderName,
        client: httpx.AsyncClient,
        table: ErrorTable,
        read_error: ErrorReader,
        guard: CallGuard | None = None,
        stand_in: StandIn | None = None,
    ) -> None:
        """`stand_in` (the provider's wire.py) answers the writes a dry run does not send."""
        self.provider = provider
        self.client = client
        self.table = table
        self.read_error = read_error
        self.guard = guard or CallGuard(provider)
        self.stand_in = stand_in
        self._sender = DirectSender(client)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        write: bool = False,
    ) -> Reply:
        """Send one request; return a 2xx reply with a JSON body, else raise ProviderError.

        `idempotent=False` marks a request that must never be re-sent blindly (a create that
        may have happened although its answer was lost); the retry layer honours it.
        `write=True` marks a request that changes something at the provider (a create, an
        update, an upsert, a bulk): a dry run records it instead of sending it, and one that
        went out is reported to the guard's observer (the gateway's idempotency keys keep
        only answers to requests that may have written).
        """
        if json_body is not None:
            content = compact_json(json_body)
        run = dryrun.current()
        if run is not None:
            if write:
                return self._stand_in(run, method, path, json_body, content, params)
            run.reads.append((self.provider.label, f"{method} {path}"))
        all_headers = {"Content-Type": "application/json"} if content is not None else {}
        all_headers.update(headers or {})

        send = partial(self._send_once, method, path, content, params, all_headers, write)
        return await self.guard.run(send, idempotent=idempotent)

    def _stand_in(
        self,
        run: dryrun.DryRun,
        method: str,
        path: str,
        json_body: Any,
        content: bytes | None,
        params: Mapping[str, str] | None,
    ) -> Reply:
        """A dry run's write: recorded with the very bytes a real call sends, answered by the
        provider's stand-in; no pacing slot, no breaker, nothing on the wire."""
        if self.stand_in is None:
            raise RuntimeError(f"{self.provider.label} has no stand-in answers for dry runs")
        run.writes.append(ProviderRequest(method, request_target(path, params), content))
        sent = json_body if json_body is not None or content is None else json.loads(content)
        status, body = self.stand_in(method, path, sent)
        return Reply(status, body, None)

    async def _send_once(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        write: bool,
    ) -> Reply:
        """One attempt. A write is reported to the observer unless its outcome proves the
        provider did not act on it: no connection, or a 429 or 503 (refused whole)."""
        try:
            response, raw = await self._sender.send(method, path, content, params, headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left: safe to send again, whatever it was.
            raise self._transport_failure(
                ErrorCode.UNAVAILABLE, "could not be reached", exc, reached=False
            ) from exc
        except httpx.TimeoutException as exc:
            self._wrote(write)
            raise self._transport_failure(ErrorCode.TIMEOUT, "did not answer in time", exc) from exc
        except httpx.HTTPError as exc:
            self._wrote(write)
            raise self._transport_failure(
                ErrorCode.UNAVAILABLE, "dropped the connection", exc
            ) from exc
        except BaseException:
            self._wrote(write)  # cancelled (the deadline) while the request may be out
            raise
        if write and response.status_code not in _REFUSED_UNDONE:
            self.guard.observer.write_reached(self.provider)
        request_id = response.headers.get("x-request-id")
        body = _json_or_none(raw)
        if 200 <= response.status_code < 300:
            if body is None:
                raise ProviderError(
                    Failure(
                        ErrorCode.PROVIDER_ERROR,
                        self._message("sent a response the gateway could not read", request_id),
                        provider=self.provider,
                        provider_code=_snippet(raw),  # what it said, if it was text
                        origin=Origin.TRANSPORT,
                    ),
                    status=response.status_code,
                )
            return Reply(response.status_code, body, request_id)
        raise ProviderError(
            self.failure(
                response.status_code,
                body,
                raw=raw,
                request_id=request_id,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            ),
            status=response.status_code,
        )

    def _wrote(self, write: bool) -> None:
        if write:
            self.guard.observer.write_reached(self.provider)

    def object_of(self, reply: Reply) -> dict[str, Any]:
        """The reply's JSON object; anything else is an answer the gateway cannot use."""
        if not isinstance(reply.body, dict):
            raise ProviderError(
                Failure(
                    ErrorCode.PROVIDER_ERROR,
                    self._message("answered with JSON that is not an object", reply.request_id),
                    provider=self.provider,
                    origin=Origin.TRANSPORT,
                )
            )
        return reply.body

    def failure(
        self,
        status: int,
        body: Any,
        *,
        raw: bytes = b"",
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> Failure:
        """Translate one error answer (or one bulk item's error) through the table."""
        key, text = self.read_error(body) if body is not None else (None, None)
        found = self.table.classify(status, key)
        detail = text or key or f"answered HTTP {status}"
        return Failure(
            code=found.code,
            message=self._message(detail, request_id),
            provider=self.provider,
            provider_code=key or text or _snippet(raw),
            field=found.field,
            retry_after=retry_after,
            origin=Origin.PROVIDER,
        )

    def _message(self, detail: str, request_id: str | None) -> str:
        suffix = f" (provider request id {request_id})" if request_id else ""
        return f"{self.provider.label}: {detail}{suffix}"

    def _transport_failure(
        self, code: ErrorCode, what: str, exc: Exception, *, reached: bool = True
    ) -> ProviderError:
        return ProviderError(
            Failure(
                code,
                f"{self.provider.label} {what} ({type(exc).__name__})",
                provider=self.provider,
                origin=Origin.TRANSPORT,
            ),
            reached=reached,
        )


def as_int(value: Any) -> int:
    """A count from a provider body: 0 unless it really is an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def as_strings(value: Any) -> list[str]:
    return [w for w in value if isinstance(w, str)] if isinstance(value, list) else []


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _snippet(raw: bytes) -> str | None:
    text = raw[:_RAW_SNIPPET].decode("utf-8", "replace").strip()
    return text or None
