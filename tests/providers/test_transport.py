"""The production transport (httpx API on aiohttp) against real loopback sockets.

Every other test injects a fake transport; these pin what only the real one does: the bytes
that go out, and what each way a connection can fail means for a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest
from pydantic import SecretStr

from providers.errors import ErrorCode, Origin, ProviderError
from providers.http import ProviderHttp, compact_json, make_client
from providers.model import ProviderName
from providers.resilience.guard import CallGuard
from providers.resilience.retry import RetryPolicy
from providers.trackly import TracklySettings
from providers.trackly.errors import ERROR_TABLE, read_error
from providers.transport import precise_error

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


@contextlib.asynccontextmanager
async def loopback(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def provider_http(url: str, **settings: float) -> ProviderHttp:
    config = TracklySettings(base_url=url, api_key=SecretStr("k"), **settings)
    guard = CallGuard(ProviderName.TRACKLY, policy=RetryPolicy(attempts=1))
    return ProviderHttp(ProviderName.TRACKLY, make_client(config), ERROR_TABLE, read_error, guard)


async def test_a_request_goes_out_with_its_headers_and_body_and_the_answer_comes_back() -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()
        writer.close()

    async with loopback(answer) as url:
        http = provider_http(url)
        async with http.client:
            reply = await http.call(
                "POST", "/v2/contacts", json_body={"a": 1}, headers={"X-Api-Key": "k"}
            )
    assert reply.status == 200 and reply.body == {"ok": True}
    head, body = seen[0]
    assert head.startswith(b"POST /v2/contacts HTTP/1.1")
    assert b"\r\nx-api-key: k\r\n" in head.lower()
    assert b"contact-gateway/" in head
    assert json.loads(body) == {"a": 1}


async def test_a_connection_dropped_after_the_request_is_not_taken_for_one_never_sent() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async with loopback(drop) as url:
        http = provider_http(url)
        async with http.client:
            with pytest.raises(ProviderError) as raised:
                await http.call("POST", "/v2/contacts", json_body={}, idempotent=False)
    assert raised.value.failure.code is ErrorCode.UNAVAILABLE
    assert raised.value.reached  # the provider may have acted: a create must not be re-sent


async def test_a_refused_connection_is_known_never_to_have_left() -> None:
    async with loopback(lambda r, w: asyncio.sleep(0)) as url:
        pass  # closed again: nothing listens on that port now
    http = provider_http(url)
    async with http.client:
        with pytest.raises(ProviderError) as raised:
            await http.call("POST", "/v2/contacts", json_body={})
    assert raised.value.failure.code is ErrorCode.UNAVAILABLE
    assert not raised.value.reached


async def test_a_provider_that_never_answers_is_a_timeout() -> None:
    never = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await never.wait()

    async with loopback(hang) as url:
        http = provider_http(url, read_timeout=0.05)
        async with http.client:
            with pytest.raises(ProviderError) as raised:
                await http.call("POST", "/v2/contacts", json_body={})
        never.set()
    assert raised.value.failure.code is ErrorCode.TIMEOUT


def replying(raw: bytes, heads: list[bytes]) -> Handler:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        heads.append(head)
        writer.write(raw)
        await writer.drain()
        writer.close()

    return reply


async def test_the_headers_go_out_in_lower_case_one_line_each() -> None:
    heads: list[bytes] = []
    async with loopback(replying(OK, heads)) as url:
        http = provider_http(url)
        async with http.client:
            await http.call("POST", "/v2/contacts", json_body={}, headers={"X-Api-Key": "k"})
    lines = heads[0].split(b"\r\n")[1:-2]
    assert all(line.split(b":")[0].islower() for line in lines), lines
    assert b"x-api-key: k" in lines and b"content-type: application/json" in lines
    assert len({line.split(b":")[0] for line in lines}) == len(lines)


async def test_a_compressed_answer_is_decoded() -> None:
    payload = gzip.compress(b'{"ok":true}')
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    raw += b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    async with loopback(replying(raw, [])) as url:
        http = provider_http(url)
        async with http.client:
            reply = await http.call("POST", "/v2/contacts", json_body={})
    assert reply.body == {"ok": True}


async def test_an_answer_cut_short_is_a_dropped_connection_that_may_have_acted() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    async with loopback(replying(raw, [])) as url:
        http = provider_http(url)
        async with http.client:
            with pytest.raises(ProviderError) as raised:
                await http.call("POST", "/v2/contacts", json_body={}, idempotent=False)
    assert raised.value.failure.code is ErrorCode.UNAVAILABLE
    failure = raised.value.failure
    assert (failure.origin, failure.provider_code) == (Origin.TRANSPORT, None)
    assert "(ReadError)" in failure.message and raised.value.reached


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (aiohttp.ServerDisconnectedError(), httpx.ReadError),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), httpx.ReadError),
        (aiohttp.ConnectionTimeoutError("pool"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ClientPayloadError("truncated"), httpx.ReadError),
        (aiohttp.InvalidURL("x"), httpx.UnsupportedProtocol),
        (aiohttp.ClientError("anything else"), httpx.TransportError),
    ],
)
def test_each_aiohttp_failure_becomes_the_httpx_error_that_says_what_happened(
    cause: Exception, expected: type[httpx.TransportError]
) -> None:
    request = httpx.Request("POST", "http://provider.test/")
    wrapped = httpx.ConnectTimeout("mapped coarsely")  # what httpx-aiohttp itself raises
    wrapped.__cause__ = cause
    assert type(precise_error(wrapped, request)) is expected
    assert type(precise_error(cause, request)) is expected


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, None, True, 0.1, -0.0, 1e300]},
        {"name": "Zoë ✓", "nested": {"x": '\n"q"\u2028'}},
        {"big": 2**70, "small": -(2**63)},  # past 64 bits: the standard library's turn
        [],
        "s",
    ],
)
def test_a_json_body_is_compact_utf8_json_of_exactly_the_value(value: object) -> None:
    encoded = compact_json(value)
    assert json.loads(encoded) == value
    assert encoded.decode("utf-8") == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
