"""Trackly SMS: contacts keyed by (phone, sending list), custom fields per list."""

from providers.base import ProviderSpec
from providers.trackly.adapter import TracklyAdapter
from providers.trackly.settings import TracklySettings

SPEC = ProviderSpec.of(TracklyAdapter, TracklySettings, docs_url="https://docs.tracklysms.com")

__all__ = ["SPEC", "TracklyAdapter", "TracklySettings"]
