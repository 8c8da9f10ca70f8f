"""What is retried, how often and after how long: counted requests, virtual time (looptime)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import stamina

from providers.errors import ErrorCode, Failure, ProviderError
from providers.http import ProviderHttp, parse_retry_after, within_deadline
from providers.model import ProviderName
from providers.resilience import CallGuard, RetryPolicy
from providers.trackly.errors import ERROR_TABLE, read_error

T = ProviderName.TRACKLY
Step = int | type[Exception] | tuple[int, dict[str, str]]


def scripted(steps: list[Step]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """Answer each request with the next step; the last step repeats."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        step = steps[min(len(seen), len(steps) - 1)]
        seen.append(request)
        if isinstance(step, type):
            raise step("scripted failure")
        status, headers = step if isinstance(step, tuple) else (step, {})
        body = {"ok": True} if status < 300 else {"error": "no", "code": f"http_{status}"}
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(handler), seen


def http(transport: httpx.MockTransport) -> ProviderHttp:
    client = httpx.AsyncClient(transport=transport, base_url="https://p.test")
    return ProviderHttp(T, client, ERROR_TABLE, read_error, CallGuard(T, RetryPolicy(attempts=4)))


@pytest.mark.parametrize(
    ("steps", "idempotent", "requests", "outcome"),
    [
        ([429, 429, 200], True, 3, None),
        ([429], True, 4, "RATE_LIMITED"),
        ([429, 200], False, 2, None),  # refused, so even a create may go again
        ([503, 200], False, 2, None),
        ([502, 200], True, 2, None),
        ([504, 200], True, 2, None),
        ([502, 200], False, 1, "PROVIDER_ERROR"),  # the create may have happened
        ([504, 200], False, 1, "PROVIDER_ERROR"),
        ([500, 200], True, 1, "PROVIDER_ERROR"),
        ([400, 200], True, 1, "INVALID_REQUEST"),
        ([401, 200], True, 1, "UNAUTHORIZED"),
        ([httpx.ConnectError, 200], False, 2, None),  # never left: always safe
        ([httpx.ConnectTimeout, 200], False, 2, None),
        ([httpx.ReadTimeout, 200], True, 2, None),
        ([httpx.ReadTimeout, 200], False, 1, "TIMEOUT"),
        ([httpx.RemoteProtocolError, 200], True, 2, None),
        ([httpx.RemoteProtocolError, 200], False, 1, "UNAVAILABLE"),
        ([503], True, 4, "PROVIDER_ERROR"),
    ],
)
async def test_retry_decisions(
    steps: list[Step], idempotent: bool, requests: int, outcome: str | None
) -> None:
    transport, seen = scripted(steps)
    provider = http(transport)
    if outcome is None:
        reply = await provider.call("POST", "/x", json_body={}, idempotent=idempotent)
        assert reply.body == {"ok": True}
    else:
        with pytest.raises(ProviderError) as caught:
            await provider.call("POST", "/x", json_body={}, idempotent=idempotent)
        assert caught.value.failure.code.name == outcome
    assert len(seen) == requests


@pytest.fixture
def real_backoff() -> Iterator[None]:
    """Let stamina really sleep: under looptime those sleeps cost no real time."""
    stamina.set_testing(False)
    yield


@pytest.mark.looptime
async def test_retry_after_is_waited_exactly(real_backoff: None) -> None:
    transport, seen = scripted([(429, {"Retry-After": "3"}), 200])
    loop = asyncio.get_running_loop()
    start = loop.time()
    await http(transport).call("GET", "/x")
    assert len(seen) == 2
    assert loop.time() - start == pytest.approx(3.0, abs=0.01)


@pytest.mark.looptime
async def test_without_retry_after_the_backoff_grows_exponentially(real_backoff: None) -> None:
    transport, seen = scripted([503, 503, 503, 200])
    loop = asyncio.get_running_loop()
    start = loop.time()
    await http(transport).call("GET", "/x")
    elapsed = loop.time() - start
    assert len(seen) == 4
    # 0.2 + 0.4 + 0.8 seconds, each with up to 0.5 s of jitter
    assert 1.4 <= elapsed <= 1.4 + 3 * 0.5 + 0.01


@pytest.mark.looptime
async def test_a_retry_after_past_the_deadline_is_answered_at_once(real_backoff: None) -> None:
    transport, seen = scripted([(429, {"Retry-After": "120"})])
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(ProviderError) as caught:
        await within_deadline(30, T, lambda: http(transport).call("GET", "/x"))
    failure = caught.value.failure
    assert (failure.code, failure.retry_after, failure.is_retryable) == (
        ErrorCode.RATE_LIMITED,
        120.0,
        True,
    )
    assert len(seen) == 1 and loop.time() - start < 0.01


def test_the_predicate_returns_the_wait_the_provider_asked_for() -> None:
    hook = RetryPolicy().decide(idempotent=True, remaining=lambda: 10.0)
    asked = ProviderError(Failure(ErrorCode.RATE_LIMITED, "x", retry_after=7.0), status=429)
    assert hook(asked) == 7.0
    assert hook(ProviderError(Failure(ErrorCode.RATE_LIMITED, "x"), status=429)) is True
    assert hook(ValueError("not ours")) is False
    too_far = RetryPolicy().decide(idempotent=True, remaining=lambda: 5.0)
    assert too_far(asked) is False


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_in_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(90.0)
