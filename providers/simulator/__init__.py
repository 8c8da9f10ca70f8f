"""In-memory simulators of the providers' APIs, for `make run` without credentials and for tests.

They follow the provider notes (auth, semantics, error bodies, limits) and never import the
adapters. Each wraps its app in a FaultInjector so failures can be injected on demand.
"""

from providers.simulator.base import Endpoint, RateWindow, Refusal, Simulator
from providers.simulator.faults import Fault, FaultInjector

__all__ = ["Endpoint", "Fault", "FaultInjector", "RateWindow", "Refusal", "Simulator"]
