"""The JWT minter and the name catalogues on their own, on controllable clocks."""

from __future__ import annotations

import jwt
import pytest

from providers.heymarket import HeymarketSettings
from providers.heymarket.auth import JwtMinter
from tests.support import FakeClock

KEY = "id-1||key-with-enough-bytes-for-hs256-000"


def test_one_token_is_shared_until_shortly_before_its_five_minutes_are_up() -> None:
    clock = FakeClock(start=1_700_000_000.0)
    minter = JwtMinter("id-1", "key-with-enough-bytes-for-hs256-000", clock=clock, margin=60)
    first = minter.token()
    clock.now += 239
    assert minter.token() == first and minter.minted == 1
    clock.now += 1  # 240 s old: less than the 60 s margin left of its 300 s
    second = minter.token()
    assert second != first and minter.minted == 2
    claims = jwt.decode(second, KEY, algorithms=["HS256"], options={"verify_iat": False})
    assert claims == {"iss": "id-1", "iat": 1_700_000_240}


@pytest.mark.parametrize(
    "auth",
    [{}, {"secret_id": "only-the-id"}, {"secret_key": "only-the-key"}],
)
def test_settings_need_jwt_secrets_in_pairs_or_a_legacy_key(auth: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        HeymarketSettings(**auth)  # type: ignore[arg-type]


def test_settings_default_to_the_documented_budget() -> None:
    settings = HeymarketSettings(api_key="k")  # type: ignore[arg-type]
    assert settings.rate_limit == "500/minute"
    assert settings.base_url == "https://api.heymarket.com"
