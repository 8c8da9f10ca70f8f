"""Heymarket adapter: contacts by integer id (v1) or UUID (v2), custom fields and tags by id.

Wire format (wire.py): JSON, phones in E.164 without '+', a Bearer JWT or the legacy key
(auth.py), custom values keyed by numeric field id, errors `{"error": "bad_data", "message",
"field"}` (errors.py). Clients speak field and tag names; two cached catalogues translate them
(names.py); contacts.py looks a contact up, then creates or updates it; bulk.py updates a bulk's
existing contacts one by one and creates its new ones in batches; ids.py remembers each phone's
id in the account cache.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import ClassVar

import httpx

from providers.base import Runtime
from providers.bulk import fail_all
from providers.capabilities import Capabilities, Stored, rate_limit_of
from providers.catalogue import Catalogue, Clock
from providers.errors import ErrorCode, Failure, ProviderError
from providers.heymarket import wire
from providers.heymarket.auth import JwtMinter, LegacyKey
from providers.heymarket.bulk import BulkImport, PacedCalls
from providers.heymarket.contacts import ContactWriter
from providers.heymarket.errors import ERROR_TABLE, read_error
from providers.heymarket.ids import CLAIM_TTL_SECONDS, ContactIds
from providers.heymarket.names import NameMap
from providers.heymarket.settings import HeymarketSettings
from providers.http import ProviderHttp
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
    SubscriptionStatus,
    UpsertResult,
)
from providers.resilience.pacing import GcraPacer, Pacer, Rate, Unpaced
from providers.resilience.priority import DEFAULT_BACKGROUND_SHARE
from providers.settings import secret

E = ErrorCode
MAX_TAGS = 5
TAG_PAGE = 30  # Heymarket's page size for POST /v1/tags
MAX_TAG_PAGES = 200


class HeymarketAdapter:
    provider: ClassVar[ProviderName] = ProviderName.HEYMARKET
    # A bulk is handed over whole: its requests are admitted one by one at the budget's pace,
    # and its new contacts gathered into batches (bulk.py).
    bulk_window: ClassVar[int | None] = None

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
        self.capabilities = self.describe(settings)
        self.http = ProviderHttp(
            self.provider, client, ERROR_TABLE, read_error, runtime.guard, wire.stand_in
        )
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
        self.ids = ContactIds(
            runtime.cache, _key_material(settings), ttl=settings.contact_id_ttl_seconds
        )
        self.writer = ContactWriter(self.http, self.auth, NameMap(self.fields, self.tags), self.ids)
        # One admission pace per account, shared by its concurrent bulks.
        self.admission = admission_for(settings.rate_limit, runtime.background_share)
        self.batch_wait = batch_wait_for(settings)

    # -- checks the gateway can make itself ------------------------------------------------

    @classmethod
    def describe(cls, settings: HeymarketSettings | None) -> Capabilities:
        """What a Heymarket account stores (`settings` None: one not configured here)."""
        return Capabilities(
            provider=cls.provider,
            contact_key="phone",
            required={"phone": "Heymarket needs a phone number"},
            update_finds_by=("id", "phone"),
            stored={
                "phone": Stored("phone", "E.164 without its '+'"),
                "email": Stored("email"),
                "firstName": Stored("first", "kept on updates that do not give it"),
                "lastName": Stored("last", "kept on updates that do not give it"),
                "customFields": Stored("custom", "by field id; names from the contact fields"),
                "fieldMode": Stored("overwrite", "REPLACE replaces every custom value"),
                "tags": Stored("tags", "by tag id; names from the account's tags"),
                "status": Stored("is_opted_out", "UNSUBSCRIBED opts out, SUBSCRIBED opts in"),
                "heymarket": Stored("display_name, avatar, assignee_id"),
            },
            not_stored={"enrollInJourneys": "Heymarket has no journeys"},
            statuses=(SubscriptionStatus.SUBSCRIBED, SubscriptionStatus.UNSUBSCRIBED),
            max_tags=MAX_TAGS,
            # New contacts of a bulk go out in batches (POST /v1/batch/contacts); contacts
            # that exist are updated one by one.
            native_bulk=True,
            max_contacts_per_request=(
                settings.batch_size
                if settings is not None
                else HeymarketSettings.model_fields["batch_size"].default
            ),
            rate_limit=rate_limit_of(HeymarketSettings, settings),
            bulk_reads_per_contact=1,  # its look-up by phone (a contact seen before skips it)
        )

    def check(self, contact: ContactDraft) -> Failure | None:
        return self.capabilities.refusal(contact)

    def warnings_for(self, contact: ContactDraft) -> list[str]:
        return self.capabilities.warnings(contact)

    # -- the three operations ---------------------------------------------------------------

    async def upsert(self, contact: ContactDraft) -> UpsertResult:
        [prepared] = await self.writer.names.prepare([contact])
        if isinstance(prepared, Failure):
            raise ProviderError(prepared)
        return await self.writer.upsert(prepared)

    async def bulk_upsert(self, items: Sequence[IndexedContact]) -> BulkResult:
        """Existing contacts updated one by one, new ones created in batches: see bulk.py."""
        try:
            prepared = await self.writer.names.prepare([item.contact for item in items])
        except ProviderError as error:
            refused = BulkResult()
            fail_all(refused, items, error)
            return refused
        calls = PacedCalls(
            self.http,
            self.admission,
            concurrency=self.runtime.bulk_concurrency,
            deadline_seconds=self.runtime.deadline_seconds,
        )
        bulk = BulkImport(
            self.provider,
            self.writer.with_calls(calls),
            batch_size=self.settings.batch_size,
            batch_wait=self.batch_wait,
            concurrency=self.runtime.bulk_concurrency,
        )
        by_index = {item.index: checked for item, checked in zip(items, prepared, strict=True)}
        return await bulk.run(items, by_index)

    async def update_fields(
        self, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult:
        return await self.writer.update_fields(ref, fields, mode)

    # -- catalogues -------------------------------------------------------------------------

    async def field_definitions(self) -> list[FieldDefinition]:
        # Clients write Heymarket's custom fields by name (or numeric id).
        return [FieldDefinition(name, name) for name in sorted(await self.fields.entries())]

    async def tag_names(self) -> list[str]:
        return sorted(await self.tags.entries())

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


def admission_for(rate_limit: str | None, share: float = DEFAULT_BACKGROUND_SHARE) -> Pacer:
    """The pace a bulk's requests are admitted at, before their deadline starts: a little
    under the budget. The shared pacer still keeps every request within the budget; without
    admission, requests queued at once would wait past their deadline for a slot and be
    refused. An interactive bulk is admitted before an import's (priority.py), as the shared
    pacer lets its requests go first."""
    if rate_limit is None:
        return Unpaced()
    return GcraPacer(_admitted(Rate.parse(rate_limit)), share=share)


def _admitted(rate: Rate) -> Rate:
    # A hundredth of the budget (5 a minute of Heymarket's 500) stays free for catalogue
    # loads and single mutations arriving during a bulk, so the bulk's requests do not pile up
    # at the shared pacer behind them. A single mutation no longer needs more: the shared pacer
    # lets interactive calls go first (priority.py). Every request of a bulk, its follow-ups
    # included, is admitted here, so none of them needs that room. (A fiftieth, with the
    # schedule's 2 % stretch on top, held a bulk of new contacts to 473 a minute.)
    spare = max(1, rate.requests // 100)
    return Rate(max(1, rate.requests - spare), rate.period)


def batch_wait_for(settings: HeymarketSettings) -> float:
    """How long a partial batch waits for more new contacts: `batch_wait_seconds`, or longer
    when the pace needs longer to fill one (`batch_size` admissions: 6.1 s at 500 a minute),
    since requests are let go evenly, and a wait shorter than that sends partial batches that
    cost a request each. Never past half a claim's life: a parked contact's phone stays claimed
    (ids.py) until its batch answers. Waiting costs a bulk nothing: its last look-up flushes
    what is left, and a bulk answers when its last contact has."""
    if settings.rate_limit is None:
        return settings.batch_wait_seconds
    admitted = _admitted(Rate.parse(settings.rate_limit))
    fill = settings.batch_size * admitted.period / admitted.requests * 1.25  # a quarter to spare
    return min(max(settings.batch_wait_seconds, fill), CLAIM_TTL_SECONDS / 2)


def _key_material(settings: HeymarketSettings) -> str:
    """The account's credentials: what keys its cache entries (ids.py), the same on every host."""
    if settings.secret_id is not None:
        return f"{secret(settings.secret_id)}||{secret(settings.secret_key)}"
    return secret(settings.api_key)
