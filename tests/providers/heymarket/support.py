"""Helpers for the Heymarket tests: configs for JWT and legacy auth, catalogue answers."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from gateway.config import Config, GatewaySettings
from gateway.sandbox import Sandbox
from providers.heymarket import HeymarketSettings
from providers.model import ProviderName

HEYMARKET_URL = "https://heymarket.test"
SECRET_ID = "hm_test_secret_id"
SECRET_KEY = "hm_test_secret_key_with_enough_bytes_0001"
LEGACY_KEY = "hm_legacy_key_0123456789abcdef0123"
FIELDS = {"fields": [{"id": 101, "name": "plan"}, {"id": 102, "title": "tier"}]}
TAGS = [{"id": 1, "tag": "vip"}, {"id": 2, "tag": "lead"}]


def heymarket_settings(*, legacy: bool = False, **extra: Any) -> HeymarketSettings:
    auth: dict[str, Any] = (
        {"api_key": SecretStr(LEGACY_KEY)}
        if legacy
        else {"secret_id": SecretStr(SECRET_ID), "secret_key": SecretStr(SECRET_KEY)}
    )
    return HeymarketSettings(base_url=HEYMARKET_URL, **auth, **extra)


def heymarket_config(*, legacy: bool = False, settings: Any = None, **gateway: Any) -> Config:
    provider = settings or heymarket_settings(legacy=legacy)
    return Config(GatewaySettings(**gateway), {ProviderName.HEYMARKET: provider})


def sandbox_config(
    sandbox: Sandbox, gateway: GatewaySettings | None = None, **settings: Any
) -> Config:
    """The sandbox's Heymarket account alone, with `settings` changed."""
    config = sandbox.config(gateway)
    heymarket = config.providers[ProviderName.HEYMARKET].model_copy(update=settings)
    return Config(config.gateway, {ProviderName.HEYMARKET: heymarket}, sandbox=True)


def upsert_vars(**contact: Any) -> dict[str, Any]:
    return {"provider": "HEYMARKET", "contact": {"phone": "(510) 555-3344", **contact}}


def existing(ident: int = 98765, **extra: Any) -> dict[str, Any]:
    """A contact as Heymarket's lookup returns it."""
    return {
        "id": ident,
        "uuid": "0b9c2f7e-4a53-4c3e-9a6f-1f2e3d4c5b6a",
        "phone": "15105553344",
        "first": "Ann",
        "last": "Lee",
        "email": "ann@example.com",
        "custom": {"101": "gold"},
        **extra,
    }
