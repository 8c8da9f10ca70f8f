"""Heymarket adapter: contacts by integer id (v1) or UUID (v2), custom fields and tags by id.

Wire format (wire.py): JSON, phones in E.164 without '+', a Bearer JWT or the legacy key
(auth.py), custom values keyed by numeric field id, errors `{"error": "bad_data", "message",
"field"}` (errors.py). Clients speak field and tag names; two cached catalogues translate them
(names.py); contacts.py looks a contact up, then creates or updates it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import ClassVar

import httpx

from providers.base import Runtime, not_stored
from providers.bulk import one_by_one
from providers.catalogue import Catalogue, Clock
from providers.errors import ErrorCode, Failure, ProviderError
from providers.heymarket import wire
from providers.heymarket.auth import JwtMinter, LegacyKey
from providers.heymarket.contacts import ContactWriter
from providers.heymarket.errors import ERROR_TABLE, read_error
from providers.heymarket.names import NameMap, Prepared
from providers.heymarket.settings import HeymarketSettings
from providers.http import ProviderHttp
from providers.model import (
    BulkResult,
    ContactDraft,
    ContactRef,
    CustomFields,
    FieldMode,
    FieldsResult,
    IndexedContact,
    ProviderName,
    SubscriptionStatus,
    UpsertResult,
)
from providers.resilience.pacing import GcraPacer, Pacer, Rate, Unpaced
from providers.settings import secret

E = ErrorCode
MAX_TAGS = 5
TAG_PAGE = 30  # Heymarket's page size for POST /v1/tags
MAX_TAG_PAGES = 200
REQUESTS_PER_CONTACT = 2  # a bulk contact is the lookup, then the create or the update
_STORED_STATUSES = (SubscriptionStatus.SUBSCRIBED, SubscriptionStatus.UNSUBSCRIBED)


class HeymarketAdapter:
    provider: ClassVar[ProviderName] = ProviderName.HEYMARKET
    # Heymarket has no bulk endpoint the gateway uses (see docs/heymarket.md): a bulk is handed
    # over whole and admitted contact by contact at the budget's pace.
    bulk_window: ClassVar[int | None] = None
    # The optional unified inputs it keeps; any other given is said in a warning.
    STORED: ClassVar[frozenset[str]] = frozenset(
        ("email", "firstName", "lastName", "tags", "status")
    )

    def __init__(
        self,
        settings: HeymarketSettings,
        client: httpx.AsyncClient,
        runtime: Runtime,
        *,
        wall_clock: Clock = time.time,
        clock: Clock = time.monotonic,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.http = ProviderHttp(self.provider, client, ERROR_TABLE, read_error, runtime.guard)
        self.auth: JwtMinter | LegacyKey = (
            JwtMinter(secret(settings.secret_id), secret(settings.secret_key), clock=wall_clock)
            if settings.secret_id is not None
            else LegacyKey(secret(settings.api_key))
        )
        catalogue = partial(
            Catalogue,
            provider=self.provider,
            cache=runtime.cache,
            ttl=settings.catalogue_ttl_seconds,
            clock=clock,
        )
        self.fields: Catalogue[int] = catalogue(
            self._load_fields, what="custom field", key="fields"
        )
        self.tags: Catalogue[int] = catalogue(self._load_tags, what="tag", key="tags")
        self.writer = ContactWriter(self.http, self.auth, NameMap(self.fields, self.tags))
        # One admission pace per account, shared by its concurrent bulks.
        self.admission = admission_for(settings.rate_limit)

    # -- checks the gateway can make itself ------------------------------------------------

    def check(self, contact: ContactDraft) -> Failure | None:
        if not contact.phone:
            return Failure(E.MISSING_PHONE_NUMBER, "Heymarket needs a phone number", field="phone")
        if contact.tags is not None and len(contact.tags) > MAX_TAGS:
            return Failure(
                E.TOO_MANY_TAGS,
                f"{len(contact.tags)} tags; Heymarket keeps at most {MAX_TAGS} per contact",
                field="tags",
            )
        return None

    def warnings_for(self, contact: ContactDraft) -> list[str]:
        notes = not_stored(contact, self.provider, self.STORED)
        if contact.enroll_in_journeys:
            notes.append("enrollInJourneys was ignored: Heymarket has no journeys")
        if contact.status is not None and contact.status not in _STORED_STATUSES:
            notes.append(
                f"status {contact.status.value} was not sent: Heymarket stores only "
                "UNSUBSCRIBED (opted out) or SUBSCRIBED"
            )
        return notes

    # -- the three operations ---------------------------------------------------------------

    async def upsert(self, contact: ContactDraft) -> UpsertResult:
        [prepared] = await self.writer.names.prepare([contact])
        if isinstance(prepared, Failure):
            raise ProviderError(prepared)
        return await self.writer.upsert(prepared)

    async def bulk_upsert(self, items: Sequence[IndexedContact]) -> BulkResult:
        """Paced single calls, not the batch endpoint: see docs/heymarket.md."""

        async def prepare(items: Sequence[IndexedContact]) -> dict[int, Prepared | Failure]:
            prepared = await self.writer.names.prepare([item.contact for item in items])
            return {item.index: checked for item, checked in zip(items, prepared, strict=True)}

        return await one_by_one(
            self.provider,
            items,
            prepare=prepare,
            write=lambda _, prepared: self.writer.upsert(prepared),
            key=lambda contact: contact.phone,
            concurrency=self.runtime.bulk_concurrency,
            deadline_seconds=self.runtime.deadline_seconds,
            admission=self.admission,
        )

    async def update_fields(
        self, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult:
        return await self.writer.update_fields(ref, fields, mode)

    # -- catalogues -------------------------------------------------------------------------

    async def _load_fields(self) -> dict[str, int]:
        reply = await self.http.call(
            "POST", "/v1/contact-fields", json_body={}, headers=self.auth.headers()
        )
        return wire.read_catalogue(wire.listing(reply.body), ("name", "title", "label"))

    async def _load_tags(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for page in range(1, MAX_TAG_PAGES + 1):
            reply = await self.http.call(
                "POST", "/v1/tags", json_body={"page": page}, headers=self.auth.headers()
            )
            entries = wire.listing(reply.body)
            named = wire.read_catalogue(entries, ("tag", "name", "title"))
            fresh = {name: i for name, i in named.items() if name not in found}
            found.update(fresh)
            # A short page ends the listing; so does a page with nothing new (an API that
            # ignores `page` would otherwise be asked 200 times).
            if len(entries) < TAG_PAGE or not fresh:
                break
        return found


def admission_for(rate_limit: str | None) -> Pacer:
    """The pace a bulk's contacts are admitted at: a little under half the request budget
    (two requests each), before their deadline starts. The shared pacer still keeps every
    request within the budget; without admission, contacts queued at once would wait past
    their deadline for a slot and be refused."""
    if rate_limit is None:
        return Unpaced()
    rate = Rate.parse(rate_limit)
    # A twentieth of the budget stays free for catalogue loads, a lost create's lookup, and
    # single mutations arriving during the bulk.
    spare = max(1, rate.requests // 20)
    contacts = max(1, (rate.requests - spare) // REQUESTS_PER_CONTACT)
    return GcraPacer(Rate(contacts, rate.period))
