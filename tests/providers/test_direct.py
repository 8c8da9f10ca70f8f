"""DirectSender: what goes out and comes back is what AsyncClient.request would send and give.

Hand-picked cases first, then a differential property test: generated client settings,
requests and answers (status, body, gzip, cookies, how the transport hands the body over) go
through AsyncClient.request and through DirectSender, and everything the transport sees and the
caller gets back must be the same.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import string
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.direct import DirectSender

BASE = "https://provider.test/api"


def recording(
    seen: list[httpx.Request], answer: httpx.Response | None = None
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer or httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handler)


def client(transport: httpx.AsyncBaseTransport, **options: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=BASE,
        transport=transport,
        headers={"User-Agent": "contact-gateway/0.1"},
        timeout=httpx.Timeout(connect=1, read=2, write=3, pool=4),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("method", "path", "content", "params", "headers"),
    [
        ("POST", "/v2/contacts", b'{"a":1}', None, {"Content-Type": "application/json"}),
        ("GET", "/v2/contacts/%2B14155550100", None, None, {"X-Api-Key": "k"}),
        ("GET", "v1/tags", None, {"page": "2", "limit": "100"}, {"Authorization": "Bearer t"}),
        ("PUT", "/v2/contacts", b"{}", None, {"User-Agent": "override", "Accept": "x/y"}),
        ("POST", "https://elsewhere.test/x", b"", None, {}),
        ("patch", "/x", None, None, {"Host": "virtual.test"}),
        ("delete", "/x", None, None, {}),
        ("POST", "/x", b"abc", None, {"Content-Length": "3"}),
    ],
)
async def test_the_request_is_the_one_the_client_would_build(
    method: str,
    path: str,
    content: bytes | None,
    params: dict[str, str] | None,
    headers: dict[str, str],
) -> None:
    seen: list[httpx.Request] = []
    async with client(recording(seen)) as http:
        await http.request(method, path, content=content, params=params, headers=headers)
        sender = DirectSender(http)
        for _ in range(2):  # the second one from the caches
            response, body = await sender.send(method, path, content, params, headers)
            assert (response.status_code, body) == (200, b'{"ok":true}')
            assert response.request is seen[-1]
    expected = seen[0]
    for request in seen[1:]:
        assert (request.method, request.url) == (expected.method, expected.url)
        assert request.headers.raw == expected.headers.raw
        assert request.content == expected.content
        assert request.extensions == expected.extensions


async def test_a_client_with_hooks_of_its_own_is_sent_through_as_it_is() -> None:
    hooked: list[str] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(request.url.path)

    seen: list[httpx.Request] = []
    async with client(recording(seen), event_hooks={"request": [hook]}) as http:
        response, body = await DirectSender(http).send("GET", "/x", None, None, {})
    assert hooked == ["/api/x"] and body == b'{"ok":true}' and response.status_code == 200


async def test_a_cookie_the_provider_sets_goes_back_with_the_next_request() -> None:
    seen: list[httpx.Request] = []
    answer = httpx.Response(200, json={}, headers={"Set-Cookie": "lb=node-2; Path=/"})
    async with client(recording(seen, answer)) as http:
        sender = DirectSender(http)
        await sender.send("GET", "/a", None, None, {})
        await sender.send("GET", "/b", None, None, {})
    assert "cookie" not in seen[0].headers
    assert seen[1].headers["cookie"] == "lb=node-2"


async def test_each_request_gets_httpx_s_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async with client(recording([])) as http:
        with caplog.at_level(logging.INFO, logger="httpx"):
            await DirectSender(http).send("POST", "/v2/contacts", b"{}", None, {})
    assert [r.getMessage() for r in caplog.records if r.name == "httpx"] == [
        f'HTTP Request: POST {BASE}/v2/contacts "HTTP/1.1 200 OK"'
    ]


async def test_a_closed_client_refuses_as_httpx_does() -> None:
    http = client(recording([]))
    await http.aclose()
    with pytest.raises(RuntimeError, match="client has been closed"):
        await DirectSender(http).send("GET", "/x", None, None, {})


class Streamed(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], fail: bool = False) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail:
            raise httpx.ReadError("dropped")

    async def aclose(self) -> None:
        self.closed = True


class StreamingTransport(httpx.AsyncBaseTransport):
    def __init__(self, stream: Streamed, headers: dict[str, str] | None = None) -> None:
        self.stream = stream
        self.headers = headers or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=self.headers, stream=self.stream)


async def test_a_streamed_answer_is_read_whole_and_its_connection_released() -> None:
    stream = Streamed([b'{"a":', b"1}"])
    async with client(StreamingTransport(stream)) as http:
        _, body = await DirectSender(http).send("GET", "/x", None, None, {})
    assert body == b'{"a":1}' and stream.closed


async def test_a_compressed_answer_is_decoded() -> None:
    stream = Streamed([gzip.compress(b'{"a":1}')])
    transport = StreamingTransport(stream, {"Content-Encoding": "gzip"})
    async with client(transport) as http:
        _, body = await DirectSender(http).send("GET", "/x", None, None, {})
    assert body == b'{"a":1}'


async def test_a_body_cut_short_raises_httpx_s_error_and_releases_the_connection() -> None:
    stream = Streamed([b'{"a":'], fail=True)
    async with client(StreamingTransport(stream)) as http:
        with pytest.raises(httpx.ReadError):
            await DirectSender(http).send("GET", "/x", None, None, {})
    assert stream.closed


async def test_many_distinct_paths_stay_correct_past_the_cache_bound() -> None:
    seen: list[httpx.Request] = []
    async with client(recording(seen)) as http:
        sender = DirectSender(http)
        for i in range(600):
            await sender.send("GET", f"/c/{i}", None, None, {"X-N": str(i % 300)})
    assert [str(r.url) for r in seen[-2:]] == [f"{BASE}/c/598", f"{BASE}/c/599"]
    assert seen[-1].headers["x-n"] == "299"


class InMemoryTransport(httpx.AsyncBaseTransport):
    """Answers as ProviderTransport does: the body already in memory, not yet read."""

    def __init__(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.body = body
        self.headers = headers or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(self.body)
        return httpx.Response(200, headers=self.headers, stream=stream, request=request)


@pytest.mark.parametrize("encoding", [None, "gzip", "identity"])
async def test_a_body_in_memory_comes_back_as_aread_would_give_it(encoding: str | None) -> None:
    raw = b'{"a":1}'
    body = gzip.compress(raw) if encoding == "gzip" else raw
    headers = {"Content-Encoding": encoding} if encoding else {}
    async with client(InMemoryTransport(body, headers)) as http:
        _, got = await DirectSender(http).send("GET", "/x", None, None, {})
        expected = await http.get("/x")
    assert got == raw == expected.content


# -- the same, on generated requests and answers ----------------------------------------------

TOKEN = st.text(alphabet=string.ascii_letters + string.digits + " -_/.;=:,", max_size=16)
HEADER_NAMES = ["Content-Type", "Accept", "Authorization", "X-Api-Key", "User-Agent", "X-N"]
REQUESTS = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "post", "get"]),
        "path": st.one_of(
            st.sampled_from(["/v2/contacts", "v1/tags", "/c/%2B14155550100", "", "/", "/a?b=1"]),
            st.sampled_from(["https://elsewhere.test/x", "http://provider.test/api/y"]),
            st.from_regex(r"/?[a-z0-9%._~-]{0,8}(/[a-z0-9%._~-]{1,8}){0,2}", fullmatch=True),
        ),
        "content": st.none() | st.binary(max_size=40),
        "params": st.none() | st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), TOKEN),
        "headers": st.dictionaries(st.sampled_from(HEADER_NAMES), TOKEN, max_size=3),
        "length": st.booleans(),  # an explicit, correct Content-Length
        "host": st.booleans(),  # an explicit Host
    }
)
ANSWERS = st.fixed_dictionaries(
    {
        "status": st.sampled_from([200, 201, 204, 400, 404, 429, 500, 503]),
        "body": st.binary(max_size=60) | st.sampled_from([b'{"ok":true}', b"", b"[1,2]"]),
        "gzip": st.booleans(),
        "cookie": st.booleans(),
        "stream": st.sampled_from(["read", "memory", "chunks"]),  # how the transport answers
    }
)
CLIENTS = st.fixed_dictionaries(
    {
        "base_url": st.sampled_from([BASE, BASE + "/", "http://provider.test:8080", BASE + "/v1"]),
        "headers": st.sampled_from([{}, {"X-Default": "1"}, {"Accept": "application/json"}]),
    }
)


class Answering(httpx.AsyncBaseTransport):
    """Records each request and answers with `answer`, built anew each time."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.seen.append(request)
        answer = self.answer
        body = gzip.compress(answer["body"], mtime=0) if answer["gzip"] else answer["body"]
        headers = {"Content-Encoding": "gzip"} if answer["gzip"] else {}
        if answer["cookie"]:
            headers["Set-Cookie"] = "lb=node-2; Path=/"
        if answer["stream"] == "read":
            return httpx.Response(answer["status"], headers=headers, content=body)
        stream: httpx.AsyncByteStream = (
            httpx.ByteStream(body)
            if answer["stream"] == "memory"
            else Streamed([body[:5], body[5:]])
        )
        return httpx.Response(answer["status"], headers=headers, stream=stream)


async def _both(
    options: dict[str, Any], call: dict[str, Any], answer: dict[str, Any]
) -> tuple[list[Any], list[Any]]:
    """What the transport saw and what came back, through AsyncClient.request and DirectSender;
    each request is sent twice (the second from the sender's caches, with any cookie set)."""
    headers = dict(call["headers"])
    if call["length"]:
        headers["Content-Length"] = str(len(call["content"] or b""))
    if call["host"]:
        headers["Host"] = "virtual.test"
    outcomes: list[list[Any]] = []
    for direct in (False, True):
        transport = Answering(answer)
        seen: list[Any] = []
        async with httpx.AsyncClient(
            base_url=options["base_url"],
            transport=transport,
            headers={"User-Agent": "contact-gateway/0.1", **options["headers"]},
            timeout=httpx.Timeout(connect=1, read=2, write=3, pool=4),
        ) as http:
            sender = DirectSender(http)
            for _ in range(2):
                args = (call["method"], call["path"], call["content"], call["params"], headers)
                if direct:
                    response, body = await sender.send(*args)
                else:
                    method, path, content, params, sent = args
                    response = await http.request(
                        method, path, content=content, params=params, headers=sent
                    )
                    body = response.content
                request = transport.seen[-1]
                seen.append(
                    (
                        request.method,
                        str(request.url),
                        request.headers.raw,
                        request.content,
                        request.extensions,
                        response.request is request,
                        response.status_code,
                        response.headers.raw,
                        response.http_version,
                        response.reason_phrase,
                        body,
                    )
                )
        outcomes.append(seen)
    return outcomes[0], outcomes[1]


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(options=CLIENTS, call=REQUESTS, answer=ANSWERS)
def test_generated_requests_and_answers_are_the_ones_httpx_sends_and_gives(
    options: dict[str, Any], call: dict[str, Any], answer: dict[str, Any]
) -> None:
    library, direct = asyncio.run(_both(options, call, answer))
    assert direct == library
