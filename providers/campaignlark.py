"""CampaignLark adapter: an email platform; contacts keyed by email, custom fields are merge tags.

Wire format: JSON under `/v1`, `Authorization: Bearer`, answers in a `data` envelope, errors
`{"error": {"message": text}}` with no machine-readable code: the table matches messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr, field_validator

from providers.base import ProviderSpec, Runtime, not_stored
from providers.bulk import merge_into, run_chunks
from providers.campaignlark_catalogue import Catalogue, FieldInfo
from providers.campaignlark_contacts import (
    EMAIL_TAG,
    FIRST_NAME_TAG,
    LAST_NAME_TAG,
    contact_of,
    is_filled,
    is_value,
    record_of,
    status_of,
    tag_ids_of,
    timestamps_equal,
    unreadable,
)
from providers.campaignlark_errors import ERROR_TABLE, REQUIRED_MESSAGE, read_error
from providers.errors import ErrorCode, ErrorKind, Failure, ProviderError
from providers.http import ProviderHttp, Reply
from providers.model import (
    BulkResult,
    ContactDraft,
    ContactRef,
    CustomFields,
    FieldMode,
    FieldsResult,
    FieldValue,
    IndexedContact,
    ProviderName,
    UpsertResult,
)
from providers.settings import ProviderSettings, secret

E = ErrorCode
_CONTACT_ID = re.compile(r"^[0-9a-f]{24}$")
_MERGE_TAG = re.compile(r"^[a-z_]{2,16}$")


class CampaignLarkSettings(ProviderSettings):
    base_url: str = "https://api.campaignlark.com"
    api_key: SecretStr
    phone_merge_tag: str | None = None  # the merge tag that stores a contact's phone
    rate_limit: str | None = "100/second"  # CampaignLark's documented budget per workspace
    # How long the workspace's fields and tags are reused (fleet-wide with Redis).
    catalogue_ttl_seconds: float = Field(default=300.0, gt=0, le=86_400)

    @field_validator("phone_merge_tag")
    @classmethod
    def _merge_tag(cls, value: str | None) -> str | None:
        if value is not None and not _MERGE_TAG.match(value):
            raise ValueError("must be a CampaignLark merge tag: 2 to 16 of a-z and _")
        return value


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A draft checked against the catalogue: merge tag -> value, the input each came from."""

    fields: dict[str, FieldValue]
    names: dict[str, str]
    tag_ids: list[int] | None


class CampaignLarkAdapter:
    provider: ClassVar[ProviderName] = ProviderName.CAMPAIGNLARK
    _NOT_STORED: ClassVar[tuple[tuple[str, str], ...]] = (
        ("list_number", "listNumber"),
        ("signup_date", "signupDate"),
        ("ip_address", "ipAddress"),
        ("signup_url", "signupUrl"),
    )

    def __init__(
        self, settings: CampaignLarkSettings, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.http = ProviderHttp(self.provider, client, ERROR_TABLE, read_error, runtime.guard)
        self._auth = {"Authorization": f"Bearer {secret(settings.api_key)}"}
        self.catalogue = Catalogue(
            self.http, self._auth, runtime.cache, settings.catalogue_ttl_seconds
        )

    # -- checks the gateway can make itself ------------------------------------------------

    def check(self, contact: ContactDraft) -> Failure | None:
        if not contact.email:
            return Failure(
                E.MISSING_EMAIL, "CampaignLark identifies a contact by its email", field="email"
            )
        return None

    def warnings_for(self, contact: ContactDraft) -> list[str]:
        notes = not_stored(contact, self.provider, self._NOT_STORED)
        if contact.enroll_in_journeys:
            notes.append("enrollInJourneys was ignored: CampaignLark has no journeys")
        if contact.phone and not self.settings.phone_merge_tag:
            notes.append(
                "phone was not sent: no providers.campaignlark.phone_merge_tag is configured"
            )
        return notes

    # -- upsert -----------------------------------------------------------------------------

    async def upsert(self, contact: ContactDraft) -> UpsertResult:
        return await self._write(contact, await self._prepare(contact, refresh=True))

    async def _prepare(self, contact: ContactDraft, *, refresh: bool) -> _Prepared:
        fields: dict[str, FieldValue] = dict(contact.custom_fields or {})
        names = {tag: f"customFields.{tag}" for tag in fields}
        if EMAIL_TAG in fields:
            raise ProviderError.of(
                E.INVALID_CUSTOM_FIELDS,
                f"{EMAIL_TAG} is the contact's key: give it as email",
                field=f"customFields.{EMAIL_TAG}",
            )
        standard = (
            (FIRST_NAME_TAG, contact.first_name, "firstName"),
            (LAST_NAME_TAG, contact.last_name, "lastName"),
            (self.settings.phone_merge_tag, contact.phone, "phone"),
        )
        for tag, value, name in standard:
            if tag and value is not None:
                fields[tag], names[tag] = value, name
        await self._check_fields(fields, names, refresh=refresh)
        return _Prepared(fields, names, await self._tag_ids(contact.tags, refresh=refresh))

    async def _write(self, contact: ContactDraft, prepared: _Prepared) -> UpsertResult:
        assert contact.email is not None  # check() refused it otherwise
        body: dict[str, Any] = {"email_address": contact.email, "fields": prepared.fields}
        status = contact.status.value if contact.status else None
        created: bool | None = None
        if contact.field_mode is FieldMode.MERGE:
            body["partial_update"] = True  # what is not sent is kept
            tag_ids = prepared.tag_ids
        else:
            # A full upsert replaces fields, tags and status: resend what the client left out.
            current = await self._find_by_email(contact.email, missing_ok=True)
            created = current is None
            fields = self._kept_standard(current) if current else {}
            fields.update(prepared.fields)
            await self._check_required(fields, prepared.names)
            body["fields"] = fields
            body["partial_update"] = False
            tag_ids = prepared.tag_ids
            if current is not None:
                tag_ids = tag_ids_of(current) if tag_ids is None else tag_ids
                status = status or status_of(current)
        if tag_ids is not None:
            body["tags"] = tag_ids
        if status is not None:
            body["status"] = status
        reply = await self._call("POST", "/v1/contacts/upsert", body, prepared.names)
        raw = contact_of(self.http, reply)
        if created is None:
            created = reply.status == 201 or timestamps_equal(raw)
        return UpsertResult(
            contact=record_of(raw, contact.email, self.settings.phone_merge_tag), created=created
        )

    def _kept_standard(self, current: Mapping[str, Any]) -> dict[str, FieldValue]:
        """A REPLACE replaces custom fields; the names and phone have inputs of their own."""
        data = current.get("data")
        data = data if isinstance(data, dict) else {}
        kept = (FIRST_NAME_TAG, LAST_NAME_TAG, self.settings.phone_merge_tag)
        return {tag: data[tag] for tag in kept if tag and is_value(data.get(tag))}

    # -- bulk: no bulk endpoint, so single upserts fanned out under the shared pacing --------

    async def bulk_upsert(self, items: Sequence[IndexedContact]) -> BulkResult:
        local = BulkResult()
        try:  # one catalogue look-up (and at most one refresh) for the whole import
            keys = _all_keys(items, self.settings.phone_merge_tag)
            if keys:
                await self.catalogue.fields(keys)
            names = {name for item in items for name in item.contact.tags or ()}
            if names:
                await self.catalogue.tag_ids(names)
        except ProviderError as error:
            if error.failure.code.kind in (ErrorKind.AUTHENTICATION, ErrorKind.CONFIGURATION):
                raise
            for item in items:
                local.fail(item, error.failure)
            return local
        ready: dict[int, _Prepared] = {}
        for item in items:
            try:
                ready[item.index] = await self._prepare(item.contact, refresh=False)
            except ProviderError as error:
                local.fail(item, error.failure)

        async def send(chunk: Sequence[IndexedContact]) -> BulkResult:
            [item] = chunk
            result = await self._write(item.contact, ready[item.index])
            return BulkResult(contacts_created=int(result.created))

        total = await run_chunks(
            self.provider,
            [[item] for item in items if item.index in ready],
            send,
            concurrency=self.runtime.bulk_concurrency,
            deadline_seconds=self.runtime.deadline_seconds,
        )
        merge_into(total, local)
        return total

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
        wanted: dict[str, FieldValue] = dict(fields)
        names = {tag: f"customFields.{tag}" for tag in wanted}
        await self._check_fields(wanted, names, refresh=True)
        if ref.id:
            current = await self._find_by_id(ref.id)
        else:
            assert ref.email is not None
            found = await self._find_by_email(ref.email, missing_ok=False)
            assert found is not None
            current = found
        status = status_of(current)
        if status is None:
            raise unreadable(self.provider, "a contact without a status")
        if mode is FieldMode.MERGE:
            # PUT requires a status: resend the current one so only fields change.
            reply = await self._call(
                "PUT",
                f"/v1/contacts/{quote(str(current['id']), safe='')}",
                {"fields": wanted, "status": status},
                names,
            )
        else:
            email = record_of(current, ref.email, self.settings.phone_merge_tag).email
            if not email:
                raise unreadable(self.provider, "a contact without an email address")
            if EMAIL_TAG in wanted and wanted[EMAIL_TAG] != email:
                raise ProviderError.of(
                    E.INVALID_CUSTOM_FIELDS,
                    f"{EMAIL_TAG} is the contact's key: change it with mode MERGE",
                    field=f"customFields.{EMAIL_TAG}",
                )
            replaced = {**self._kept_standard(current), **wanted}
            replaced.pop(EMAIL_TAG, None)
            await self._check_required(replaced, names)
            body = {
                "email_address": email,
                "fields": replaced,
                "tags": tag_ids_of(current),
                "status": status,
                "partial_update": False,
            }
            reply = await self._call("POST", "/v1/contacts/upsert", body, names)
        raw = contact_of(self.http, reply)
        record = record_of(raw, ref.email, self.settings.phone_merge_tag)
        return FieldsResult(contact=record, custom_fields=record.custom_fields or {})

    # -- reading contacts -------------------------------------------------------------------

    async def _find_by_email(self, email: str, *, missing_ok: bool) -> dict[str, Any] | None:
        try:
            reply = await self.http.call(
                "GET", "/v1/contacts/by-email", params={"email": email}, headers=self._auth
            )
        except ProviderError as error:
            if missing_ok and error.failure.code is E.CONTACT_NOT_FOUND:
                return None
            raise
        return contact_of(self.http, reply)

    async def _find_by_id(self, contact_id: str) -> dict[str, Any]:
        reply = await self.http.call(
            "GET", f"/v1/contacts/{quote(contact_id, safe='')}", headers=self._auth
        )
        return contact_of(self.http, reply)

    # -- the catalogue, and errors named after the client's input ---------------------------

    async def _check_fields(
        self, fields: Mapping[str, FieldValue], names: Mapping[str, str], *, refresh: bool
    ) -> None:
        if not fields:
            return
        catalogue = await self.catalogue.fields(fields.keys(), refresh_on_miss=refresh)
        for tag, value in fields.items():
            info = catalogue.get(tag)
            if info is None:
                hint = " (providers.campaignlark.phone_merge_tag)" if names[tag] == "phone" else ""
                raise ProviderError.of(
                    E.UNKNOWN_FIELD,
                    f"CampaignLark has no field with the merge tag {tag!r}{hint}",
                    field=names[tag],
                )
            if info.required and not is_filled(value):
                raise _required(info, names[tag])

    async def _check_required(
        self, fields: Mapping[str, FieldValue], names: Mapping[str, str]
    ) -> None:
        """The complete field set a full replace leaves: every required field must be in it."""
        for info in (await self.catalogue.fields(refresh_on_miss=False)).values():
            tag = info.merge_tag
            if info.required and tag != EMAIL_TAG and not is_filled(fields.get(tag)):
                raise _required(info, names.get(tag, f"customFields.{tag}"))

    async def _tag_ids(self, tags: Sequence[str] | None, *, refresh: bool) -> list[int] | None:
        if tags is None:
            return None
        found = await self.catalogue.tag_ids(tags, refresh_on_miss=refresh)
        for position, name in enumerate(tags):
            if name not in found:
                raise ProviderError.of(
                    E.UNKNOWN_TAG,
                    f"CampaignLark has no tag named {name!r} in this workspace",
                    field=f"tags[{position}]",
                )
        return list(dict.fromkeys(found[name] for name in tags))

    async def _call(
        self, method: str, path: str, body: dict[str, Any], names: Mapping[str, str]
    ) -> Reply:
        try:
            return await self.http.call(method, path, json_body=body, headers=self._auth)
        except ProviderError as error:
            raise await self._located(error, names) from None

    async def _located(self, error: ProviderError, names: Mapping[str, str]) -> ProviderError:
        """Name the client's input in a write's error; drop a catalogue the provider disowned."""
        failure = error.failure
        if failure.code is E.UNKNOWN_TAG:
            self.catalogue.forget_tags()
        elif failure.code is E.UNKNOWN_FIELD:
            self.catalogue.forget_fields()
            tag = (failure.field or "").removeprefix("customFields.")
            failure = failure.with_field(names.get(tag, failure.field))
        elif failure.code is E.REQUIRED_FIELD_MISSING:
            found = REQUIRED_MESSAGE.search(failure.provider_code or "")
            try:  # the message names the field by label; the client knows it by merge tag
                catalogue = await self.catalogue.fields(refresh_on_miss=False)
            except ProviderError:
                catalogue = {}
            labels = {info.label.casefold(): tag for tag, info in catalogue.items()}
            named = labels.get(found.group("label").casefold()) if found else None
            if named is not None:
                failure = failure.with_field(names.get(named, f"customFields.{named}"))
        return ProviderError(failure, status=error.status, reached=error.reached)


def _required(info: FieldInfo, name: str) -> ProviderError:
    return ProviderError.of(
        E.REQUIRED_FIELD_MISSING,
        f"CampaignLark requires the field {info.label!r} ({info.merge_tag}) to have a value",
        field=name,
    )


def _all_keys(items: Sequence[IndexedContact], phone_tag: str | None) -> set[str]:
    """Every merge tag the import will write."""
    keys: set[str] = set()
    for item in items:
        contact = item.contact
        keys.update(contact.custom_fields or {})
        standard = (
            (FIRST_NAME_TAG, contact.first_name),
            (LAST_NAME_TAG, contact.last_name),
            (phone_tag, contact.phone),
        )
        keys.update(tag for tag, value in standard if tag and value is not None)
    return keys


SPEC = ProviderSpec(
    name=ProviderName.CAMPAIGNLARK,
    settings=CampaignLarkSettings,
    build=CampaignLarkAdapter,  # type: ignore[arg-type]
    docs_url="https://docs.campaignlark.com",
)
