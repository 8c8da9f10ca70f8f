"""Heymarket contact writes: look up, then create or update.

Heymarket overwrites first and last name on every update, so an update always sends the
current ones back unless the client gives new ones. A create is never re-sent blindly: when
its answer is lost, the phone is looked up once and an existing contact is taken as created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.errors import ErrorCode, Failure, Origin, ProviderError
from providers.heymarket import wire
from providers.heymarket.auth import JwtMinter, LegacyKey
from providers.heymarket.names import NameMap, Prepared
from providers.http import ProviderHttp, Reply
from providers.model import (
    ContactDraft,
    ContactRecord,
    ContactRef,
    CustomFields,
    FieldMode,
    FieldsResult,
    ProviderName,
    UpsertResult,
)

E = ErrorCode
HEYMARKET = ProviderName.HEYMARKET
_LOST_ANSWER = frozenset({502, 504})  # the create may have happened behind these
LOST_CREATE_WARNING = (
    "Heymarket's answer to the create was lost; the contact was found by its phone afterwards"
)


class ContactWriter:
    def __init__(
        self,
        http: ProviderHttp,
        auth: JwtMinter | LegacyKey,
        names: NameMap,
    ) -> None:
        self.http = http
        self.auth = auth
        self.names = names

    # -- upsert -----------------------------------------------------------------------------

    async def upsert(self, prepared: Prepared) -> UpsertResult:
        assert prepared.contact.phone is not None
        existing = await self.lookup({"phone": wire.wire_phone(prepared.contact.phone)})
        if existing is None:
            return await self._create(prepared)
        body = wire.contact_body(prepared.contact, prepared.custom, prepared.tag_ids)
        _keep_names(body, existing)
        reply = await self._write("PUT", f"/v1/contact/{existing.id}", body, prepared.overwrite)
        ident = wire.read_id(self.http.object_of(reply).get("id")) or existing.id
        merged = _after(existing.custom, prepared.custom, prepared.overwrite)
        return await self._result(prepared, ident, existing.email, merged, created=False)

    async def _create(self, prepared: Prepared) -> UpsertResult:
        body = wire.contact_body(prepared.contact, prepared.custom, prepared.tag_ids)
        try:
            reply = await self._write("POST", "/v1/contact", body, None, idempotent=False)
        except ProviderError as error:
            found = await self._after_lost_create(error, body["phone"])
            return await self._result(
                prepared,
                found.id,
                found.email,
                found.custom,
                created=True,
                warnings=(LOST_CREATE_WARNING,),
            )
        ident = wire.read_id(self.http.object_of(reply).get("id"))
        if ident is None:
            raise ProviderError(
                Failure(
                    E.PROVIDER_ERROR,
                    "Heymarket answered the create without a contact id",
                    provider=HEYMARKET,
                    origin=Origin.TRANSPORT,
                )
            )
        return await self._result(prepared, ident, None, prepared.custom or {}, created=True)

    async def _after_lost_create(self, error: ProviderError, phone: str) -> wire.Existing:
        """The contact a create made although its answer was lost; else the create's error."""
        lost = (
            error.failure.code in (E.TIMEOUT, E.UNAVAILABLE) and error.reached
        ) or error.status in _LOST_ANSWER
        if not lost:
            raise error
        try:
            found = await self.lookup({"phone": phone})
        except ProviderError:
            raise error from None
        if found is None:
            raise error
        return found

    async def _result(
        self,
        prepared: Prepared,
        ident: int,
        email: str | None,
        custom: Mapping[str, Any],
        *,
        created: bool,
        warnings: tuple[str, ...] = (),
    ) -> UpsertResult:
        record = ContactRecord(
            HEYMARKET,
            id=str(ident),
            phone=prepared.contact.phone,
            email=prepared.contact.email or email,
            custom_fields=await self.names.by_name(custom),
        )
        return UpsertResult(contact=record, created=created, warnings=warnings)

    # -- custom fields ----------------------------------------------------------------------

    async def update_fields(
        self, ref: ContactRef, fields: CustomFields, mode: FieldMode
    ) -> FieldsResult:
        path_of, existing_query, where = _target(ref)
        [prepared] = await self.names.prepare([ContactDraft(custom_fields=fields, field_mode=mode)])
        if isinstance(prepared, Failure):
            raise ProviderError(prepared)
        existing = await self.lookup(existing_query)
        if existing is None:
            raise ProviderError(
                Failure(
                    E.CONTACT_NOT_FOUND,
                    f"Heymarket has no contact with this {where}",
                    provider=HEYMARKET,
                    field=where,
                )
            )
        if (
            ref.id
            and wire.is_uuid(ref.id)
            and existing.uuid
            and not _same_uuid(existing.uuid, ref.id)
        ):
            raise ProviderError.of(
                E.INVALID_CONTACT_ID,
                "contact.id and contact.phone name two different Heymarket contacts",
                field="id",
                provider=HEYMARKET,
            )
        body: dict[str, Any] = {
            "phone": existing.phone or wire.wire_phone(ref.phone or ""),
            "custom": prepared.custom or {},
        }
        _keep_names(body, existing)
        reply = await self._write("PUT", path_of(existing.id), body, prepared.overwrite)
        answer = self.http.object_of(reply)  # v1 answers {id, rev, uuid}; v2 the contact
        answered = wire.read_contact(answer)
        stored = (
            answered.custom
            if answered is not None and "custom" in _object(answer)
            else _after(existing.custom, prepared.custom, prepared.overwrite)
        )
        named = await self.names.by_name(stored)
        phone = existing.phone or (ref.phone or "")
        record = ContactRecord(
            HEYMARKET,
            id=str(existing.id),
            phone=phone if phone.startswith("+") or not phone else f"+{phone}",
            email=existing.email,
            custom_fields=named,
        )
        return FieldsResult(contact=record, custom_fields=named)

    # -- the wire ---------------------------------------------------------------------------

    async def lookup(self, query: dict[str, Any]) -> wire.Existing | None:
        """The contact for {"phone": ...} or {"id": ...}; None when Heymarket has none."""
        try:
            reply = await self.http.call(
                "POST", "/v1/contact/get", json_body=query, headers=self.auth.headers()
            )
        except ProviderError as error:
            if error.failure.code is E.CONTACT_NOT_FOUND:
                return None
            raise
        found = wire.read_contact(reply.body)
        if found is None:
            raise ProviderError(
                Failure(
                    E.PROVIDER_ERROR,
                    "Heymarket answered a contact lookup without a contact id",
                    provider=HEYMARKET,
                    origin=Origin.TRANSPORT,
                )
            )
        return found

    async def _write(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        overwrite: bool | None,
        *,
        idempotent: bool = True,
    ) -> Reply:
        params = None if overwrite is None else {"overwrite": "true" if overwrite else "false"}
        try:
            return await self.http.call(
                method,
                path,
                json_body=body,
                params=params,
                headers=self.auth.headers(),
                idempotent=idempotent,
                write=True,
            )
        except ProviderError as error:
            # The provider refused an id taken from a cached map: fetch the map next time.
            if error.failure.code is E.UNKNOWN_TAG:
                self.names.tags.invalidate()
            elif error.failure.code is E.INVALID_CUSTOM_FIELDS:
                self.names.fields.invalidate()
            raise


def _target(ref: ContactRef) -> tuple[Any, dict[str, Any], str]:
    """(path for the update, lookup query, the ref field the lookup is by); no call made."""
    if ref.id:
        if wire.is_integer_id(ref.id):
            return (lambda ident: f"/v1/contact/{ident}"), {"id": int(ref.id)}, "id"
        if not wire.is_uuid(ref.id):
            raise ProviderError.of(
                E.INVALID_CONTACT_ID,
                f"{ref.id!r} is neither a Heymarket integer id (v1) nor a UUID (v2)",
                field="id",
            )
        if not ref.phone:
            raise ProviderError.of(
                E.MISSING_PHONE_NUMBER,
                "Heymarket's v2 update needs the contact's phone with its UUID; "
                "give contact.phone too, or the integer id",
                field="phone",
            )
        uuid = ref.id.lower()
        return (lambda ident: f"/v2/contact/{uuid}"), _by_phone(ref.phone), "phone"
    if ref.phone:
        return (lambda ident: f"/v1/contact/{ident}"), _by_phone(ref.phone), "phone"
    raise ProviderError.of(
        E.MISSING_PHONE_NUMBER,
        "Heymarket finds a contact by its id or its phone (not by email); "
        "give contact.id or contact.phone",
        field="phone",
    )


def _same_uuid(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _by_phone(phone: str) -> dict[str, Any]:
    return {"phone": wire.wire_phone(phone)}


def _keep_names(body: dict[str, Any], existing: wire.Existing) -> None:
    """Heymarket overwrites both names on every update: send the current ones back."""
    if "first" not in body and existing.first is not None:
        body["first"] = existing.first
    if "last" not in body and existing.last is not None:
        body["last"] = existing.last


def _after(
    current: Mapping[str, Any], sent: Mapping[str, Any] | None, overwrite: bool
) -> dict[str, Any]:
    """The custom values Heymarket holds after an update (its answer does not carry them)."""
    if sent is None:
        return dict(current)
    return dict(sent) if overwrite else {**current, **sent}


def _object(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("contact"), dict):
        return body["contact"]  # type: ignore[no-any-return]
    return body if isinstance(body, dict) else {}
