"""Heymarket adapter: contacts by integer id (v1) or UUID (v2), custom fields and tags by id.

Wire format: JSON, phones in E.164 without '+', a Bearer JWT (or the legacy key), custom values
keyed by numeric field id, errors `{"error": "bad_data", "message": ..., "field": ...}`.
Clients speak field and tag names; two cached catalogues translate them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr, model_validator

from providers import heymarket_bulk
from providers import heymarket_wire as wire
from providers.base import ProviderSpec, Runtime, not_stored
from providers.errors import ErrorCode, Failure, ProviderError
from providers.errortable import ErrorRule, ErrorTable
from providers.heymarket_auth import JwtMinter, LegacyKey
from providers.heymarket_catalog import Catalogue, Clock
from providers.heymarket_contacts import ContactWriter
from providers.heymarket_names import NameMap
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
from providers.settings import ProviderSettings, secret

E = ErrorCode
MAX_TAGS = 5
TAG_PAGE = 30  # Heymarket's page size for POST /v1/tags
MAX_TAG_PAGES = 200
_STORED_STATUSES = (SubscriptionStatus.SUBSCRIBED, SubscriptionStatus.UNSUBSCRIBED)

_NOT_FOUND = re.compile(
    r"\bcontact\b.*\bnot\s+(?:be\s+)?found\b|\bno\s+(?:such\s+)?contact\b", re.I
)

ERROR_TABLE = ErrorTable(
    [
        # 400 bad_data, keyed by the field the body names (see read_error).
        ErrorRule(E.INVALID_REQUEST, "bad_data", status=400),
        ErrorRule(E.INVALID_PHONE, "bad_data (phone)", status=400, field="phone"),
        ErrorRule(E.INVALID_EMAIL, "bad_data (email)", status=400, field="email"),
        ErrorRule(E.INVALID_REQUEST, "bad_data (first)", status=400, field="firstName"),
        ErrorRule(E.INVALID_REQUEST, "bad_data (last)", status=400, field="lastName"),
        ErrorRule(E.INVALID_STATUS, "bad_data (is_opted_out)", status=400, field="status"),
        ErrorRule(E.UNKNOWN_TAG, "bad_data (tags)", status=400, field="tags"),
        ErrorRule(E.CONTACT_NOT_FOUND, "bad_data (contact)", status=400),
        ErrorRule(E.CONTACT_NOT_FOUND, _NOT_FOUND, status=400),  # a bare "Contact not found"
        ErrorRule(
            E.INVALID_REQUEST, "bad_data (display_name)", status=400, field="heymarket.displayName"
        ),
        ErrorRule(E.INVALID_REQUEST, "bad_data (avatar)", status=400, field="heymarket.avatarUrl"),
        ErrorRule(
            E.INVALID_REQUEST, "bad_data (assignee_id)", status=400, field="heymarket.assigneeId"
        ),
        ErrorRule(
            E.INVALID_CUSTOM_FIELDS,
            re.compile(r"^bad_data \(custom(?:\.\d+)?\)$"),
            status=400,
            field="customFields",
        ),
        ErrorRule(E.INVALID_REQUEST, re.compile(r"^bad_data \(.+\)$"), status=400),
        ErrorRule(E.UNAUTHORIZED, status=401),
        ErrorRule(E.FORBIDDEN, status=403),  # "denied"
        ErrorRule(E.RATE_LIMITED, status=429),
        ErrorRule(E.PROVIDER_ERROR, status=500),
    ]
)

_WIRE_FIELDS = re.compile(
    r"\b(phone|email|first|last|custom(?:[.\[]\d+\]?)?|tags?|tag_id|is_opted_out|"
    r"assignee_id|avatar|display_name)\b"
)


def read_error(body: Any) -> tuple[str | None, str | None]:
    """(key for the table, message): the key is the code, plus "(field)" when one is named."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):  # {"error": {"code": ..., "message": ...}}
        body, error = {**body, **error}, error.get("code")
    code = _first_str(error, body.get("code"))
    text = _first_str(body.get("message"), body.get("detail"), body.get("description"))
    if code and " " in code.strip():  # {"error": "Contact not found"}: a message, not a code
        code, text = None, text or code
    if code is None:  # no code: the message is the key, as the contract's providerCode
        return text, text
    field = _field_named(body, text if code == "bad_data" else None)
    return (f"{code} ({field})" if field else code), text


def _field_named(body: dict[str, Any], text: str | None) -> str | None:
    named = _first_str(body.get("field"), body.get("param"))
    if named is None:
        for key in ("fields", "errors"):
            value = body.get(key)
            if isinstance(value, list):
                named = next((v for v in value if isinstance(v, str)), None)
            elif isinstance(value, dict):
                named = next((k for k in value if isinstance(k, str)), None)
            if named:
                break
    if named is None and text:
        if _NOT_FOUND.search(text):
            return "contact"
        found = _WIRE_FIELDS.search(text)
        named = found.group(1) if found else None
    if named is None:
        return None
    named = named.strip().lower().replace("[", ".").rstrip("]")
    return {"tag": "tags", "tag_id": "tags", "id": "contact"}.get(named, named)


def _first_str(*values: Any) -> str | None:
    return next((v for v in values if isinstance(v, str) and v.strip()), None)


class HeymarketSettings(ProviderSettings):
    base_url: str = "https://api.heymarket.com"
    secret_id: SecretStr | None = None
    secret_key: SecretStr | None = None
    rate_limit: str | None = "500/minute"  # Heymarket's documented budget, per key
    # How long the field-id and tag-id maps are trusted before they are fetched again.
    catalogue_ttl_seconds: float = Field(default=300.0, ge=0, le=86_400)

    @model_validator(mode="after")
    def _credentials(self) -> HeymarketSettings:
        if (self.secret_id is None) != (self.secret_key is None):
            raise ValueError("secret_id and secret_key go together (JWT auth): give both")
        if self.secret_id is None and self.api_key is None:
            raise ValueError("give secret_id and secret_key (JWT auth) or api_key (legacy)")
        return self


class HeymarketAdapter:
    provider: ClassVar[ProviderName] = ProviderName.HEYMARKET
    _NOT_STORED: ClassVar[tuple[tuple[str, str], ...]] = (
        ("list_number", "listNumber"),
        ("signup_date", "signupDate"),
        ("ip_address", "ipAddress"),
        ("signup_url", "signupUrl"),
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
        ttl = settings.catalogue_ttl_seconds
        shared = runtime.cache if runtime.cache.shared else None  # the fleet's, with Redis
        self.fields = Catalogue(
            self._load_fields, ttl=ttl, clock=clock, shared=shared, key="fields"
        )
        self.tags = Catalogue(self._load_tags, ttl=ttl, clock=clock, shared=shared, key="tags")
        self.writer = ContactWriter(self.http, self.auth, NameMap(self.fields, self.tags))
        # One admission pace per account, shared by its concurrent imports.
        self.admission = heymarket_bulk.admission_for(settings.rate_limit)

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
        notes = not_stored(contact, self.provider, self._NOT_STORED)
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
        # Paced single calls, not the batch endpoint: see docs/heymarket.md.
        return await heymarket_bulk.bulk_upsert(
            self.writer,
            items,
            provider=self.provider,
            admission=self.admission,
            concurrency=self.runtime.bulk_concurrency,
            deadline_seconds=self.runtime.deadline_seconds,
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


SPEC = ProviderSpec(
    name=ProviderName.HEYMARKET,
    settings=HeymarketSettings,
    build=HeymarketAdapter,  # type: ignore[arg-type]
    docs_url="https://developers.heymarket.com",
)
