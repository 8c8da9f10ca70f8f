"""Heymarket: SMS conversations; contacts by phone, custom fields and tags by numeric id."""

from providers.base import ProviderSpec
from providers.heymarket.adapter import HeymarketAdapter
from providers.heymarket.settings import HeymarketSettings

SPEC = ProviderSpec.of(
    HeymarketAdapter, HeymarketSettings, docs_url="https://developers.heymarket.com"
)

__all__ = ["SPEC", "HeymarketAdapter", "HeymarketSettings"]
