"""One provider request handed straight to the pooled client's transport.

`AsyncClient.request` costs a provider call more CPU than everything else around it: it
re-parses the base URL and merges the default headers on every call, runs the auth and
redirect generators, parses cookies out of every answer and reads the body through several
layers of async iterators. The gateway's clients (make_client) use none of that machinery, so
for a client configured like them `DirectSender` does what `AsyncClient.send` would do, in fewer
steps: the merged URL and headers are kept per path and per header set, the request goes to the
same transport the client would pick (mounts, respx's mocker and the test fakes included), with
the same timeouts, cookies (should a provider ever set one) and `httpx` log line. Any other
client (auth, hooks, redirects, default params) goes through `AsyncClient.request` unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

__all__ = ["DirectSender"]

# httpx's own per-request INFO line, which the logs' masking handler expects to see.
_HTTPX_LOG = logging.getLogger("httpx")
# Paths can carry a contact's id; a full cache starts over rather than grow without bound.
_MAX_CACHED = 256

HeadersKey = tuple[bytes, bool, tuple[tuple[str, str], ...]]
# httpx.Request gives these an empty body's Content-Length: 0 (ahead of Host).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class DirectSender:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._urls: dict[str, httpx.URL] = {}
        self._headers: dict[HeadersKey, list[tuple[bytes, bytes]]] = {}

    async def send(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[httpx.Response, bytes]:
        """The answer and its (decoded) body, read in full; httpx's exceptions as they come."""
        client = self.client
        if not _plain(client):
            response = await client.request(
                method, path, content=content, params=params, headers=headers
            )
            return response, response.content
        if client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        url = self._url(path)
        request = httpx.Request(
            method,
            url,
            params=params,
            headers=self._merged_headers(
                url, headers, host_first=bool(content) or method.upper() not in _BODY_METHODS
            ),
            cookies=client.cookies or None,
            content=content,
            extensions={"timeout": client.timeout.as_dict()},
        )
        # The private lookup is what AsyncClient.send does: it honours mounts and respx.
        transport = client._transport_for_url(request.url)
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            try:
                body = response.content  # a fake's answer arrives already read
            except httpx.ResponseNotRead:
                body = await response.aread()
        except BaseException:
            await response.aclose()
            raise
        if "set-cookie" in response.headers:
            client.cookies.extract_cookies(response)
        _HTTPX_LOG.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )
        return response, body

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _MAX_CACHED:
                self._urls.clear()
            url = self._urls[path] = _merge_url(self.client.base_url, path)
        return url

    def _merged_headers(
        self, url: httpx.URL, headers: Mapping[str, str], *, host_first: bool
    ) -> list[tuple[bytes, bytes]]:
        key = (url.netloc, host_first, tuple(headers.items()))
        merged = self._headers.get(key)
        if merged is None:
            if len(self._headers) >= _MAX_CACHED:
                self._headers.clear()
            # What AsyncClient._merge_headers gives, plus the Host header httpx.Request would
            # put first (unless it puts an empty body's Content-Length before it): given in
            # place, it costs the request nothing to add.
            combined = httpx.Headers(self.client.headers)
            combined.update(headers)
            host = [(b"Host", url.netloc)] if host_first and "Host" not in combined else []
            merged = self._headers[key] = host + combined.raw
        return merged


def _merge_url(base: httpx.URL, path: str) -> httpx.URL:
    """What AsyncClient._merge_url gives: a relative path appended to the base URL's path."""
    url = httpx.URL(path)
    if not url.is_relative_url:
        return url
    return base.copy_with(raw_path=base.raw_path + url.raw_path.lstrip(b"/"))


def _plain(client: httpx.AsyncClient) -> bool:
    """A client with nothing of its own to add to a request or do with an answer."""
    hooks = client.event_hooks
    return (
        client.auth is None
        and not client.follow_redirects
        and not client.params
        and not hooks["request"]
        and not hooks["response"]
    )
