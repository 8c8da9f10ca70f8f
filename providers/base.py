"""The adapter contract: what the gateway may ask of any provider, and how one is registered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from providers.cache import MemoryCache, SharedCache
from providers.capabilities import Capabilities
from providers.errors import Failure
from providers.locks import ContactLocks, LocalContactLocks
from providers.model import (
    BulkResult,
    ContactDraft,
    ContactRef,
    CustomFields,
    FieldDefinition,
    FieldMode,
    FieldsResult,
    IndexedContact,
    ProviderName,
    UpsertResult,
)
from providers.resilience.guard import CallGuard
from providers.resilience.priority import DEFAULT_BACKGROUND_SHARE
from providers.settings import ProviderSettings


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the gateway hands an adapter besides its settings and client.

    `guard` is this account's retries, pacing and circuit breaker: pass it to ProviderHttp so
    every request of the adapter goes through it. `cache` is this account's cache for what
    the adapter learns and may reuse (field ids, merge tags, tags), and `locks` serialise the
    writes of one contact (providers.locks): both shared by the whole fleet when Redis is
    configured.
    """

    deadline_seconds: float = 30.0
    bulk_concurrency: int = 4
    # What background calls may take of a budget while interactive ones wait (priority.py):
    # for a pacer of the adapter's own (Heymarket's bulk admission).
    background_share: float = DEFAULT_BACKGROUND_SHARE
    guard: CallGuard | None = None
    cache: SharedCache = field(default_factory=MemoryCache)
    locks: ContactLocks = field(default_factory=LocalContactLocks)


class ContactAdapter(Protocol):
    provider: ProviderName
    # How many checked contacts the service hands `bulk_upsert` at a time (None: the whole
    # bulk at once). With a window, the service checks the next one while this one is on the
    # wire, so a large bulk's CPU and the provider's time overlap.
    bulk_window: int | None
    # What the account stores and how it is reached; check() and warnings_for() answer from it.
    capabilities: Capabilities

    def check(self, contact: ContactDraft) -> Failure | None:
        """Refuse, without any call, what this provider could never accept."""
        ...

    def warnings_for(self, contact: ContactDraft) -> list[str]:
        """Input this provider cannot store: said, never silently dropped."""
        ...

    async def upsert(self, contact: ContactDraft) -> UpsertResult: ...

    async def bulk_upsert(self, items: Sequence[IndexedContact]) -> BulkResult:
        """Upsert checked contacts; failures are keyed by each item's input index."""
        ...

    async def update_fields(
        self, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult: ...

    async def field_definitions(self) -> list[FieldDefinition]:
        """The custom fields the account has, from the cached catalogue the writes use;
        [] where custom fields are free-form."""
        ...

    async def tag_names(self) -> list[str]:
        """The tags the account has, from the cached catalogue; [] where there are none."""
        ...


AdapterFactory = Callable[[ProviderSettings, httpx.AsyncClient, Runtime], ContactAdapter]


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """The provider's simulator (an ASGI app with fault injection: `.app`, `.faults`) and the
    settings of an account on it, for sandbox mode (`make run` without a config)."""

    simulator: Callable[[], Any]
    settings: Callable[[str], ProviderSettings]  # base URL -> the sandbox account's settings


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How the gateway finds, configures and builds one provider's adapter."""

    name: ProviderName
    settings: type[ProviderSettings]
    build: AdapterFactory
    docs_url: str
    sandbox: SandboxSpec
    # What an account stores, from its settings (None: an account not configured here).
    describe: Callable[[Any], Capabilities]

    @classmethod
    def of(
        cls,
        adapter: Any,
        settings: type[ProviderSettings],
        *,
        docs_url: str,
        sandbox: SandboxSpec,
    ) -> ProviderSpec:
        """The spec of an adapter class (its `provider` names it) and its settings."""
        return cls(adapter.provider, settings, adapter, docs_url, sandbox, adapter.describe)
