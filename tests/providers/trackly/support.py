"""Helpers for the Trackly tests: a config with a fake base URL and key."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from gateway.config import Config, GatewaySettings
from providers.model import ProviderName
from providers.trackly import TracklySettings

TRACKLY_KEY = "trk_" + "a1b2" * 8
TRACKLY_URL = "https://trackly.test/api"
LIST_NUMBER = "+18005551234"


def trackly_config(**gateway: Any) -> Config:
    return Config(
        GatewaySettings(**gateway),
        {
            ProviderName.TRACKLY: TracklySettings(
                base_url=TRACKLY_URL,
                api_key=SecretStr(TRACKLY_KEY),
                default_list_number=LIST_NUMBER,
            )
        },
    )
