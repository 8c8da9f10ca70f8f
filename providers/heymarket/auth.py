"""Heymarket credentials: a short-lived HS256 JWT (current scheme) or the legacy team API key.

A JWT carries `iss` = secret id and `iat` = now, signed with "<secret id>||<secret key>", and
expires five minutes after `iat`. One token is shared by every concurrent request and minted
again a margin before it expires, so no request ever carries a token about to lapse in transit.
Minting is synchronous (no await), so concurrent callers cannot race into minting twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

TOKEN_LIFETIME = 300.0  # seconds, fixed by Heymarket
REMINT_MARGIN = 60.0  # mint a new token once the current one has less than this left

WallClock = Callable[[], float]


class JwtMinter:
    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        *,
        clock: WallClock = time.time,
        margin: float = REMINT_MARGIN,
    ) -> None:
        self._secret_id = secret_id
        self._signing_key = f"{secret_id}||{secret_key}"
        self._clock = clock
        self._margin = margin
        self._token: str | None = None
        self._issued_at = 0
        self.minted = 0  # how many tokens this minter made; for tests and health

    def token(self) -> str:
        now = self._clock()
        if self._token is None or now >= self._issued_at + TOKEN_LIFETIME - self._margin:
            self._issued_at = int(now)
            self._token = jwt.encode(
                {"iss": self._secret_id, "iat": self._issued_at},
                self._signing_key,
                algorithm="HS256",
                headers={"typ": "JWT"},
            )
            self.minted += 1
        return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}


class LegacyKey:
    """The deprecated scheme: the team API key itself as the Bearer token."""

    def __init__(self, api_key: str) -> None:
        self._header = {"Authorization": f"Bearer {api_key}"}

    def headers(self) -> dict[str, str]:
        return dict(self._header)
