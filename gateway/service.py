"""Routing, and the rules that hold for every provider: checks, deadline, bulk totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from providers.base import ContactAdapter
from providers.errors import ErrorCode, Failure, ProviderError
from providers.http import within_deadline
from providers.model import (
    BulkItemFailure,
    BulkResult,
    ContactDraft,
    ContactRef,
    CustomFields,
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
        extra = _warnings(adapter, provider, contact)
        return replace(result, warnings=result.warnings + tuple(extra)) if extra else result

    async def update_fields(
        self, provider: ProviderName, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult:
        adapter = self.adapter(provider)
        return await within_deadline(
            self.deadline_seconds, provider, lambda: adapter.update_fields(ref, fields, mode)
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
        self, provider: ProviderName, items: Sequence[ContactDraft | Failure]
    ) -> BulkOutcome:
        """Upsert `items` (a Failure stands where the gateway already refused that contact)."""
        self.check_bulk_size(provider, len(items))
        adapter = self.adapter(provider)
        refused = BulkResult()
        accepted: list[IndexedContact] = []
        notes: Counter[str] = Counter()
        for index, item in enumerate(items):
            if isinstance(item, Failure):
                refused.fail(IndexedContact(index, ContactDraft()), item)
                continue
            entry = IndexedContact(index, item)
            failure = adapter.check(item)
            if failure is not None:
                refused.fail(entry, failure)
                continue
            accepted.append(entry)
            notes.update(_warnings(adapter, provider, item))
        result = await adapter.bulk_upsert(accepted) if accepted else BulkResult()
        errors = {**refused.errors, **result.errors}
        warnings = list(result.warnings)
        warnings += [note if n == 1 else f"{note} ({n} contacts)" for note, n in notes.items()]
        return BulkOutcome(
            total=len(items),
            errors=[errors[i] for i in sorted(errors)],
            contacts_created=result.contacts_created,
            list_contacts_created=result.list_contacts_created,
            journeys_enrolled=result.journeys_enrolled,
            warnings=warnings,
        )


def _warnings(adapter: ContactAdapter, provider: ProviderName, contact: ContactDraft) -> list[str]:
    notes = adapter.warnings_for(contact)
    if contact.trackly is None and contact.heymarket is None:
        return notes
    options = {ProviderName.TRACKLY: contact.trackly, ProviderName.HEYMARKET: contact.heymarket}
    for owner, given in options.items():
        if given is not None and owner is not provider:
            notes.append(
                f"{owner.value} options were ignored: the contact was sent to {provider.label}"
            )
    return notes
