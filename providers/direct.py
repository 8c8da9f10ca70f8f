"""One provider request handed straight to the pooled client's transport.

`AsyncClient.request` costs a provider call more CPU than everything else around it: it
re-parses the base URL and merges the default headers on every call, runs the auth and
redirect generators, parses cookies out of every answer and reads the body through several
layers of async iterators. The gateway's clients (make_client) use none of that machinery, so
for a client configured like them `DirectSender` does what `AsyncClient.send` would do, in fewer
steps: the merged URL and headers are kept per path and per header set, the request goes to the
same transport the client would pick (mounts, respx's mocker and the test fakes included), with
the same headers in the same order, timeouts, cookies (should a provider ever set one) and
`httpx` log line. Any other client (auth, hooks, redirects, default params) goes through
`AsyncClient.request` unchanged.

Why it is kept: without it a provider call costs the gateway about 100 us more CPU in-process
(upsert 151 -> 255 us, `python -m bench.profile upsert --count 2000 --rounds 5 --no-profile`)
and twice the CPU per request under load (357 -> 688 us at 16 clients, `python -m bench.spy`).

What it relies on in httpx (checked with httpx 0.29.0 and httpx-aiohttp 0.2.0; tests/
test_direct.py compares it with AsyncClient.request on generated requests and answers):
- `AsyncClient._transport_for_url` (PRIVATE): the transport `AsyncClient.send` would pick.
- `AsyncClient._merge_url` (PRIVATE), re-implemented by `_merge_url` below: relative paths are
  appended to the base URL's path.
- httpx's own log line, 'HTTP Request: %s %s "%s %d %s"' on the "httpx" logger (its format
  is not an API; gateway/ops/logs.py masks the URLs it shows).
- Where httpx.Request puts Host and Content-Length among the headers (`_request` builds them in
  the same places to skip httpx's own work out), and `Response.content` raising
  ResponseNotRead for a body not read yet.
- Public attributes and classes: `AsyncClient.auth`, `follow_redirects`, `params`,
  `event_hooks`, `cookies`, `timeout`, `headers`, `base_url`, `is_closed`; `httpx.Request`,
  `Response`, `ByteStream`, `Headers`, `URL.copy_with`, `Cookies.extract_cookies`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

__all__ = ["DirectSender"]

# httpx's own per-request INFO line, which the logs' masking handler expects to see.
_HTTPX_LOG = logging.getLogger("httpx")
# Paths can carry a contact's id; a full cache starts over rather than grow without bound.
_MAX_CACHED = 256
# httpx.Request gives these an empty body's `Content-Length: 0`, right after Host.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Headers httpx.Request would otherwise work out itself (see _request).
_AUTOMATIC = ("host", "content-length", "transfer-encoding")

Raw = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    host: tuple[bytes, bytes]


@dataclass(frozen=True, slots=True)
class _Headers:
    merged: Raw  # the client's defaults updated with the call's, as AsyncClient merges them
    automatic: bool  # none of _AUTOMATIC among them: the request's own can be put in place


class DirectSender:
    """Sends through `client`, whose default headers are read once per distinct header set."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._targets: dict[str, _Target] = {}
        self._headers: dict[tuple[tuple[str, str], ...], _Headers] = {}

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
        request = self._request(method, self._target(path), content, params, headers)
        # The private lookup is the one AsyncClient.send makes: it honours mounts and respx.
        transport = client._transport_for_url(request.url)
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            body = await _read(response)
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

    def _request(
        self,
        method: str,
        target: _Target,
        content: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> httpx.Request:
        found = self._merged(headers)
        extensions = {"timeout": self.client.timeout.as_dict()}
        cookies = self.client.cookies
        if not found.automatic or cookies:
            return httpx.Request(
                method,
                target.url,
                params=params,
                headers=found.merged,
                cookies=cookies or None,
                content=content,
                extensions=extensions,
            )
        # The headers httpx.Request(content=...) would add, where it would add them; giving the
        # body as a stream spares it working them out again (and copying the headers twice).
        body = content or b""
        method = method.upper()
        if body:
            raw = [target.host, *found.merged, (b"Content-Length", str(len(body)).encode())]
        elif method in _BODY_METHODS:
            raw = [target.host, (b"Content-Length", b"0"), *found.merged]
        else:
            raw = [target.host, *found.merged]
        request = httpx.Request(
            method,
            target.url,
            params=params,
            headers=raw,
            stream=httpx.ByteStream(body),
            extensions=extensions,
        )
        request.read()  # as Request(content=...) does: transports and fakes read .content
        return request

    def _target(self, path: str) -> _Target:
        target = self._targets.get(path)
        if target is None:
            if len(self._targets) >= _MAX_CACHED:
                self._targets.clear()
            url = _merge_url(self.client.base_url, path)
            target = self._targets[path] = _Target(url, (b"Host", url.netloc))
        return target

    def _merged(self, headers: Mapping[str, str]) -> _Headers:
        key = tuple(headers.items())
        found = self._headers.get(key)
        if found is None:
            if len(self._headers) >= _MAX_CACHED:
                self._headers.clear()
            merged = httpx.Headers(self.client.headers)
            merged.update(headers)
            automatic = not any(name in merged for name in _AUTOMATIC)
            found = self._headers[key] = _Headers(merged.raw, automatic)
        return found


async def _read(response: httpx.Response) -> bytes:
    """The answer's body, decoded by its Content-Encoding, as Response.aread() gives it."""
    try:
        return response.content  # a fake's answer arrives already read
    except httpx.ResponseNotRead:
        pass
    stream = response.stream
    if isinstance(stream, httpx.ByteStream) and "content-encoding" not in response.headers:
        # Already in memory (ProviderTransport reads it whole) and nothing to decode: the
        # bytes as they are, without aread()'s decoder and chunker layers; no resource to free.
        return b"".join(stream)
    return await response.aread()


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
