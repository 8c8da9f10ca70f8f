"""A Heymarket bulk: existing contacts updated one by one, new ones created in batches.

Each contact costs what it must, under the account's 500 requests a minute:
- seen before (its id in the account cache) and given both names: one `PUT` to that id. A stale
  id (404, a refusal naming the contact or its phone) is forgotten and the contact looked up;
- otherwise a look-up by phone, then for a contact found one `PUT` with its current names sent
  back, as a single upsert does;
- a contact not found waits (at most `batch_wait_seconds`) for others to share one
  `POST /v1/batch/contacts?overwrite=false` of up to `batch_size` contacts. A batch of one goes
  as a single create instead: the same one request, and it answers for itself.

A batch answers `"ok"` or the contacts that failed, without reasons: each of those is sent again
as a single create, which gives its own typed answer at its own index (a create refused because
the phone was taken meanwhile is looked up again and updated, as everywhere). A batch that
fails whole for a reason that is not the account's nor the budget's (a 5xx, an unreadable
answer, a timeout after the retries) does the same for every contact it carried: the contract's
one error per contact, each its own. Refused for the account (401, 403) or the budget (429,
pacing), its contacts get that error; the account rule then answers the bulk once.

Heymarket skips a phone that has a contact by the time the batch arrives, and says nothing of it.
So a new contact's phone is claimed in the account cache while it waits (another bulk meeting
the claim sends its contact as a single create), and after an `"ok"` the gateway checks whether
any other writer of the fleet created or looked the phone up since this bulk's look-up (every
create and look-up remembers the phone's id there): if one did, the contact is looked up again
and updated, so its values are applied, not dropped. A contact created outside the gateway in
the seconds between the look-up and the batch leaves no such trace; see docs/heymarket.md.

Contacts that share a phone go in input order: the next one starts when the previous one is
settled (a batch contact: when its batch answered). Every request is admitted at the bulk's
pace before its deadline starts, at most `concurrency` are in flight, each within the deadline.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from providers.bulk import Refusals, concerns_account
from providers.errors import ErrorCode, Failure, Origin, ProviderError
from providers.heymarket import wire
from providers.heymarket.contacts import Applied, ContactWriter
from providers.heymarket.names import Prepared
from providers.http import ProviderHttp, Reply, within_deadline
from providers.model import BulkResult, IndexedContact, ProviderName
from providers.resilience.pacing import Pacer

E = ErrorCode
# Whole-batch failures that sending each contact alone could not help: the budget is spent,
# the circuit is open, the deadline passed. (The account's refusals are judged apart.)
_NOT_RESENT_ORIGINS = frozenset({Origin.PACING, Origin.CIRCUIT, Origin.DEADLINE})


class PacedCalls:
    """A bulk's requests: each admitted at the bulk's pace before its deadline starts (so
    waiting for the budget is the import's pace, never a timeout), at most `concurrency` in
    flight, each within `deadline_seconds` (retries included)."""

    def __init__(
        self,
        http: ProviderHttp,
        admission: Pacer,
        *,
        concurrency: int,
        deadline_seconds: float,
    ) -> None:
        self.http = http
        self.admission = admission
        self.deadline_seconds = deadline_seconds
        self._gate = asyncio.Semaphore(max(1, concurrency))

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        write: bool = False,
    ) -> Reply:
        await self.admission.acquire()
        async with self._gate:
            return await within_deadline(
                self.deadline_seconds,
                self.http.provider,
                lambda: self.http.call(
                    method,
                    path,
                    json_body=json_body,
                    params=params,
                    headers=headers,
                    idempotent=idempotent,
                    write=write,
                ),
            )

    def object_of(self, reply: Reply) -> dict[str, Any]:
        return self.http.object_of(reply)


@dataclass(frozen=True, slots=True)
class _Entry:
    item: IndexedContact
    prepared: Prepared

    @property
    def phone(self) -> str:
        assert self.item.contact.phone is not None  # the adapter's check refused the others
        return self.item.contact.phone


@dataclass(frozen=True, slots=True)
class _Parked:
    """A new contact waiting for its batch, and where its phone's group goes on after it."""

    entry: _Entry
    group: list[_Entry]
    next: int


class _New:
    """The look-up found no contact: it goes to a batch."""


NEW = _New()


class BulkImport:
    """One bulk's contacts, once prepared (names resolved to ids)."""

    def __init__(
        self,
        provider: ProviderName,
        writer: ContactWriter,
        *,
        batch_size: int,
        batch_wait: float,
        concurrency: int,
    ) -> None:
        self.provider = provider
        self.writer = writer
        self.ids = writer.ids
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.concurrency = max(1, concurrency)
        self.token = uuid.uuid4().hex  # this bulk's claims
        self.total = BulkResult()
        self.refusals = Refusals()
        self._open: list[_Parked] = []
        self._timer: asyncio.TimerHandle | None = None
        self._draining = False
        self._tasks: asyncio.TaskGroup | None = None

    async def run(
        self, items: Sequence[IndexedContact], prepared: Mapping[int, Prepared | Failure]
    ) -> BulkResult:
        groups: dict[str | None, list[_Entry]] = {}
        for item in items:
            checked = prepared[item.index]
            if isinstance(checked, Failure):
                self.total.fail(item, checked)
            else:
                groups.setdefault(item.contact.phone, []).append(_Entry(item, checked))
        queue = deque(groups.values())
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                workers = [
                    tasks.create_task(self._work(queue))
                    for _ in range(min(self.concurrency, len(queue)))
                ]
                if workers:
                    tasks.create_task(self._drain_after(workers))
        finally:
            # Cancelled (the client left): no batch may start once the bulk is over.
            if self._timer is not None:
                self._timer.cancel()
        self.refusals.raise_if_account_refused()
        return self.total

    # -- the look-up side ---------------------------------------------------------------------

    async def _work(self, queue: deque[list[_Entry]]) -> None:
        while queue:
            await self._go_on(queue.popleft(), 0)

    async def _go_on(self, group: list[_Entry], start: int) -> None:
        """The group's contacts from `start`, in order, until one waits for a batch."""
        for position in range(start, len(group)):
            entry = group[position]
            self.refusals.attempt()
            try:
                outcome = await self._look(entry)
            except ProviderError as error:
                self._failed(entry, error)
                continue
            if isinstance(outcome, Applied):
                self._done(outcome)
            elif await self.ids.claim(entry.phone, self.token):
                self._park(_Parked(entry, group, position + 1))
                return  # the batch's answer goes on with the group
            else:
                # Another bulk is creating this phone right now: a single create says which
                # of the two did (the other is refused, looks again, and updates).
                await self._single(entry)

    async def _look(self, entry: _Entry) -> Applied | _New:
        """Update the contact if it exists (at a remembered id, or after a look-up)."""
        contact = entry.prepared.contact
        known = await self.ids.get(entry.phone)
        if known is not None and contact.first_name is not None and contact.last_name is not None:
            if await self.writer.put_known(entry.prepared, known.id):
                return Applied(known.id, False, None, {})
            known = None  # stale, and already forgotten
        existing = await self.writer.lookup({"phone": wire.wire_phone(entry.phone)})
        if existing is None:
            if known is not None:
                await self.ids.forget(entry.phone)  # the contact is gone: so is its id
            return NEW
        return await self.writer.apply(entry.prepared, existing)

    async def _single(self, entry: _Entry) -> None:
        """Create the contact alone (updated instead if its phone is taken by now)."""
        try:
            self._done(await self.writer.apply(entry.prepared, None))
        except ProviderError as error:
            self._failed(entry, error)

    # -- the batch side -----------------------------------------------------------------------

    def _park(self, parked: _Parked) -> None:
        if not self._open:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.batch_wait, self._flush)
        self._open.append(parked)
        if len(self._open) >= self.batch_size or self._draining:
            self._flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._open = self._open, []
        if batch:
            assert self._tasks is not None
            self._tasks.create_task(self._send(batch))

    async def _drain_after(self, workers: list[asyncio.Task[None]]) -> None:
        """Once no look-up is left to come, a partial batch has nothing to wait for."""
        await asyncio.wait(workers)
        self._draining = True
        self._flush()

    async def _send(self, batch: list[_Parked]) -> None:
        if len(batch) == 1:  # alone, a single create costs the same and answers for itself
            await self._settle(batch[0], resend=True)
            return
        try:
            failed = await self.writer.batch([parked.entry.prepared for parked in batch])
        except ProviderError as error:
            if concerns_account(error) or not _resendable(error):
                await asyncio.gather(*(self._settle(p, error=error) for p in batch))
                return
            failed = {wire.wire_phone(parked.entry.phone) for parked in batch}
        await asyncio.gather(
            *(
                self._settle(parked, resend=wire.wire_phone(parked.entry.phone) in failed)
                for parked in batch
            )
        )

    async def _settle(
        self, parked: _Parked, *, resend: bool = False, error: ProviderError | None = None
    ) -> None:
        """A batch contact's outcome; then its phone's group goes on."""
        entry = parked.entry
        try:
            if error is not None:
                self._failed(entry, error)
            elif resend:
                await self._single(entry)
            else:
                await self._check_created(entry)
        finally:
            await self.ids.release(entry.phone, self.token)
        await self._go_on(parked.group, parked.next)

    async def _check_created(self, entry: _Entry) -> None:
        """The batch said ok: created, unless another writer had the phone meanwhile (the batch
        then skipped it without a word): look it up again and update it."""
        other = await self.ids.get(entry.phone)
        if other is None and await self.ids.holds(entry.phone, self.token):
            self.total.contacts_created += 1
            return
        try:
            applied = await self.writer.apply(entry.prepared)
        except ProviderError as error:
            self._failed(entry, error)
            return
        # A contact the gateway's own create made was not this batch's; one only seen by a
        # look-up since is most likely this batch's own.
        made_here = other is not None and not other.created
        self._done(Applied(applied.ident, applied.created or made_here, None, {}))

    # -- outcomes ------------------------------------------------------------------------------

    def _done(self, applied: Applied) -> None:
        self.total.contacts_created += int(applied.created)
        for warning in applied.warnings:
            if warning not in self.total.warnings:
                self.total.warnings.append(warning)

    def _failed(self, entry: _Entry, error: ProviderError) -> None:
        self.refusals.chunk_failed(self.total, [entry.item], error)


def _resendable(error: ProviderError) -> bool:
    """Whether a whole batch's failure may be the batch's own (a 5xx, a 4xx over one of its
    contacts, an unreadable answer, a timeout) rather than the budget's or the circuit's."""
    failure = error.failure
    return failure.code is not E.RATE_LIMITED and failure.origin not in _NOT_RESENT_ORIGINS
