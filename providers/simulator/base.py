"""What every simulator does around its provider's behaviour, written once: it records each
request, checks the credentials, spends the key's rate window, reads the JSON body, and
answers a refusal in the provider's own error format. Fault injection wraps the whole app.

A simulator subclasses `Simulator`, lists its routes, and fills in three hooks in its
provider's words: `authenticate` (which key is calling, or a refusal), `failure` (an error body
in the provider's format) and the messages for a body that is not JSON and a spent window.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from providers.simulator.faults import FaultInjector

Clock = Callable[[], float]
STATS_PATH = "/_sandbox/stats"  # sandbox plumbing, like faults: no credentials, no budget
Action = Callable[[Request, Any], Any]  # (the request, its JSON body or None) -> JSON answer


class Refusal(Exception):
    """An error answer: the HTTP status and the body in the provider's format."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Received:
    """A request exactly as it arrived: what a dry run's preview is compared with."""

    method: str
    target: str  # the path with its query string, as sent
    body: bytes


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    method: str
    action: Action
    status: int = 200  # of a success


class RateWindow:
    """At most `limit` requests in any `period` seconds, per key: the provider's documented
    budget, enforced strictly. A refused request does not spend it."""

    def __init__(self, limit: int, period: float, clock: Clock = time.monotonic) -> None:
        self.limit, self.period, self.clock = limit, period, clock
        self._granted: dict[str, deque[float]] = {}

    def spend(self, key: str) -> bool:
        window = self._granted.setdefault(key, deque())
        now = self.clock()
        while window and window[0] <= now - self.period:
            window.popleft()
        if len(window) >= self.limit:
            return False
        window.append(now)
        return True


class Simulator:
    """Plumbing for one provider's simulator; subclasses give the behaviour."""

    def __init__(self, endpoints: Sequence[Endpoint], window: RateWindow | None = None) -> None:
        self.window = window
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, refused too
        self.received: list[Received] = []  # the same requests with their query and body bytes
        self.rejected_429 = 0
        routes = [Route(e.path, self._endpoint(e), methods=[e.method]) for e in endpoints]
        routes.append(Route(STATS_PATH, self._stats, methods=["GET"]))
        self.faults = FaultInjector(Starlette(routes=routes))
        self.app = self.faults

    # -- the hooks, in the provider's words -------------------------------------------------------

    def authenticate(self, request: Request) -> str:
        """The calling key (the rate window's unit); raise Refusal when it may not call."""
        raise NotImplementedError

    def failure(self, status: int, message: str, code: str | None = None) -> Refusal:
        """An error answer in the provider's format."""
        raise NotImplementedError

    def not_json(self) -> Refusal:
        return self.failure(400, "Body is not valid JSON.")

    def rate_limited(self) -> Refusal:
        return self.failure(429, "Too many requests.")

    def headers(self) -> Mapping[str, str] | None:
        """Headers every answer carries (a request id, say)."""
        return None

    def check_body(self, raw: bytes) -> None:
        """Refuse a body before it is read (a size limit, say)."""

    # -- the plumbing ------------------------------------------------------------------------

    async def _stats(self, request: Request) -> JSONResponse:
        """What the simulator has seen: requests (refused ones too) and 429s it answered."""
        return JSONResponse({"requests": len(self.requests), "rejected_429": self.rejected_429})

    def _endpoint(self, endpoint: Endpoint) -> Callable[[Request], Any]:
        async def answer(request: Request) -> JSONResponse:
            self.requests.append((request.method, request.url.path))
            raw_path = request.scope.get("raw_path") or request.url.path.encode()
            query = request.scope.get("query_string", b"")
            target = (raw_path + (b"?" + query if query else b"")).decode("latin-1")
            self.received.append(Received(request.method, target, await request.body()))
            headers = self.headers()
            try:
                key = self.authenticate(request)
                if self.window is not None and not self.window.spend(key):
                    self.rejected_429 += 1
                    raise self.rate_limited()
                raw = await request.body()
                self.check_body(raw)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    raise self.not_json() from None
                result = endpoint.action(request, body)
            except Refusal as refusal:
                return JSONResponse(refusal.body, status_code=refusal.status, headers=headers)
            return JSONResponse(result, status_code=endpoint.status, headers=headers)

        return answer
