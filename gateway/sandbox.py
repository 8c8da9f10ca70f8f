"""Sandbox mode: the gateway with built-in provider simulators, no config and no credentials.

Every registered provider brings its simulator and a sandbox account (its spec's `sandbox`).
Adapters reach the simulators in-process (httpx.ASGITransport); the simulators are also mounted
under /sandbox/<provider> so their fault-injection route can be used over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from starlette.types import ASGIApp

from gateway.config import Config, GatewaySettings
from providers.model import ProviderName
from providers.registry import REGISTRY
from providers.settings import ProviderSettings
from providers.simulator.transport import SimulatorTransport


class Sandbox:
    """One simulator per registered provider. `Sandbox(heymarket=HeymarketSimulator(...))` puts
    a simulator of the caller's own in place; `sandbox.heymarket` is that provider's simulator."""

    def __init__(self, **simulators: Any) -> None:
        known = {name.value for name in REGISTRY}
        unknown = set(simulators) - known
        if unknown:
            raise TypeError(f"no provider named {', '.join(sorted(unknown))}")
        self.simulators: dict[ProviderName, Any] = {
            name: simulators.get(name.value) or spec.sandbox.simulator()
            for name, spec in REGISTRY.items()
        }

    def __getattr__(self, name: str) -> Any:
        try:
            return self.simulators[ProviderName(name)]
        except ValueError:
            raise AttributeError(name) from None

    @property
    def apps(self) -> Mapping[ProviderName, ASGIApp]:
        return {name: simulator.app for name, simulator in self.simulators.items()}

    def transports(self) -> dict[ProviderName, httpx.AsyncBaseTransport]:
        return {name: SimulatorTransport(app=app) for name, app in self.apps.items()}

    def config(self, gateway: GatewaySettings | None = None) -> Config:
        providers: dict[ProviderName, ProviderSettings] = {
            name: spec.sandbox.settings(f"http://{name.value}.sandbox")
            for name, spec in REGISTRY.items()
        }
        return Config(gateway or GatewaySettings(), providers, sandbox=True)
