"""Trackly SMS: contacts keyed by (phone, sending list), custom fields per list."""

from providers.base import ProviderSpec
from providers.model import ProviderName
from providers.trackly.adapter import TracklyAdapter
from providers.trackly.settings import TracklySettings

SPEC = ProviderSpec(
    name=ProviderName.TRACKLY,
    settings=TracklySettings,
    build=TracklyAdapter,  # type: ignore[arg-type]
    docs_url="https://docs.tracklysms.com",
)

__all__ = ["SPEC", "TracklyAdapter", "TracklySettings"]
