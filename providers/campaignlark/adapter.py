"""CampaignLark adapter: an email platform; contacts keyed by email, custom fields are merge tags.

Wire format (wire.py): JSON under `/v1`, `Authorization: Bearer`, answers in a `data` envelope,
errors `{"error": {"message": text}}` with no machine-readable code: the table (errors.py)
matches messages. Merge tags and tags are checked against the workspace's catalogues (names.py)
before any write. No bulk endpoint: a bulk is single upserts fanned out under the shared pacing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from providers import dryrun
from providers.base import Runtime
from providers.bulk import one_by_one
from providers.campaignlark import wire
from providers.campaignlark.errors import ERROR_TABLE, read_error
from providers.campaignlark.names import Names, Prepared
from providers.campaignlark.settings import CampaignLarkSettings
from providers.campaignlark.wire import EMAIL_TAG, FIRST_NAME_TAG, LAST_NAME_TAG, FieldInfo
from providers.capabilities import Capabilities, Stored, rate_limit_of
from providers.catalogue import Catalogue
from providers.errors import ErrorCode, Failure, ProviderError
from providers.http import ProviderHttp, Reply
from providers.locks import contact_key
from providers.model import (
    BulkResult,
    ContactDraft,
    ContactRef,
    CustomFields,
    FieldDefinition,
    FieldMode,
    FieldsResult,
    FieldValue,
    IndexedContact,
    ProviderName,
    SubscriptionStatus,
    UpsertResult,
)
from providers.settings import secret

E = ErrorCode
_CONTACT_ID = re.compile(r"^[0-9a-f]{24}$")


class CampaignLarkAdapter:
    provider: ClassVar[ProviderName] = ProviderName.CAMPAIGNLARK
    bulk_window: ClassVar[int | None] = None  # no bulk endpoint: single upserts, fanned out

    def __init__(
        self, settings: CampaignLarkSettings, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.capabilities = self.describe(settings)
        self.http = ProviderHttp(
            self.provider, client, ERROR_TABLE, read_error, runtime.guard, wire.stand_in
        )
        self._auth = {"Authorization": f"Bearer {secret(settings.api_key)}"}
        cache, ttl = runtime.cache, settings.catalogue_ttl_seconds
        fields: Catalogue[FieldInfo] = Catalogue(
            self._load_fields,
            provider=self.provider,
            what="merge tag",
            cache=cache,
            key="fields",
            ttl=ttl,
            codec=wire.FIELDS_CODEC,
        )
        tags: Catalogue[int] = Catalogue(
            self._load_tags, provider=self.provider, what="tag", cache=cache, key="tags", ttl=ttl
        )
        self.names = Names(fields, tags, settings.phone_merge_tag)

    # -- checks the gateway can make itself ------------------------------------------------

    @classmethod
    def describe(cls, settings: CampaignLarkSettings | None) -> Capabilities:
        """What a CampaignLark workspace stores (`settings` None: one not configured here)."""
        phone_tag = settings.phone_merge_tag if settings is not None else None
        stored = {
            "email": Stored(EMAIL_TAG, "the contact's key"),
            "firstName": Stored(FIRST_NAME_TAG),
            "lastName": Stored(LAST_NAME_TAG),
            "customFields": Stored("fields", "keyed by merge tag; required fields enforced"),
            "fieldMode": Stored("partial_update", "REPLACE replaces fields, tags and status"),
            "tags": Stored("tags", "by tag id; names from the workspace's tags"),
            "status": Stored("status"),
        }
        not_stored = {"enrollInJourneys": "CampaignLark has no journeys"}
        if phone_tag:
            stored["phone"] = Stored(
                phone_tag, "the merge tag providers.campaignlark.phone_merge_tag"
            )
        else:
            not_stored["phone"] = "no providers.campaignlark.phone_merge_tag is configured"
        return Capabilities(
            provider=cls.provider,
            contact_key="email",
            required={"email": "CampaignLark identifies a contact by its email"},
            update_finds_by=("id", "email"),
            stored=stored,
            not_stored=not_stored,
            statuses=tuple(SubscriptionStatus),
            rate_limit=rate_limit_of(CampaignLarkSettings, settings),
        )

    def check(self, contact: ContactDraft) -> Failure | None:
        return self.capabilities.refusal(contact)

    def warnings_for(self, contact: ContactDraft) -> list[str]:
        return self.capabilities.warnings(contact)

    # -- upsert -----------------------------------------------------------------------------

    async def upsert(self, contact: ContactDraft) -> UpsertResult:
        return await self._write(contact, await self.names.prepare(contact, refresh=True))

    async def _write(self, contact: ContactDraft, prepared: Prepared) -> UpsertResult:
        """One upsert, under the contact's lock: a REPLACE reads the contact and resends what
        it keeps, and a write of the same contact in between would be silently undone."""
        assert contact.email is not None  # check() refused it otherwise
        async with self.runtime.locks.hold(contact_key(contact.email)):
            return await self._upsert(contact, prepared)

    async def _upsert(self, contact: ContactDraft, prepared: Prepared) -> UpsertResult:
        assert contact.email is not None
        body: dict[str, Any] = {"email_address": contact.email, "fields": prepared.fields}
        status = contact.status.value if contact.status else None
        created: bool | None = None
        tag_ids = prepared.tag_ids
        if contact.field_mode is FieldMode.MERGE:
            body["partial_update"] = True  # what is not sent is kept
            if dryrun.current() is not None:
                # A real call leaves a new contact's required fields to CampaignLark, whose
                # refusal only a write gets; a dry run finds it out with a read instead.
                current = await self._find_by_email(contact.email, missing_ok=True)
                created = current is None
                if created:
                    await self.names.check_required(prepared.fields, prepared.names)
        else:
            # A full upsert replaces fields, tags and status: resend what the client left out.
            current = await self._find_by_email(contact.email, missing_ok=True)
            created = current is None
            fields = self._kept_standard(current) if current else {}
            fields.update(prepared.fields)
            await self.names.check_required(fields, prepared.names)
            body["fields"] = fields
            body["partial_update"] = False
            if current is not None:
                tag_ids = wire.tag_ids_of(current) if tag_ids is None else tag_ids
                status = status or wire.status_of(current)
        if tag_ids is not None:
            body["tags"] = tag_ids
        if status is not None:
            body["status"] = status
        reply = await self._call("POST", "/v1/contacts/upsert", body, prepared.names)
        raw = wire.contact_of(self.http, reply)
        if created is None:
            created = reply.status == 201 or wire.timestamps_equal(raw)
        return UpsertResult(
            contact=wire.record_of(raw, contact.email, self.settings.phone_merge_tag),
            created=created,
        )

    def _kept_standard(self, current: Mapping[str, Any]) -> dict[str, FieldValue]:
        """A REPLACE replaces custom fields; the names and phone have inputs of their own."""
        data = current.get("data")
        data = data if isinstance(data, dict) else {}
        kept = (FIRST_NAME_TAG, LAST_NAME_TAG, self.settings.phone_merge_tag)
        return {tag: data[tag] for tag in kept if tag and wire.is_value(data.get(tag))}

    # -- bulk -------------------------------------------------------------------------------

    async def bulk_upsert(self, items: Sequence[IndexedContact]) -> BulkResult:
        async def prepare(items: Sequence[IndexedContact]) -> dict[int, Prepared | Failure]:
            await self.names.preload([item.contact for item in items])
            prepared: dict[int, Prepared | Failure] = {}
            for item in items:
                try:
                    prepared[item.index] = await self.names.prepare(item.contact, refresh=False)
                except ProviderError as error:
                    prepared[item.index] = error.failure
            return prepared

        return await one_by_one(
            self.provider,
            items,
            prepare=prepare,
            write=lambda item, prepared: self._write(item.contact, prepared),
            key=lambda contact: (contact.email or "").casefold(),
            concurrency=self.runtime.bulk_concurrency,
            deadline_seconds=self.runtime.deadline_seconds,
        )

    # -- custom fields ----------------------------------------------------------------------

    async def update_fields(
        self, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult:
        if not (ref.id or ref.email):
            raise ProviderError.of(
                E.MISSING_EMAIL,
                "CampaignLark finds a contact by its email or its id; give contact.email or "
                "contact.id",
                field="email",
            )
        if ref.id and not _CONTACT_ID.match(ref.id):
            raise ProviderError.of(
                E.INVALID_CONTACT_ID,
                "a CampaignLark contact id is 24 hexadecimal characters",
                field="id",
            )
        if not fields and mode is FieldMode.MERGE:
            raise ProviderError.of(
                E.MISSING_FIELDS, "give at least one field to update", field="customFields"
            )
        wanted, names = await self.names.checked(
            [(key, value, f"customFields.{key}") for key, value in fields.items()], refresh=True
        )
        # The update reads the contact and writes back what it read (the status, and for
        # REPLACE the tags and names): under the contact's lock, as every write of it is.
        # By id, the email (the lock's key) is known once read: read again under the lock.
        email = ref.email
        if ref.id:
            email = wire.record_of(await self._find_by_id(ref.id), None, None).email
        if not email:
            raise wire.unreadable(self.provider, "a contact without an email address")
        async with self.runtime.locks.hold(contact_key(email)):
            current = await (
                self._find_by_id(ref.id) if ref.id else self._find_existing_by_email(email)
            )
            return await self._update(ref, current, wanted, names, mode)

    async def _find_existing_by_email(self, email: str) -> dict[str, Any]:
        found = await self._find_by_email(email, missing_ok=False)
        assert found is not None
        return found

    async def _update(
        self,
        ref: ContactRef,
        current: dict[str, Any],
        wanted: dict[str, FieldValue],
        names: Mapping[str, str],
        mode: FieldMode,
    ) -> FieldsResult:
        status = wire.status_of(current)
        if status is None:
            raise wire.unreadable(self.provider, "a contact without a status")
        if mode is FieldMode.MERGE:
            # PUT requires a status: resend the current one so only fields change.
            reply = await self._call(
                "PUT",
                f"/v1/contacts/{quote(str(current['id']), safe='')}",
                {"fields": wanted, "status": status},
                names,
            )
        else:
            email = wire.record_of(current, ref.email, self.settings.phone_merge_tag).email
            if not email:
                raise wire.unreadable(self.provider, "a contact without an email address")
            if EMAIL_TAG in wanted and wanted[EMAIL_TAG] != email:
                raise ProviderError.of(
                    E.INVALID_CUSTOM_FIELDS,
                    f"{EMAIL_TAG} is the contact's key: change it with mode MERGE",
                    field=f"customFields.{EMAIL_TAG}",
                )
            replaced = {**self._kept_standard(current), **wanted}
            replaced.pop(EMAIL_TAG, None)
            await self.names.check_required(replaced, names)
            body = {
                "email_address": email,
                "fields": replaced,
                "tags": wire.tag_ids_of(current),
                "status": status,
                "partial_update": False,
            }
            reply = await self._call("POST", "/v1/contacts/upsert", body, names)
        raw = wire.contact_of(self.http, reply)
        record = wire.record_of(raw, ref.email, self.settings.phone_merge_tag)
        return FieldsResult(contact=record, custom_fields=record.custom_fields or {})

    # -- the wire ---------------------------------------------------------------------------

    async def _find_by_email(self, email: str, *, missing_ok: bool) -> dict[str, Any] | None:
        try:
            reply = await self.http.call(
                "GET", "/v1/contacts/by-email", params={"email": email}, headers=self._auth
            )
        except ProviderError as error:
            if missing_ok and error.failure.code is E.CONTACT_NOT_FOUND:
                return None
            raise
        return wire.contact_of(self.http, reply)

    async def _find_by_id(self, contact_id: str) -> dict[str, Any]:
        reply = await self.http.call(
            "GET", f"/v1/contacts/{quote(contact_id, safe='')}", headers=self._auth
        )
        return wire.contact_of(self.http, reply)

    async def _call(
        self, method: str, path: str, body: dict[str, Any], names: Mapping[str, str]
    ) -> Reply:
        try:
            return await self.http.call(
                method, path, json_body=body, headers=self._auth, write=True
            )
        except ProviderError as error:
            raise await self.names.located(error, names) from None

    async def field_definitions(self) -> list[FieldDefinition]:
        fields = await self.names.fields.entries()
        return [
            FieldDefinition(info.merge_tag, info.label, info.required)
            for info in sorted(fields.values(), key=lambda info: info.merge_tag)
            if info.merge_tag != EMAIL_TAG  # the contact's key: written as `email`
        ]

    async def tag_names(self) -> list[str]:
        return sorted(await self.names.tags.entries())

    async def _load_fields(self) -> dict[str, FieldInfo]:
        reply = await self.http.call("GET", "/v1/fields", headers=self._auth)
        return wire.read_fields(wire.listing(self.provider, reply, "field list"))

    async def _load_tags(self) -> dict[str, int]:
        tags: dict[str, int] = {}
        for page in range(1, wire.MAX_TAG_PAGES + 1):
            reply = await self.http.call(
                "GET",
                "/v1/tags",
                params={"page": str(page), "limit": str(wire.TAG_PAGE_SIZE)},
                headers=self._auth,
            )
            entries = wire.listing(self.provider, reply, "tag list")
            wire.read_tags(entries, tags)
            if len(entries) < wire.TAG_PAGE_SIZE or wire.last_page(reply.body, page):
                break
        return tags
