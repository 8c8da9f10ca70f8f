"""Routing, and the rules that hold for every provider: checks, deadline, bulk totals."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from providers.base import ContactAdapter
from providers.bulk import Refusals
from providers.errors import ErrorCode, Failure, ProviderError
from providers.http import within_deadline
from providers.model import (
    BulkItemFailure,
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


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    total: int
    errors: list[BulkItemFailure]  # sorted by index, one per index
    contacts_created: int
    list_contacts_created: int
    journeys_enrolled: int
    warnings: list[str]
    # The parts of `warnings`: the provider's own, and the gateway's notes with the input
    # indexes each concerns (an import aggregates these over its chunks).
    provider_warnings: list[str] = field(default_factory=list)
    notes: dict[str, list[int]] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def success_count(self) -> int:
        return self.total - len(self.errors)


class ContactService:
    def __init__(
        self,
        adapters: Mapping[ProviderName, ContactAdapter],
        *,
        deadline_seconds: float,
        max_bulk_contacts: int,
    ) -> None:
        self.adapters = dict(adapters)
        self.deadline_seconds = deadline_seconds
        self.max_bulk_contacts = max_bulk_contacts

    def adapter(self, provider: ProviderName) -> ContactAdapter:
        adapter = self.adapters.get(provider)
        if adapter is None:
            raise ProviderError.of(
                ErrorCode.PROVIDER_NOT_CONFIGURED,
                f"{provider.label} is not configured on this gateway "
                f"(add a [providers.{provider.value}] table to the config)",
                field="provider",
            )
        return adapter

    async def upsert(self, provider: ProviderName, contact: ContactDraft) -> UpsertResult:
        adapter = self.adapter(provider)
        failure = adapter.check(contact)
        if failure is not None:
            raise ProviderError(failure)
        result = await within_deadline(
            self.deadline_seconds, provider, lambda: adapter.upsert(contact)
        )
        extra = adapter.warnings_for(contact)
        return replace(result, warnings=result.warnings + tuple(extra)) if extra else result

    async def update_fields(
        self, provider: ProviderName, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult:
        adapter = self.adapter(provider)
        return await within_deadline(
            self.deadline_seconds, provider, lambda: adapter.update_fields(ref, fields, mode)
        )

    async def field_definitions(self, provider: ProviderName) -> list[FieldDefinition]:
        adapter = self.adapter(provider)
        return await within_deadline(self.deadline_seconds, provider, adapter.field_definitions)

    async def tag_names(self, provider: ProviderName) -> list[str]:
        adapter = self.adapter(provider)
        return await within_deadline(self.deadline_seconds, provider, adapter.tag_names)

    def slow_bulk_warning(self, provider: ProviderName, count: int) -> str | None:
        """Said of a bulk the provider's budget cannot carry out within the deadline: the
        client, a proxy or a load balancer may give up on the request before it answers."""
        adapter = self.adapters.get(provider)
        seconds = adapter.capabilities.bulk_seconds(count) if adapter is not None else None
        if seconds is None or seconds <= self.deadline_seconds:
            return None
        capabilities = adapter.capabilities if adapter is not None else None
        budget = capabilities.rate_limit if capabilities is not None else None
        return (
            f"{count} contacts take at least {seconds:.0f} s under {provider.label}'s budget "
            f"({budget}), longer than the {self.deadline_seconds:g} s request deadline: a "
            "client, proxy or load balancer may give up before this answers. Send bulks this "
            "large with startContactImport: it runs in the background, survives restarts and "
            "reports its progress."
        )

    def check_bulk_size(self, provider: ProviderName, count: int) -> None:
        """Refuse a whole bulk before any per-contact work is spent on it."""
        self.adapter(provider)
        if count == 0:
            raise ProviderError.of(
                ErrorCode.MISSING_CONTACTS, "contacts is empty", field="contacts"
            )
        if count > self.max_bulk_contacts:
            raise ProviderError.of(
                ErrorCode.TOO_MANY_CONTACTS,
                f"{count} contacts; this gateway accepts at most {self.max_bulk_contacts} "
                "in one bulkUpsertContacts",
                field="contacts",
            )

    async def bulk_upsert(
        self,
        provider: ProviderName,
        items: Sequence[ContactDraft | Failure],
        *,
        first_index: int = 0,
    ) -> BulkOutcome:
        """Upsert `items` (a Failure stands where the gateway already refused that contact);
        the outcome's indexes count from `first_index` (an import's chunk: its first row).

        `items` may compute each draft when read (the schema's lazy list does). An adapter
        with a `bulk_window` gets the contacts a window at a time, and the next window is
        read and checked while the previous one is on the wire: a large bulk's CPU and the
        provider's time overlap instead of adding up. One window is in flight at a time, so
        the adapter's own bulk concurrency still bounds the calls.
        """
        self.check_bulk_size(provider, len(items))
        adapter = self.adapter(provider)
        window = adapter.bulk_window or len(items)
        total = BulkResult()
        notes: dict[str, list[int]] = {}  # warning -> the input indexes it concerns
        flight = _Flight(adapter)
        try:
            for start in range(0, len(items), window):
                accepted = await self._accept(
                    adapter,
                    provider,
                    items,
                    range(start, min(start + window, len(items))),
                    total,
                    notes,
                    yielding=flight.busy,
                    first_index=first_index,
                )
                await flight.land(total)
                flight.launch(accepted)
            await flight.land(total)
        finally:
            flight.abandon()
        flight.refusals.raise_if_account_refused()
        warnings = list(total.warnings)
        warnings += [f"{note} ({_indexes(indexes)})" for note, indexes in notes.items()]
        return BulkOutcome(
            total=len(items),
            errors=[total.errors[i] for i in sorted(total.errors)],
            contacts_created=total.contacts_created,
            list_contacts_created=total.list_contacts_created,
            journeys_enrolled=total.journeys_enrolled,
            warnings=warnings,
            provider_warnings=list(total.warnings),
            notes=notes,
        )

    @staticmethod
    async def _accept(
        adapter: ContactAdapter,
        provider: ProviderName,
        items: Sequence[ContactDraft | Failure],
        indexes: range,
        refused: BulkResult,
        notes: dict[str, list[int]],
        *,
        yielding: bool,
        first_index: int = 0,
    ) -> list[IndexedContact]:
        """The window's contacts the adapter accepts; the others recorded as refused."""
        accepted: list[IndexedContact] = []
        for index in indexes:
            if yielding and index % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the window in flight read its answers
            item = items[index]
            if isinstance(item, Failure):
                refused.fail(IndexedContact(first_index + index, ContactDraft()), item)
                continue
            entry = IndexedContact(first_index + index, item)
            failure = adapter.check(item)
            if failure is not None:
                refused.fail(entry, failure)
                continue
            accepted.append(entry)
            for note in adapter.warnings_for(item):
                notes.setdefault(note, []).append(first_index + index)
        return accepted


# While a window is on the wire, reading the next one pauses this often for the event loop.
_YIELD_EVERY = 200


class _Flight:
    """The window on the wire, and how the windows sent so far ended."""

    def __init__(self, adapter: ContactAdapter) -> None:
        self.adapter = adapter
        self.task: asyncio.Task[BulkResult] | None = None
        self.items: list[IndexedContact] = []
        self.refusals = Refusals()

    @property
    def busy(self) -> bool:
        return self.task is not None

    def launch(self, items: list[IndexedContact]) -> None:
        if items:
            self.items = items
            self.refusals.attempt()
            self.task = asyncio.ensure_future(self.adapter.bulk_upsert(items))

    async def land(self, total: BulkResult) -> None:
        if self.task is None:
            return
        task, self.task = self.task, None
        try:
            total.merge(await task)
        except ProviderError as error:
            # The adapter raises when its whole window was refused for the account's sake;
            # that is the answer only if every window was.
            self.refusals.chunk_failed(total, self.items, error)

    def abandon(self) -> None:
        if self.task is not None:
            self.task.cancel()


_LISTED = 20  # indexes a bulk warning names before it counts the rest


def _indexes(indexes: list[int]) -> str:
    """Which contacts of a bulk a warning is about: `contacts[3]`, or a list of indexes."""
    if len(indexes) == 1:
        return f"contacts[{indexes[0]}]"
    shown = ", ".join(str(i) for i in indexes[:_LISTED])
    more = f" and {len(indexes) - _LISTED} more" if len(indexes) > _LISTED else ""
    return f"contacts {shown}{more}"
