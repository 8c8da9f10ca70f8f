"""The transport under every production provider client: httpx's API on aiohttp's connections.

httpx's own connection pool loses most of its throughput once many requests are in flight
(httpx issue 3215); the httpx-aiohttp transport keeps the httpx API the adapters, ProviderHttp
and the tests' MockTransport/respx injection rely on, and lets aiohttp move the bytes.

Its error mapping is coarse: a connection the provider dropped mid-request comes out as
httpx.ConnectTimeout, which would tell the retry layer that a create never left. This subclass
maps each aiohttp failure by what happened to the request instead.
"""

from __future__ import annotations

import functools

import aiohttp
import httpx
from aiohttp import BasicAuth, ClientSession, ClientTimeout
from httpx_aiohttp import AiohttpTransport
from multidict import CIMultiDict

__all__ = ["ProviderTransport", "precise_error"]

# Most specific first: aiohttp's connector and timeout errors subclass its connection errors.
_BY_CAUSE: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS: never sent
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # no connection in time: never sent
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.ReadError),  # disconnected or reset: may have acted
)


def precise_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error that says what an aiohttp failure means for the request."""
    cause = exc.__cause__ if isinstance(exc, httpx.HTTPError) and exc.__cause__ else exc
    for aiohttp_type, httpx_type in _BY_CAUSE:
        if isinstance(cause, aiohttp_type):
            return httpx_type(str(cause) or type(cause).__name__, request=request)
    if isinstance(exc, httpx.TransportError) and not isinstance(cause, aiohttp.ClientError):
        return exc
    # An aiohttp failure we cannot place: assume the request may have reached the provider.
    return httpx.TransportError(str(exc) or type(exc).__name__, request=request)


class ProviderTransport(AiohttpTransport):
    """AiohttpTransport's exchange, with each failure mapped by what it means for the request,
    and the answer read whole here, as the benchmark's raw aiohttp floor reads it.

    Every caller (ProviderHttp) reads each answer whole anyway; one `read()` costs aiohttp less
    than feeding the body through httpx's stream layers, and the headers go to aiohttp ready
    for it, where httpx.Headers would be converted (twice) header by header.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._exchange(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise precise_error(exc, request) from exc

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        # The same request AiohttpTransport.handle_async_request makes (httpx-aiohttp 0.2).
        if not isinstance(self.client, ClientSession):
            self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # type: ignore[assignment]
            request.headers.pop("transfer-encoding", None)  # handled by aiohttp
        proxy = self.proxy
        async with self.client.request(
            method=request.method,
            url=str(request.url),
            headers=aiohttp_headers(request.headers),
            data=data,
            allow_redirects=False,
            auto_decompress=False,  # httpx decodes, by the answer's Content-Encoding
            compress=False,
            timeout=_client_timeout(
                timeout.get("connect"), timeout.get("read"), timeout.get("pool")
            ),
            server_hostname=request.extensions.get("sni_hostname"),
            proxy=str(proxy.url) if proxy else None,
            proxy_auth=BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
            proxy_headers=proxy.headers if proxy else None,
        ) as answer:
            body = await answer.read()
        extensions = {"http_version": b"HTTP/1.1"}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode()
        return httpx.Response(
            status_code=answer.status,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions=extensions,
        )


def aiohttp_headers(headers: httpx.Headers) -> CIMultiDict[str]:
    """What aiohttp made of httpx.Headers: names in lower case, repeated ones joined by ", "."""
    encoding = headers.encoding
    fields: dict[str, str] = {}
    for key, value in headers.raw:
        name = key.lower().decode(encoding)
        text = value.decode(encoding)
        fields[name] = f"{fields[name]}, {text}" if name in fields else text
    return CIMultiDict(fields)


@functools.cache
def _client_timeout(connect: float | None, read: float | None, pool: float | None) -> ClientTimeout:
    return ClientTimeout(sock_connect=connect, sock_read=read, connect=pool)
