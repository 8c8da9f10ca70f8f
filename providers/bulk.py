"""Bulk fan-out shared by every adapter: bounded concurrency, whole-chunk failures per item."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from providers.errors import ErrorKind, ProviderError
from providers.http import within_deadline
from providers.model import BulkResult, IndexedContact, ProviderName

Chunk = Sequence[IndexedContact]

# A failure of these kinds concerns the account, not the contacts: when every chunk gets one,
# the client is told once, as the mutation's answer, rather than once per contact.
_ACCOUNT_KINDS = (ErrorKind.AUTHENTICATION, ErrorKind.CONFIGURATION)


async def run_chunks(
    provider: ProviderName,
    chunks: Sequence[Chunk],
    send: Callable[[Chunk], Awaitable[BulkResult]],
    *,
    concurrency: int,
    deadline_seconds: float,
) -> BulkResult:
    total = BulkResult()
    chunk_errors: list[ProviderError] = []
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(chunk: Chunk) -> None:
        async with gate:
            try:
                part = await within_deadline(deadline_seconds, provider, lambda: send(chunk))
            except ProviderError as error:
                chunk_errors.append(error)
                for item in chunk:
                    total.fail(item, error.failure)
                return
        merge_into(total, part)

    await asyncio.gather(*(one(chunk) for chunk in chunks))
    if chunks and len(chunk_errors) == len(chunks):
        account = [e for e in chunk_errors if e.failure.code.kind in _ACCOUNT_KINDS]
        if len(account) == len(chunk_errors):
            raise account[0]
    return total


def merge_into(total: BulkResult, part: BulkResult) -> None:
    for index, failure in part.errors.items():
        total.errors.setdefault(index, failure)
    total.contacts_created += part.contacts_created
    total.list_contacts_created += part.list_contacts_created
    total.journeys_enrolled += part.journeys_enrolled
    for warning in part.warnings:
        if warning not in total.warnings:
            total.warnings.append(warning)
