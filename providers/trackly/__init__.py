"""Trackly SMS: contacts keyed by (phone, sending list), custom fields per list."""

from pydantic import SecretStr

from providers.base import ProviderSpec, SandboxSpec
from providers.trackly.adapter import TracklyAdapter
from providers.trackly.sandbox import SANDBOX_API_KEY, SANDBOX_LIST_NUMBER, TracklySimulator
from providers.trackly.settings import TracklySettings


def _sandbox_account(url: str) -> TracklySettings:
    return TracklySettings(
        base_url=url, api_key=SecretStr(SANDBOX_API_KEY), default_list_number=SANDBOX_LIST_NUMBER
    )


SPEC = ProviderSpec.of(
    TracklyAdapter,
    TracklySettings,
    docs_url="https://docs.tracklysms.com",
    sandbox=SandboxSpec(TracklySimulator, _sandbox_account),
)

__all__ = ["SPEC", "TracklyAdapter", "TracklySettings"]
