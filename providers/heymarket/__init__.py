"""Heymarket: SMS conversations; contacts by phone, custom fields and tags by numeric id."""

from pydantic import SecretStr

from providers.base import ProviderSpec, SandboxSpec
from providers.heymarket.adapter import HeymarketAdapter
from providers.heymarket.sandbox import SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY, HeymarketSimulator
from providers.heymarket.settings import HeymarketSettings


def _sandbox_account(url: str) -> HeymarketSettings:
    return HeymarketSettings(
        base_url=url,
        secret_id=SecretStr(SANDBOX_SECRET_ID),
        secret_key=SecretStr(SANDBOX_SECRET_KEY),
    )


SPEC = ProviderSpec.of(
    HeymarketAdapter,
    HeymarketSettings,
    docs_url="https://developers.heymarket.com",
    sandbox=SandboxSpec(HeymarketSimulator, _sandbox_account),
)

__all__ = ["SPEC", "HeymarketAdapter", "HeymarketSettings"]
