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

from providers.base import Runtime, not_stored
from providers.bulk import fan_out
from providers.errors import ErrorCode, Failure, ProviderError
from providers.http import ProviderHttp, compact_json
from providers.model import (
    BulkResult,
    ContactDraft,
    ContactRecord,
    ContactRef,
    CustomFields,
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
    # The optional unified inputs it keeps; any other given is said in a warning.
    STORED: ClassVar[frozenset[str]] = frozenset(
        ("listNumber", "signupDate", "ipAddress", "signupUrl")
    )

    def __init__(self, settings: TracklySettings, client: httpx.AsyncClient, runtime: Runtime):
        self.settings = settings
        self.runtime = runtime
        self.http = ProviderHttp(
            self.provider, client, ERROR_TABLE, read_error, runtime.guard, wire.stand_in
        )
        self._auth = {"X-Api-Key": secret(settings.api_key)}
        # The service hands a bulk over this many contacts at a time: one full request per
        # concurrent call, so the next window is checked while this one is on the wire.
        self.bulk_window: int | None = wire.MAX_ITEMS_PER_REQUEST * runtime.bulk_concurrency

    # -- checks the gateway can make itself ------------------------------------------------

    def check(self, contact: ContactDraft) -> Failure | None:
        if not contact.phone:
            return Failure(E.MISSING_PHONE_NUMBER, "Trackly needs a phone number", field="phone")
        if not (contact.list_number or self.settings.default_list_number):
            return Failure(
                E.MISSING_LIST_NUMBER,
                "Trackly needs a listNumber and no default_list_number is configured",
                field="listNumber",
            )
        return None

    def warnings_for(self, contact: ContactDraft) -> list[str]:
        return not_stored(contact, self.provider, self.STORED)

    # -- upsert -----------------------------------------------------------------------------

    async def upsert(self, contact: ContactDraft) -> UpsertResult:
        body = wire.contact_body(contact, self.settings.default_list_number)
        reply = await self.http.call(
            "POST", "/v2/contacts", json_body=body, headers=self._auth, write=True
        )
        answer = wire.upsert_answer(self.http.object_of(reply))
        return UpsertResult(
            contact=ContactRecord(
                self.provider, id=answer["contact_id"] or str(contact.phone), phone=contact.phone
            ),
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
