"""Trackly SMS adapter: contacts keyed by (phone, sending list), custom fields per list.

Wire format (wire.py): JSON, E.164 with '+', key in `X-Api-Key`, errors
`{"error": text, "code": code}` (errors.py). Writes are upserts keyed on (phone, list), so a
retry after a timeout is safe while `skip_journey_if_exists` stays true.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import quote

import httpx

from providers.base import Runtime
from providers.bulk import fan_out
from providers.capabilities import Capabilities, Stored, rate_limit_of
from providers.errors import ErrorCode, Failure, ProviderError
from providers.http import ProviderHttp, compact_json
from providers.model import (
    BulkResult,
    ContactDraft,
    ContactRecord,
    ContactRef,
    CustomFields,
    FieldDefinition,
    FieldMode,
    FieldsResult,
    IndexedContact,
    ProviderName,
    UpsertResult,
)
from providers.settings import secret
from providers.trackly import wire
from providers.trackly.errors import ERROR_TABLE, read_error
from providers.trackly.settings import TracklySettings

E = ErrorCode


class TracklyAdapter:
    provider: ClassVar[ProviderName] = ProviderName.TRACKLY

    def __init__(self, settings: TracklySettings, client: httpx.AsyncClient, runtime: Runtime):
        self.settings = settings
        self.runtime = runtime
        self.http = ProviderHttp(
            self.provider, client, ERROR_TABLE, read_error, runtime.guard, wire.stand_in
        )
        self._auth = {"X-Api-Key": secret(settings.api_key)}
        self.capabilities = self.describe(settings)
        # The service hands a bulk over this many contacts at a time: one full request per
        # concurrent call, so the next window is checked while this one is on the wire.
        self.bulk_window: int | None = wire.MAX_ITEMS_PER_REQUEST * runtime.bulk_concurrency

    # -- checks the gateway can make itself ------------------------------------------------

    @classmethod
    def describe(cls, settings: TracklySettings | None) -> Capabilities:
        """What a Trackly account stores (`settings` None: one not configured here)."""
        default = settings.default_list_number if settings is not None else None
        required = {"phone": "Trackly needs a phone number"}
        if default is None:
            required["listNumber"] = (
                "Trackly needs a listNumber and no default_list_number is configured"
            )
        return Capabilities(
            provider=cls.provider,
            contact_key="phone",
            required=required,
            update_finds_by=("phone", "listNumber"),
            stored={
                "phone": Stored("phone_number", "E.164 with its '+'"),
                "listNumber": Stored(
                    "list_number",
                    f"defaults to {default}" if default else "required (no default configured)",
                ),
                "customFields": Stored(
                    "custom_fields", "free-form keys, kept per sending list (no catalogue)"
                ),
                "fieldMode": Stored("override_custom_fields", "REPLACE replaces the list's fields"),
                "enrollInJourneys": Stored("use_journeys"),
                "signupDate": Stored("signup_date", "sent in UTC"),
                "ipAddress": Stored("ip_address"),
                "signupUrl": Stored("url"),
                "trackly": Stored("skip_journey_if_exists, ad_network_source, ad_network_id"),
            },
            native_bulk=True,
            max_contacts_per_request=wire.MAX_ITEMS_PER_REQUEST,
            rate_limit=rate_limit_of(TracklySettings, settings),
        )

    def check(self, contact: ContactDraft) -> Failure | None:
        return self.capabilities.refusal(contact)

    def warnings_for(self, contact: ContactDraft) -> list[str]:
        return self.capabilities.warnings(contact)

    # -- upsert -----------------------------------------------------------------------------

    async def upsert(self, contact: ContactDraft) -> UpsertResult:
        body = wire.contact_body(contact, self.settings.default_list_number)
        reply = await self.http.call(
            "POST", "/v2/contacts", json_body=body, headers=self._auth, write=True
        )
        answer = wire.upsert_answer(self.http.object_of(reply))
        return UpsertResult(
            # Trackly's write API finds a contact by its phone, never by an id: the phone is
            # its id in every answer (upsert, bulk, updateContactFields alike).
            contact=ContactRecord(self.provider, id=str(contact.phone), phone=contact.phone),
            created=answer["created"],
            list_membership_created=answer["list_membership_created"],
            list_contact_id=answer["list_contact_id"],
            journeys_enrolled=answer["journeys_enrolled"],
            warnings=answer["warnings"],
        )

    # -- bulk -------------------------------------------------------------------------------

    async def bulk_upsert(self, items: Sequence[IndexedContact]) -> BulkResult:
        refused = BulkResult()
        encoded: dict[int, bytes] = {}
        for item in items:
            raw = compact_json(wire.contact_body(item.contact, self.settings.default_list_number))
            if len(raw) > wire.MAX_CONTACT_BYTES:
                refused.fail(
                    item,
                    Failure(
                        E.PAYLOAD_TOO_LARGE,
                        f"this contact is {len(raw)} bytes once encoded; "
                        f"Trackly accepts at most {wire.MAX_CONTACT_BYTES}",
                    ),
                )
            else:
                encoded[item.index] = raw

        async def send(chunk: Sequence[IndexedContact]) -> BulkResult:
            content = wire.bulk_body([encoded[item.index] for item in chunk])
            reply = await self.http.call(
                "POST", "/v2/contacts/bulk", content=content, headers=self._auth, write=True
            )
            return self._bulk_part(chunk, self.http.object_of(reply))

        total = await fan_out(
            self.provider,
            wire.bulk_chunks([item for item in items if item.index in encoded], encoded),
            send,
            concurrency=self.runtime.bulk_concurrency,
            deadline_seconds=self.runtime.deadline_seconds,
        )
        total.merge(refused)
        return total

    def _bulk_part(self, chunk: Sequence[IndexedContact], body: dict[str, object]) -> BulkResult:
        part = wire.bulk_counts(body)
        for item, entry in wire.bulk_errors(chunk, body):
            if item is None:
                part.warnings.append(
                    "Trackly reported an error for a contact it did not identify: "
                    f"{read_error(entry)[0] or 'no code'}"
                )
            else:
                part.fail(item, self.http.failure(400, entry))
        return part

    # -- custom fields ----------------------------------------------------------------------

    async def update_fields(
        self, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult:
        if not ref.phone:
            raise ProviderError.of(
                E.MISSING_PHONE_NUMBER,
                "Trackly identifies a contact by its phone number; give contact.phone",
                field="phone",
            )
        list_number = ref.list_number or self.settings.default_list_number
        if not list_number:
            raise ProviderError.of(
                E.MISSING_LIST_NUMBER,
                "Trackly keeps custom fields per sending list; give contact.listNumber",
                field="listNumber",
            )
        body = wire.fields_body(ref.phone, list_number, fields, mode)
        reply = await self.http.call(
            "PUT", "/v2/contacts", json_body=body, headers=self._auth, write=True
        )
        stored = self.http.object_of(reply).get("custom_fields")
        if not isinstance(stored, dict):
            # The answer did not carry them (nor does a dry run's stand-in): read the list's.
            # Merging what was sent is a no-op after a real write and, in a dry run, gives
            # what the write would leave.
            lookup = await self.http.call(
                "GET", f"/v2/contacts/{quote(ref.phone, safe='')}", headers=self._auth
            )
            current = wire.list_fields(self.http.object_of(lookup), list_number)
            if current is None:
                raise ProviderError(
                    Failure(
                        E.LIST_CONTACT_NOT_FOUND,
                        "Trackly: the contact is not on this sending list",
                        provider=self.provider,
                        field="listNumber",
                    )
                )
            stored = wire.fields_after(current, fields, mode)
        record = ContactRecord(self.provider, id=ref.phone, phone=ref.phone, custom_fields=stored)
        return FieldsResult(contact=record, custom_fields=stored)

    # -- catalogues: none; custom fields are free-form and there are no tags ------------------

    async def field_definitions(self) -> list[FieldDefinition]:
        return []

    async def tag_names(self) -> list[str]:
        return []
