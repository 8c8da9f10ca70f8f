"""What ProviderHttp tells its observer about writes: each attempt whose outcome does not prove
the provider refused it (the gateway's idempotency keys keep an answer only after one), and what
a dry run does with a write instead of sending it."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from providers import dryrun
from providers.errors import ProviderError
from providers.http import ProviderHttp
from providers.model import ProviderName
from providers.resilience.breaker import LocalCircuitBreaker
from providers.resilience.guard import CallGuard, within_deadline
from providers.resilience.pacing import GcraPacer, Rate
from providers.resilience.retry import RetryPolicy
from providers.trackly import wire
from providers.trackly.errors import ERROR_TABLE, read_error

T = ProviderName.TRACKLY


class Writes:
    def __init__(self) -> None:
        self.reached = 0

    def retry_scheduled(self, provider: ProviderName, reason: str, wait: float) -> None:
        return None

    def pacing_waited(self, provider: ProviderName, seconds: float) -> None:
        return None

    def circuit_changed(self, provider: ProviderName, state: object) -> None:
        return None

    def write_reached(self, provider: ProviderName) -> None:
        self.reached += 1


def http_for(handler: httpx.MockTransport, guard: CallGuard) -> ProviderHttp:
    client = httpx.AsyncClient(base_url="https://trackly.test", transport=handler)
    return ProviderHttp(T, client, ERROR_TABLE, read_error, guard, wire.stand_in)


def answering(status: int) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json={"code": "x"}))


def failing(error: type[httpx.TransportError]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("transport", "reached"),
    [
        (answering(200), 1),
        (answering(400), 1),  # the provider decided: the same write gets the same answer
        (answering(500), 1),  # it may have acted before failing
        (failing(httpx.ReadTimeout), 1),  # sent; the answer was lost
        (failing(httpx.RemoteProtocolError), 1),  # dropped mid-request
        (answering(429), 0),  # refused whole, every attempt
        (answering(503), 0),
        (failing(httpx.ConnectError), 0),  # never left
    ],
    ids=["200", "400", "500", "timeout", "dropped", "429", "503", "refused-connection"],
)
async def test_a_write_is_reported_unless_its_outcome_proves_it_was_refused(
    transport: httpx.MockTransport, reached: int
) -> None:
    observer = Writes()
    guard = CallGuard(T, policy=RetryPolicy(attempts=2), observer=observer)
    http = http_for(transport, guard)
    with contextlib.suppress(ProviderError):
        await http.call("POST", "/v2/contacts", json_body={}, idempotent=False, write=True)
    assert observer.reached == reached


async def test_a_read_is_never_reported_as_a_write() -> None:
    observer = Writes()
    http = http_for(answering(200), CallGuard(T, observer=observer))
    await http.call("GET", "/v2/contacts/x")
    assert observer.reached == 0


async def test_writes_refused_by_pacing_or_an_open_circuit_are_not_reported() -> None:
    observer = Writes()
    breaker = LocalCircuitBreaker(threshold=1, reset_seconds=60)
    breaker.record_failure()
    guard = CallGuard(T, breaker=breaker, observer=observer)
    with pytest.raises(ProviderError):
        await http_for(answering(200), guard).call("POST", "/v2/contacts", json_body={}, write=True)
    paced = CallGuard(T, pacer=GcraPacer(Rate(1, 60.0)), observer=observer)
    http = http_for(answering(200), paced)
    await http.call("GET", "/v2/lists")  # spends the budget
    with pytest.raises(ProviderError) as refused:
        await write_within_a_second(http)
    assert refused.value.failure.origin.value == "PACING"
    assert observer.reached == 0


async def write_within_a_second(http: ProviderHttp) -> None:
    await within_deadline(
        1.0, T, lambda: http.call("POST", "/v2/contacts", json_body={}, write=True)
    )


async def test_a_dry_run_records_the_write_answers_it_with_the_stand_in_and_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(answer)
    observer = Writes()
    http = http_for(transport, CallGuard(T, observer=observer))
    with dryrun.recording() as run:
        reply = await http.call(
            "PUT",
            "/v2/contacts",
            json_body={"phone_number": "+1", "custom_fields": {"é": 1}},
            params={"a": "b c"},
            headers={"X-Api-Key": "secret"},
            write=True,
        )
        await http.call("GET", "/v2/lists")
    assert reply.body == {"success": True}
    assert [r.url.path for r in sent] == ["/v2/lists"]  # the read went out, the write did not
    (write,) = run.writes
    assert (write.method, write.path) == ("PUT", "/v2/contacts?a=b+c")
    assert write.content == '{"phone_number":"+1","custom_fields":{"é":1}}'.encode()
    assert run.reads == [("Trackly", "GET /v2/lists")]
    assert observer.reached == 0
    assert dryrun.current() is None  # the run ends with its block


async def test_a_dry_runs_reads_are_paced_and_its_writes_take_no_slot() -> None:
    paced = CallGuard(T, pacer=GcraPacer(Rate(1, 60.0)))
    http = http_for(answering(200), paced)
    with dryrun.recording() as run:
        for _ in range(3):  # writes: recorded, no slot of the one-a-minute budget spent
            await within_deadline(
                1.0, T, lambda: http.call("POST", "/v2/contacts", json_body={}, write=True)
            )
        await within_deadline(1.0, T, lambda: http.call("GET", "/v2/lists"))  # the one slot
        with pytest.raises(ProviderError) as refused:  # a second read waits for the budget
            await within_deadline(1.0, T, lambda: http.call("GET", "/v2/lists"))
    assert refused.value.failure.origin.value == "PACING"
    assert len(run.writes) == 3
