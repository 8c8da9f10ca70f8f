"""Heymarket contact writes: look up, then create or update, whoever else writes the phone.

Heymarket overwrites first and last name on every update, so an update always sends the
current ones back unless the client gives new ones. A create is never re-sent blindly: when
its answer is lost, the phone is looked up once and an existing contact is taken as created.

Two writers of one new phone (two requests, two gateway processes, an import and a single
upsert) both miss the look-up and both create; Heymarket refuses the second create. That
refusal means "look again": the contact is looked up and updated, a few rounds at most, so
every writer succeeds, one of them with `created: true`, and the last write wins as it would
at the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from providers.errors import ErrorCode, Failure, Origin, ProviderError
from providers.heymarket import wire
from providers.heymarket.auth import JwtMinter, LegacyKey
from providers.heymarket.errors import may_already_exist
from providers.heymarket.ids import ContactIds
from providers.heymarket.names import NameMap, Prepared
from providers.http import Reply
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
# Look-up, then create or update, at most this many times: a create refused because the phone
# was taken meanwhile looks again, and so does an update of a contact deleted meanwhile.
ROUNDS = 3
BATCH_PATH = "/v1/batch/contacts"


class Calls(Protocol):
    """How the writer sends a request: ProviderHttp, or a bulk's paced wrapper around it."""

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
    ) -> Reply: ...

    def object_of(self, reply: Reply) -> dict[str, Any]: ...


class _Look:
    """`existing` not known yet: look the phone up first."""


LOOK = _Look()


@dataclass(frozen=True, slots=True)
class Applied:
    """What a create or an update did: the contact's id, whether it was created, and what it
    holds after the write as far as the gateway knows (Heymarket's write answers carry only
    `{id, rev, uuid}`)."""

    ident: int
    created: bool
    email: str | None
    custom: Mapping[str, Any]
    warnings: tuple[str, ...] = ()


class ContactWriter:
    def __init__(
        self,
        http: Calls,
        auth: JwtMinter | LegacyKey,
        names: NameMap,
        ids: ContactIds,
    ) -> None:
        self.http = http
        self.auth = auth
        self.names = names
        self.ids = ids

    def with_calls(self, http: Calls) -> ContactWriter:
        """The same writer sending through `http` (a bulk's pacing)."""
        return ContactWriter(http, self.auth, self.names, self.ids)

    # -- upsert -----------------------------------------------------------------------------

    async def upsert(self, prepared: Prepared) -> UpsertResult:
        applied = await self.apply(prepared)
        record = ContactRecord(
            HEYMARKET,
            id=str(applied.ident),
            phone=prepared.contact.phone,
            email=prepared.contact.email or applied.email,
            custom_fields=await self.names.by_name(applied.custom),
        )
        return UpsertResult(contact=record, created=applied.created, warnings=applied.warnings)

    async def apply(
        self, prepared: Prepared, existing: wire.Existing | _Look | None = LOOK
    ) -> Applied:
        """Create the contact or update it, starting from `existing` when the caller already
        looked it up (None: it was not there)."""
        assert prepared.contact.phone is not None
        phone = wire.wire_phone(prepared.contact.phone)
        conflict: ProviderError | None = None
        for round_ in range(1, ROUNDS + 1):
            if isinstance(existing, _Look):
                existing = await self.lookup({"phone": phone})
            if existing is None:
                if conflict is not None:
                    raise conflict  # refused as taken, yet nowhere to be found: that answer stands
                try:
                    return await self._create(prepared)
                except ProviderError as error:
                    if round_ == ROUNDS or not may_already_exist(error):
                        raise
                    conflict, existing = error, LOOK  # created meanwhile: look again, update
                    continue
            try:
                return await self._update(prepared, existing)
            except ProviderError as error:
                if round_ == ROUNDS or error.failure.code is not E.CONTACT_NOT_FOUND:
                    raise
                await self.ids.forget(phone)  # deleted since the look-up: look again
                conflict, existing = None, LOOK
        raise AssertionError("unreachable: the last round returns or raises")

    async def put_known(self, prepared: Prepared, ident: int) -> bool:
        """Update the contact at a remembered id, with the names the input gives (a bulk calls
        this only when it gives both). False when the id is stale: forgotten, look it up."""
        assert prepared.contact.phone is not None
        body = wire.contact_body(prepared.contact, prepared.custom, prepared.tag_ids)
        try:
            await self._write("PUT", f"/v1/contact/{ident}", body, prepared.overwrite)
        except ProviderError as error:
            # 404, a refusal naming the contact, or the phone refused (the id now belongs to
            # a contact with another phone): the id no longer stands for this phone.
            if error.failure.code in (E.CONTACT_NOT_FOUND, E.INVALID_PHONE):
                await self.ids.forget(prepared.contact.phone)
                return False
            raise
        await self.ids.remember(prepared.contact.phone, ident)
        return True

    async def batch(self, prepared: list[Prepared]) -> set[str]:
        """Create new contacts in one request; the phones (without '+') that failed.

        `overwrite=false`: a phone that has a contact by now is skipped, never overwritten, so
        a batch sent twice (a retry after a lost answer) creates nothing twice: the second
        finds every contact the first made, and skips it.
        """
        bodies = [wire.contact_body(p.contact, p.custom, p.tag_ids) for p in prepared]
        reply = await self.http.call(
            "POST",
            BATCH_PATH,
            json_body=bodies,
            params={"overwrite": "false"},
            headers=self.auth.headers(),
            idempotent=True,  # see above: re-sending it is safe, whatever the first one did
            write=True,
        )
        failed = wire.batch_failures(reply.body, {body["phone"] for body in bodies})
        if failed is None:
            raise ProviderError(
                Failure(
                    E.PROVIDER_ERROR,
                    "Heymarket answered a batch with something the gateway could not read",
                    provider=HEYMARKET,
                    origin=Origin.TRANSPORT,
                )
            )
        return failed

    async def _update(self, prepared: Prepared, existing: wire.Existing) -> Applied:
        body = wire.contact_body(prepared.contact, prepared.custom, prepared.tag_ids)
        _keep_names(body, existing)
        reply = await self._write("PUT", f"/v1/contact/{existing.id}", body, prepared.overwrite)
        ident = wire.read_id(self.http.object_of(reply).get("id")) or existing.id
        merged = _after(existing.custom, prepared.custom, prepared.overwrite)
        return Applied(ident, False, existing.email, merged)

    async def _create(self, prepared: Prepared) -> Applied:
        body = wire.contact_body(prepared.contact, prepared.custom, prepared.tag_ids)
        try:
            reply = await self._write("POST", "/v1/contact", body, None, idempotent=False)
        except ProviderError as error:
            found = await self._after_lost_create(error, body["phone"])
            return Applied(found.id, True, found.email, found.custom, (LOST_CREATE_WARNING,))
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
        await self.ids.remember(body["phone"], ident, created=True)
        return Applied(ident, True, None, prepared.custom or {})

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
            # Only v2 answers the contact; v1 answers {id, rev, uuid} and the names stay unsaid.
            first_name=answered.first if answered is not None else None,
            last_name=answered.last if answered is not None else None,
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
        phone = query.get("phone") or found.phone
        if isinstance(phone, str):
            await self.ids.remember(phone, found.id)
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
