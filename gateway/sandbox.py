"""Sandbox mode: the gateway with built-in provider simulators, no config and no credentials.

Adapters reach the simulators in-process (httpx.ASGITransport); the simulators are also mounted
under /sandbox/<provider> so their fault-injection route can be used over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr
from starlette.types import ASGIApp

from gateway.config import Config, GatewaySettings
from providers.campaignlark import CampaignLarkSettings
from providers.campaignlark.sandbox import SANDBOX_API_KEY as CAMPAIGNLARK_KEY
from providers.campaignlark.sandbox import CampaignLarkSimulator
from providers.heymarket import HeymarketSettings
from providers.heymarket.sandbox import SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY, HeymarketSimulator
from providers.model import ProviderName
from providers.settings import ProviderSettings
from providers.simulator.transport import SimulatorTransport
from providers.trackly import TracklySettings
from providers.trackly.sandbox import SANDBOX_API_KEY as TRACKLY_KEY
from providers.trackly.sandbox import TracklySimulator

SANDBOX_LIST_NUMBER = "+18005551234"
SANDBOX_PHONE_MERGE_TAG = "phone_number"


@dataclass
class Sandbox:
    trackly: TracklySimulator = field(default_factory=TracklySimulator)
    heymarket: HeymarketSimulator = field(default_factory=HeymarketSimulator)
    campaignlark: CampaignLarkSimulator = field(default_factory=CampaignLarkSimulator)

    @property
    def apps(self) -> Mapping[ProviderName, ASGIApp]:
        return {
            ProviderName.TRACKLY: self.trackly.app,
            ProviderName.HEYMARKET: self.heymarket.app,
            ProviderName.CAMPAIGNLARK: self.campaignlark.app,
        }

    def transports(self) -> dict[ProviderName, httpx.AsyncBaseTransport]:
        return {name: SimulatorTransport(app=app) for name, app in self.apps.items()}

    def config(self, gateway: GatewaySettings | None = None) -> Config:
        providers: dict[ProviderName, ProviderSettings] = {
            ProviderName.TRACKLY: TracklySettings(
                base_url="http://trackly.sandbox",
                api_key=SecretStr(TRACKLY_KEY),
                default_list_number=SANDBOX_LIST_NUMBER,
            ),
            ProviderName.HEYMARKET: HeymarketSettings(
                base_url="http://heymarket.sandbox",
                secret_id=SecretStr(SANDBOX_SECRET_ID),
                secret_key=SecretStr(SANDBOX_SECRET_KEY),
            ),
            ProviderName.CAMPAIGNLARK: CampaignLarkSettings(
                base_url="http://campaignlark.sandbox",
                api_key=SecretStr(CAMPAIGNLARK_KEY),
                phone_merge_tag=SANDBOX_PHONE_MERGE_TAG,
            ),
        }
        return Config(gateway or GatewaySettings(), providers, sandbox=True)
