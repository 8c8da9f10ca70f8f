"""Every provider the gateway can route to. Adding a provider: one module with a SPEC, one line."""

from __future__ import annotations

from providers import campaignlark, heymarket, trackly
from providers.base import ProviderSpec
from providers.model import ProviderName

REGISTRY: dict[ProviderName, ProviderSpec] = {
    spec.name: spec for spec in (trackly.SPEC, heymarket.SPEC, campaignlark.SPEC)
}
