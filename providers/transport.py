"""The transport under every production provider client: httpx's API on aiohttp's connections.

httpx's own connection pool loses most of its throughput once many requests are in flight
(httpx issue 3215); the httpx-aiohttp transport keeps the httpx API the adapters, ProviderHttp
and the tests' MockTransport/respx injection rely on, and lets aiohttp move the bytes.

Its error mapping is coarse: a connection the provider dropped mid-request comes out as
httpx.ConnectTimeout, which would tell the retry layer that a create never left. This subclass
maps each aiohttp failure by what happened to the request instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

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


class _PreciseStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise precise_error(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class ProviderTransport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise precise_error(exc, request) from exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _PreciseStream(response.stream, request)
        return response
