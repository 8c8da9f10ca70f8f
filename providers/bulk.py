"""Bulk fan-out, written once for every provider: bounded concurrency, whole-chunk failures per
contact, and the one rule for a bulk the account itself was refused.

A chunk is what one `send` call handles: a native bulk request (Trackly), the contacts sharing
an email, in order (CampaignLark). `send` answers the chunk's
counts and per-contact failures, or raises ProviderError when the chunk failed as a whole; then
every contact of the chunk gets that failure, so nothing is dropped silently.

Several bulks can share one gate (`shared_gate`): the import runner sends many chunks, each a
bulk of its own, and wants at most `bulk_concurrency` requests of them on the wire at once while
the next chunks are judged and encoded; a gate per bulk would bound each bulk alone.

The answer-once rule: when every chunk failed as a whole, and each for the account's sake
(credentials refused, payment, product not enabled), the client is told once, as the
mutation's answer, rather than once per contact. `Refusals` is that rule; the service applies it
again over the windows it hands an adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from providers.errors import ErrorKind, Failure, ProviderError
from providers.model import BulkResult, ContactDraft, IndexedContact, ProviderName, UpsertResult
from providers.resilience.guard import within_deadline
from providers.resilience.pacing import Pacer

Chunk = Sequence[IndexedContact]
P = TypeVar("P")  # a contact as an adapter prepared it for its write
Send = Callable[[Chunk], Awaitable[BulkResult]]

# Failures that concern the account, not the contacts.
ACCOUNT_KINDS = frozenset({ErrorKind.AUTHENTICATION, ErrorKind.CONFIGURATION})


_shared_gate: contextvars.ContextVar[asyncio.Semaphore | None] = contextvars.ContextVar(
    "bulk_gate", default=None
)


@contextlib.contextmanager
def shared_gate(gate: asyncio.Semaphore) -> Iterator[None]:
    """Every fan-out made inside (tasks started inside included) sends through `gate` rather
    than a gate of its own."""
    token = _shared_gate.set(gate)
    try:
        yield
    finally:
        _shared_gate.reset(token)


def concerns_account(error: ProviderError) -> bool:
    return error.failure.code.kind in ACCOUNT_KINDS


class Refusals:
    """The whole-chunk failures of one bulk, and whether they add up to one answer."""

    def __init__(self) -> None:
        self.attempted = 0
        self.failed: list[ProviderError] = []

    def attempt(self) -> None:
        self.attempted += 1

    def chunk_failed(self, total: BulkResult, chunk: Chunk, error: ProviderError) -> None:
        """Every contact of `chunk` gets the failure that ended it."""
        self.failed.append(error)
        for item in chunk:
            total.fail(item, error.failure)

    def raise_if_account_refused(self) -> None:
        """Raise the first failure when every chunk failed, each for the account's sake."""
        if (
            self.attempted
            and len(self.failed) == self.attempted
            and all(concerns_account(error) for error in self.failed)
        ):
            raise self.failed[0]


async def fan_out(
    provider: ProviderName,
    chunks: Sequence[Chunk],
    send: Send,
    *,
    concurrency: int,
    deadline_seconds: float,
    admission: Pacer | None = None,
    per_contact: bool = False,
) -> BulkResult:
    """Send every chunk, at most `concurrency` at once, each within the deadline (one deadline
    per contact with `per_contact`: a chunk whose contacts go one after another).

    With `admission`, each contact of a chunk first takes a slot from it, before the chunk's
    deadline starts: a provider whose budget is the bottleneck admits contacts at the pace the
    budget allows, and the deadline then bounds the provider's work alone. (Heymarket, whose
    contacts cost one to two requests each, admits each request instead: heymarket/bulk.py.)
    """
    total = BulkResult()
    refusals = Refusals()
    gate = _shared_gate.get() or asyncio.Semaphore(max(1, concurrency))

    async def one(chunk: Chunk) -> None:
        refusals.attempt()
        if admission is not None:
            for _ in chunk:
                await admission.acquire()
        seconds = deadline_seconds * len(chunk) if per_contact else deadline_seconds
        async with gate:
            try:
                part = await within_deadline(seconds, provider, lambda: send(chunk))
            except ProviderError as error:
                refusals.chunk_failed(total, chunk, error)
                return
        total.merge(part)

    await asyncio.gather(*(one(chunk) for chunk in chunks))
    refusals.raise_if_account_refused()
    return total


async def one_by_one(
    provider: ProviderName,
    items: Sequence[IndexedContact],
    *,
    prepare: Callable[[Sequence[IndexedContact]], Awaitable[Mapping[int, P | Failure]]],
    write: Callable[[IndexedContact, P], Awaitable[UpsertResult]],
    key: Callable[[ContactDraft], str | None],
    concurrency: int,
    deadline_seconds: float,
    admission: Pacer | None = None,
) -> BulkResult:
    """A bulk as single upserts, for a provider without a bulk endpoint the gateway can use.

    `prepare` checks the whole bulk at once (one catalogue look-up, one refresh at most): a
    contact it refuses gets its Failure; an error that stops it fails every contact (or, for
    the account, the bulk). Contacts sharing a `key` at the provider (its phone, its email)
    go in order, as one chunk: sent side by side they would race (both miss a look-up, both
    create), and the last write would win by chance.
    """
    refused = BulkResult()
    try:
        prepared = await prepare(items)
    except ProviderError as error:
        fail_all(refused, items, error)
        return refused
    groups: dict[str | None, list[IndexedContact]] = {}
    for item in items:
        checked = prepared[item.index]
        if isinstance(checked, Failure):
            refused.fail(item, checked)
        else:
            groups.setdefault(key(item.contact), []).append(item)

    async def send(group: Chunk) -> BulkResult:
        part = BulkResult()
        for item in group:
            try:
                result = await write(item, prepared[item.index])  # type: ignore[arg-type]
            except ProviderError as error:
                if len(group) == 1:
                    raise  # the whole chunk failed: fan_out's rules decide what it means
                part.fail(item, error.failure)
                continue
            part.contacts_created += int(result.created)
            part.warnings.extend(w for w in result.warnings if w not in part.warnings)
        return part

    total = await fan_out(
        provider,
        list(groups.values()),
        send,
        concurrency=concurrency,
        deadline_seconds=deadline_seconds,
        admission=admission,
        per_contact=True,
    )
    total.merge(refused)
    return total


def fail_all(total: BulkResult, items: Sequence[IndexedContact], error: ProviderError) -> None:
    """A failure before any contact was sent (a catalogue that could not be read): raised
    when it concerns the account, else given to every contact."""
    if concerns_account(error):
        raise error
    for item in items:
        total.fail(item, error.failure)
