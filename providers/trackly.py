"""Trackly SMS adapter: contacts keyed by (phone, sending list), custom fields per list.

Wire format: JSON, E.164 with '+', key in `X-Api-Key`, errors `{"error": text, "code": code}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, field_validator

from providers.base import ProviderSpec, Runtime, not_stored
from providers.bulk import merge_into, run_chunks
from providers.errors import ErrorCode, Failure, ProviderError
from providers.errortable import ErrorRule, ErrorTable
from providers.http import ProviderHttp, as_int, as_str, as_strings, compact_json
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
    TracklyOptions,
    UpsertResult,
)
from providers.settings import ProviderSettings, secret

E = ErrorCode
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

ERROR_TABLE = ErrorTable(
    [
        ErrorRule(E.MISSING_PHONE_NUMBER, "missing_phone_number", field="phone"),
        ErrorRule(E.MISSING_LIST_NUMBER, "missing_list_number", field="listNumber"),
        ErrorRule(E.MISSING_CUSTOM_FIELDS, "missing_custom_fields", field="customFields"),
        ErrorRule(E.INVALID_CUSTOM_FIELDS, "invalid_custom_fields", field="customFields"),
        ErrorRule(E.INVALID_PHONE, "invalid_phone", field="phone"),
        ErrorRule(E.INVALID_LIST_NUMBER, "invalid_list_number", field="listNumber"),
        ErrorRule(E.CONTACT_NOT_FOUND, "contact_not_found", field="phone"),
        ErrorRule(E.LIST_NOT_FOUND, "list_not_found", field="listNumber"),
        ErrorRule(E.LIST_CONTACT_NOT_FOUND, "list_contact_not_found", field="listNumber"),
        ErrorRule(E.NOT_SENDABLE, "not_sendable", field="phone"),
        ErrorRule(E.MISSING_CONTACTS, "missing_contacts", field="contacts"),
        ErrorRule(E.UNAUTHORIZED, "unauthorized"),
        ErrorRule(E.UNAUTHORIZED, "missing_api_key"),
        ErrorRule(E.UNAUTHORIZED, "invalid_api_key"),
        ErrorRule(E.PAYMENT_REQUIRED, "no_billing_config", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, "no_payment_method", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, "payment_failed", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, "suspended", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, status=402),  # a 402 code the docs do not list yet
        ErrorRule(E.PRODUCT_NOT_ENABLED, re.compile(r"^[a-z0-9_]+_not_enabled$")),
        ErrorRule(E.FORBIDDEN, status=403),  # "account suspended", often without a code
        ErrorRule(E.TOO_MANY_CONTACTS, "too_many_contacts", field="contacts"),
        ErrorRule(E.PAYLOAD_TOO_LARGE, "payload_too_large"),
        ErrorRule(E.PROVIDER_ERROR, "internal_error"),
        # Bulk per-item codes not already above.
        ErrorRule(E.INVALID_REQUEST, "validation_failed"),
        ErrorRule(E.PROVIDER_ERROR, "provider_error"),
    ]
)


def read_error(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        return None, None
    code, text = body.get("code"), body.get("error")
    return (code if isinstance(code, str) and code else None), (
        text if isinstance(text, str) and text else None
    )


_NO_OPTIONS = TracklyOptions()


class TracklySettings(ProviderSettings):
    base_url: str = "https://app.tracklysms.com/api"
    api_key: SecretStr
    default_list_number: str | None = None

    @field_validator("default_list_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not _E164.match(value):
            raise ValueError("must be an E.164 number with its '+', e.g. +18005551234")
        return value


class TracklyAdapter:
    provider: ClassVar[ProviderName] = ProviderName.TRACKLY
    MAX_ITEMS_PER_REQUEST: ClassVar[int] = 1_000
    MAX_REQUEST_BYTES: ClassVar[int] = 5_000_000
    MAX_CONTACT_BYTES: ClassVar[int] = 4_000
    _NOT_STORED: ClassVar[tuple[tuple[str, str], ...]] = (
        ("email", "email"),
        ("first_name", "firstName"),
        ("last_name", "lastName"),
        ("tags", "tags"),
        ("status", "status"),
    )

    def __init__(self, settings: TracklySettings, client: httpx.AsyncClient, runtime: Runtime):
        self.settings = settings
        self.runtime = runtime
        self.http = ProviderHttp(self.provider, client, ERROR_TABLE, read_error, runtime.guard)
        self._auth = {"X-Api-Key": secret(settings.api_key)}

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
        return not_stored(contact, self.provider, self._NOT_STORED)

    # -- upsert -----------------------------------------------------------------------------

    async def upsert(self, contact: ContactDraft) -> UpsertResult:
        reply = await self.http.call(
            "POST", "/v2/contacts", json_body=self._contact_body(contact), headers=self._auth
        )
        body = self.http.object_of(reply)
        return UpsertResult(
            contact=ContactRecord(
                self.provider, id=str(body.get("contact_id") or contact.phone), phone=contact.phone
            ),
            created=bool(body.get("is_new_contact")),
            list_membership_created=bool(body.get("is_new_list_contact")),
            list_contact_id=as_str(body.get("list_contact_id")),
            journeys_enrolled=as_int(body.get("journeys_enrolled")),
            warnings=tuple(as_strings(body.get("warnings"))),
        )

    def _contact_body(self, contact: ContactDraft) -> dict[str, Any]:
        # Runs once per bulk contact: plain attribute tests, no intermediate tuples.
        options = contact.trackly or _NO_OPTIONS
        body: dict[str, Any] = {
            "phone_number": contact.phone,
            "list_number": contact.list_number or self.settings.default_list_number,
            "use_journeys": contact.enroll_in_journeys,
            # Kept true unless the client says otherwise: it is what makes a retry safe.
            "skip_journey_if_exists": options.skip_journey_if_exists,
        }
        if contact.custom_fields is not None:
            body["custom_fields"] = dict(contact.custom_fields)
            body["override_custom_fields"] = contact.field_mode is FieldMode.REPLACE
        if contact.signup_date is not None:
            body["signup_date"] = contact.signup_date.strftime("%Y-%m-%dT%H:%M:%SZ")
        if contact.ip_address is not None:
            body["ip_address"] = contact.ip_address
        if contact.signup_url is not None:
            body["url"] = contact.signup_url
        if options.ad_network_source is not None:
            body["ad_network_source"] = options.ad_network_source
        if options.ad_network_id is not None:
            body["ad_network_id"] = options.ad_network_id
        return body

    # -- bulk -------------------------------------------------------------------------------

    @property
    def bulk_window(self) -> int:
        """Contacts the service hands over at a time: one full request per concurrent call."""
        return self.MAX_ITEMS_PER_REQUEST * self.runtime.bulk_concurrency

    async def bulk_upsert(self, items: Sequence[IndexedContact]) -> BulkResult:
        local = BulkResult()
        encoded: dict[int, bytes] = {}
        for item in items:
            raw = compact_json(self._contact_body(item.contact))
            if len(raw) > self.MAX_CONTACT_BYTES:
                local.fail(
                    item,
                    Failure(
                        E.PAYLOAD_TOO_LARGE,
                        f"this contact is {len(raw)} bytes once encoded; "
                        f"Trackly accepts at most {self.MAX_CONTACT_BYTES}",
                    ),
                )
            else:
                encoded[item.index] = raw
        chunks = self._chunks([item for item in items if item.index in encoded], encoded)

        async def send(chunk: Sequence[IndexedContact]) -> BulkResult:
            body = b'{"contacts":[' + b",".join(encoded[i.index] for i in chunk) + b"]}"
            reply = await self.http.call(
                "POST", "/v2/contacts/bulk", content=body, headers=self._auth
            )
            return self._bulk_part(chunk, self.http.object_of(reply))

        total = await run_chunks(
            self.provider,
            chunks,
            send,
            concurrency=self.runtime.bulk_concurrency,
            deadline_seconds=self.runtime.deadline_seconds,
        )
        merge_into(total, local)
        return total

    def _chunks(
        self, items: Sequence[IndexedContact], encoded: dict[int, bytes]
    ) -> list[list[IndexedContact]]:
        chunks: list[list[IndexedContact]] = []
        current: list[IndexedContact] = []
        size = len(b'{"contacts":[]}')
        for item in items:
            extra = len(encoded[item.index]) + 1
            if current and (
                len(current) >= self.MAX_ITEMS_PER_REQUEST or size + extra > self.MAX_REQUEST_BYTES
            ):
                chunks.append(current)
                current, size = [], len(b'{"contacts":[]}')
            current.append(item)
            size += extra
        if current:
            chunks.append(current)
        return chunks

    def _bulk_part(self, chunk: Sequence[IndexedContact], body: dict[str, Any]) -> BulkResult:
        part = BulkResult(
            contacts_created=as_int(body.get("contacts_created")),
            list_contacts_created=as_int(body.get("list_contacts_created")),
            journeys_enrolled=as_int(body.get("journeys_enrolled")),
            warnings=as_strings(body.get("warnings")),
        )
        errors = body.get("errors")
        for entry in errors if isinstance(errors, list) else []:
            item = self._item_for(chunk, entry, part)
            if item is None:
                part.warnings.append(
                    "Trackly reported an error for a contact it did not identify: "
                    f"{read_error(entry)[0] or 'no code'}"
                )
                continue
            part.fail(item, self.http.failure(400, entry))
        return part

    @staticmethod
    def _item_for(
        chunk: Sequence[IndexedContact], entry: Any, part: BulkResult
    ) -> IndexedContact | None:
        """The chunk item an error entry is about: by its index, else by its phone."""
        if not isinstance(entry, dict):
            return None
        index = entry.get("index")
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(chunk):
            return chunk[index]
        phone = entry.get("phone_number")
        for item in chunk:
            if phone and item.contact.phone == phone and item.index not in part.errors:
                return item
        return None

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
        reply = await self.http.call(
            "PUT",
            "/v2/contacts",
            json_body={
                "phone_number": ref.phone,
                "list_number": list_number,
                "custom_fields": dict(fields),
                "merge_fields": mode is FieldMode.MERGE,
            },
            headers=self._auth,
        )
        stored = self.http.object_of(reply).get("custom_fields")
        if not isinstance(stored, dict):
            stored = await self._read_fields(ref.phone, list_number)
        record = ContactRecord(self.provider, id=ref.phone, phone=ref.phone, custom_fields=stored)
        return FieldsResult(contact=record, custom_fields=stored)

    async def _read_fields(self, phone: str, list_number: str) -> dict[str, Any]:
        """The list's custom fields, for an update answer that did not carry them."""
        reply = await self.http.call(
            "GET", f"/v2/contacts/{quote(phone, safe='')}", headers=self._auth
        )
        lists = self.http.object_of(reply).get("lists")
        for entry in lists if isinstance(lists, list) else []:
            if isinstance(entry, dict) and list_number in (
                entry.get("list_number"),
                entry.get("phone_number"),
            ):
                fields = entry.get("custom_fields")
                return fields if isinstance(fields, dict) else {}
        return {}


SPEC = ProviderSpec(
    name=ProviderName.TRACKLY,
    settings=TracklySettings,
    build=TracklyAdapter,  # type: ignore[arg-type]
    docs_url="https://docs.tracklysms.com",
)
