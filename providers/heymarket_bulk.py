"""Heymarket bulk: each contact is a lookup and a write, admitted at the account's budget.

The shared pacer keeps every request within the budget, but a wait for it counts against the
gateway's deadline: past the first minute's budget, contacts queued at once would wait longer
than the deadline for their slot and be refused. So contacts are admitted at the pace the
budget allows (a little under half the rate: two requests each) *before* their deadline
starts; the deadline then bounds the provider's work alone, and the shared pacer rarely has
to wait at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from providers.bulk import merge_into
from providers.errors import ErrorKind, Failure, ProviderError
from providers.heymarket_contacts import ContactWriter
from providers.heymarket_names import Prepared
from providers.http import within_deadline
from providers.model import BulkResult, IndexedContact, ProviderName
from providers.resilience.pacing import Pacer, Rate, SlidingWindowPacer, Unpaced

REQUESTS_PER_CONTACT = 2  # the lookup, then the create or the update
_ACCOUNT_KINDS = (ErrorKind.AUTHENTICATION, ErrorKind.CONFIGURATION)


def admission_for(rate_limit: str | None) -> Pacer:
    if rate_limit is None:
        return Unpaced()
    rate = Rate.parse(rate_limit)
    # A twentieth of the budget stays free for catalogue loads, a lost create's lookup, and
    # single mutations arriving during the import.
    spare = max(1, rate.requests // 20)
    contacts = max(1, (rate.requests - spare) // REQUESTS_PER_CONTACT)
    return SlidingWindowPacer(Rate(contacts, rate.period))


async def bulk_upsert(
    writer: ContactWriter,
    items: Sequence[IndexedContact],
    *,
    provider: ProviderName,
    admission: Pacer,
    concurrency: int,
    deadline_seconds: float,
) -> BulkResult:
    total = BulkResult()
    ready: dict[int, Prepared] = {}
    # Names are resolved once for the whole import: one catalogue refresh at most.
    prepared = await writer.names.prepare([item.contact for item in items])
    for item, checked in zip(items, prepared, strict=True):
        if isinstance(checked, Failure):
            total.fail(item, checked)
        else:
            ready[item.index] = checked
    # Contacts sharing a phone go in order, as one group: sent side by side, both would miss
    # the lookup and the second create would be refused.
    groups: dict[str, list[IndexedContact]] = {}
    for item in items:
        if item.index in ready:
            groups.setdefault(item.contact.phone or "", []).append(item)
    gate = asyncio.Semaphore(max(1, concurrency))
    whole_group_errors: list[ProviderError] = []

    async def upsert_group(group: list[IndexedContact]) -> None:
        for _ in group:
            await admission.acquire()  # the import's pace, outside any deadline
        async with gate:
            try:
                part = await within_deadline(
                    deadline_seconds * len(group), provider, lambda: _send(writer, group, ready)
                )
            except ProviderError as error:
                whole_group_errors.append(error)
                for item in group:
                    total.fail(item, error.failure)
                return
        merge_into(total, part)

    await asyncio.gather(*(upsert_group(group) for group in groups.values()))
    if groups and len(whole_group_errors) == len(groups):
        account = [e for e in whole_group_errors if e.failure.code.kind in _ACCOUNT_KINDS]
        if len(account) == len(whole_group_errors):
            raise account[0]  # the account was refused, not the contacts: say it once
    return total


async def _send(
    writer: ContactWriter, group: list[IndexedContact], ready: dict[int, Prepared]
) -> BulkResult:
    part = BulkResult()
    for item in group:
        try:
            result = await writer.upsert(ready[item.index])
        except ProviderError as error:
            if len(group) == 1:
                raise
            part.fail(item, error.failure)
            continue
        part.contacts_created += int(result.created)
        part.warnings.extend(w for w in result.warnings if w not in part.warnings)
    return part
