"""A CampaignLark simulator that follows the provider notes: an independent fake of the API.

It never imports the adapter, so a misunderstanding cannot agree with itself.

Sandbox data:
- API key `SANDBOX_API_KEY` (`Authorization: Bearer`); no key or another key is 401.
- Workspace fields: email_address (required), first_name, last_name, phone_number, plan,
  score, and lead_source ("Lead source", required: a new contact needs it).
- Tags 1 newsletter, 2 customers, 3 vip, 4 beta.
- 100 requests per second per workspace (constructor parameters); more is 429.

Where the notes are silent the simulator chooses, and says so here: a contact created by an
upsert without a status is SUBSCRIBED, as is one fully replaced without a status; PUT merges the
fields it is sent; `GET /v1/contacts/:id` answers the contact or 404.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from providers.simulator.base import Endpoint, RateWindow, Refusal, Simulator

SANDBOX_API_KEY = "cl_sandbox_" + "5a" * 16
SANDBOX_PHONE_MERGE_TAG = "phone_number"  # the merge tag the sandbox account keeps phones in
STATUSES = ("SUBSCRIBED", "UNSUBSCRIBED", "UNCONFIRMED", "CLEANED", "COMPLAINED")
CONTACT_ID = re.compile(r"^[0-9a-f]{24}$")


@dataclass
class FieldDef:
    id: int
    label: str
    merge_tag: str
    type: str = "text"
    required: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "merge_tag": self.merge_tag,
            "type": self.type,
            "required": self.required,
        }


def default_fields() -> list[FieldDef]:
    return [
        FieldDef(1, "Email address", "email_address", "email", required=True),
        FieldDef(2, "First name", "first_name"),
        FieldDef(3, "Last name", "last_name"),
        FieldDef(4, "Phone number", "phone_number", "phone"),
        FieldDef(5, "Plan", "plan"),
        FieldDef(6, "Score", "score", "number"),
        FieldDef(7, "Lead source", "lead_source", required=True),
    ]


def default_tags() -> dict[int, str]:
    return {1: "newsletter", 2: "customers", 3: "vip", 4: "beta"}


@dataclass
class Contact:
    id: str
    status: str
    data: dict[str, Any]
    tags: list[int]
    created_at: datetime
    updated_at: datetime


class LarkFailure(Refusal):
    """CampaignLark's error body: `{"error": {"message": text}}`; it has no codes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, {"error": {"message": message}})


class CampaignLarkSimulator(Simulator):
    def __init__(
        self,
        api_key: str = SANDBOX_API_KEY,
        *,
        rate_limit: int = 100,
        rate_period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_key = api_key
        self.fields: list[FieldDef] = default_fields()
        self.tags: dict[int, str] = default_tags()
        self.contacts: dict[str, Contact] = {}
        self._ids = itertools.count(0x64F1A2B3C4D5E6F7A8B90000)
        super().__init__(
            [
                Endpoint("/v1/contacts/upsert", "POST", lambda _, body: self._upsert(body)),
                Endpoint("/v1/contacts/by-email", "GET", self._by_email),
                Endpoint("/v1/contacts", "POST", lambda _, body: self._create(body), status=201),
                Endpoint("/v1/contacts/{id}", "GET", self._get),
                Endpoint("/v1/contacts/{id}", "PUT", self._update),
                Endpoint(
                    "/v1/fields", "GET", lambda _, __: {"data": [f.public() for f in self.fields]}
                ),
                Endpoint("/v1/tags", "GET", self._list_tags),
                Endpoint("/v1/tags", "POST", lambda _, body: self._create_tag(body), status=201),
            ],
            RateWindow(rate_limit, rate_period, clock),
        )

    # -- helpers for tests and the sandbox --------------------------------------------------

    def find(self, email: str) -> Contact | None:
        wanted = email.lower()
        for contact in self.contacts.values():
            if str(contact.data.get("email_address", "")).lower() == wanted:
                return contact
        return None

    def tag_names(self, contact: Contact) -> list[str]:
        return [self.tags[i] for i in contact.tags if i in self.tags]

    # -- the shared plumbing, in CampaignLark's words -----------------------------------------

    def authenticate(self, request: Request) -> str:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise LarkFailure(401, "Please provide a valid API key in the Authorization header.")
        if token != self.api_key:
            raise LarkFailure(401, "The API key you provided is invalid or has been revoked.")
        return token

    def failure(self, status: int, message: str, code: str | None = None) -> Refusal:
        return LarkFailure(status, message)

    def not_json(self) -> Refusal:
        return LarkFailure(400, "The request body is not valid JSON.")

    def rate_limited(self) -> Refusal:
        return LarkFailure(429, "Too many requests. Please slow down.")

    # -- reads --------------------------------------------------------------------------------

    def _get(self, request: Request, _: Any) -> dict[str, Any]:
        return {"data": self._public(self._by_id(request.path_params["id"], status=404))}

    def _by_email(self, request: Request, _: Any) -> dict[str, Any]:
        contact = self.find(request.query_params.get("email", ""))
        if contact is None:
            raise LarkFailure(404, "We couldn't find a contact with that email address.")
        return {"data": self._public(contact)}

    def _list_tags(self, request: Request, _: Any) -> dict[str, Any]:
        number = _positive(request.query_params.get("page"), 1)
        limit = min(_positive(request.query_params.get("limit"), 25), 100)
        ordered = sorted(self.tags.items())
        chunk = ordered[(number - 1) * limit : number * limit]
        return {
            "data": [{"id": i, "name": name} for i, name in chunk],
            "pagination": {
                "page": number,
                "limit": limit,
                "total": len(ordered),
                "total_pages": max(1, -(-len(ordered) // limit)),
            },
        }

    def _create_tag(self, body: Any) -> dict[str, Any]:
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise LarkFailure(400, "Please provide a tag name.")
        new_id = max(self.tags, default=0) + 1
        self.tags[new_id] = name.strip()
        return {"data": {"id": new_id, "name": name.strip()}}

    # -- behaviour --------------------------------------------------------------------------

    def _upsert(self, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        email = body.get("email_address")
        if not isinstance(email, str) or not email.strip():
            raise LarkFailure(400, "An email address is required.")
        if "@" not in email:
            raise LarkFailure(400, "The email address you provided is not valid.")
        fields = self._fields(body.get("fields", {}))
        tags = self._tags(body.get("tags"))
        status = self._status(body.get("status"), required=False)
        contact = self.find(email)
        partial = body.get("partial_update") is True
        if contact is None:
            data = {**fields, "email_address": email}
            self._require(data)
            contact = self._new(data, tags or [], status or "SUBSCRIBED")
        elif partial:
            self._require({**contact.data, **fields})
            contact.data.update(fields)
            contact.data["email_address"] = email
            if tags is not None:
                contact.tags = tags
            if status is not None:
                contact.status = status
            self._touch(contact)
        else:  # a full replace: what is not sent is gone
            data = {**fields, "email_address": email}
            self._require(data)
            contact.data, contact.tags = data, tags or []
            contact.status = status or "SUBSCRIBED"
            self._touch(contact)
        return {"data": self._public(contact)}

    def _create(self, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        fields = self._fields(body.get("fields", {}))
        email = fields.get("email_address")
        if not isinstance(email, str) or not email.strip():
            raise LarkFailure(400, "An email address is required.")
        status = self._status(body.get("status"), required=True) or "SUBSCRIBED"
        if self.find(email) is not None:
            raise LarkFailure(409, "A contact with that email address already exists.")
        self._require(fields)
        return {"data": self._public(self._new(fields, self._tags(body.get("tags")) or [], status))}

    def _update(self, request: Request, body: Any) -> dict[str, Any]:
        contact_id = request.path_params["id"]
        if not CONTACT_ID.match(contact_id):
            raise LarkFailure(400, "The contact ID you provided is not valid.")
        body = body if isinstance(body, dict) else {}
        if not isinstance(body.get("fields"), dict) or not body["fields"]:
            raise LarkFailure(400, "Please provide at least one field to update.")
        status = self._status(body.get("status"), required=True)
        fields = self._fields(body["fields"])
        contact = self._by_id(contact_id, status=400)
        tags = self._tags(body.get("tags"))
        self._require({**contact.data, **fields})
        contact.data.update(fields)
        contact.status = status or contact.status
        if tags is not None:
            contact.tags = tags
        self._touch(contact)
        return {"data": self._public(contact)}

    def _by_id(self, contact_id: str, *, status: int) -> Contact:
        if not CONTACT_ID.match(contact_id):
            raise LarkFailure(400, "The contact ID you provided is not valid.")
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise LarkFailure(status, "We couldn't find a contact with that ID.")
        return contact

    def _fields(self, fields: Any) -> dict[str, Any]:
        if not isinstance(fields, dict):
            raise LarkFailure(400, "Please provide at least one field to update.")
        known = {f.merge_tag for f in self.fields}
        for tag in fields:
            if tag not in known:
                raise LarkFailure(400, f"We were unable to find a field with the merge_tag {tag}")
        return dict(fields)

    def _tags(self, tags: Any) -> list[int] | None:
        if tags is None:
            return None
        ids: list[int] = []
        for tag in tags if isinstance(tags, list) else [tags]:
            if not isinstance(tag, int) or tag not in self.tags:
                raise LarkFailure(400, f"Tag ID {tag} does not exist in this workspace")
            if tag not in ids:
                ids.append(tag)
        return ids

    @staticmethod
    def _status(status: Any, *, required: bool) -> str | None:
        if status is None:
            if required:
                raise LarkFailure(400, "Please provide a status.")
            return None
        if status not in STATUSES:
            raise LarkFailure(400, "The status you provided is not valid.")
        return str(status)

    def _require(self, data: dict[str, Any]) -> None:
        for definition in self.fields:
            value = data.get(definition.merge_tag)
            if definition.required and (value is None or str(value).strip() == ""):
                raise LarkFailure(400, f"Field '{definition.label}' is required.")

    def _new(self, data: dict[str, Any], tags: list[int], status: str) -> Contact:
        now = datetime.now(UTC)
        contact = Contact(f"{next(self._ids):024x}", status, dict(data), list(tags), now, now)
        self.contacts[contact.id] = contact
        return contact

    @staticmethod
    def _touch(contact: Contact) -> None:
        # Never equal to created_at, even within one clock tick.
        contact.updated_at = max(datetime.now(UTC), contact.created_at + timedelta(microseconds=1))

    def _public(self, contact: Contact) -> dict[str, Any]:
        return {
            "id": contact.id,
            "status": contact.status,
            "tags": [{"id": i, "name": self.tags[i]} for i in contact.tags if i in self.tags],
            "data": dict(contact.data),
            "statistics": {
                "total_opens": 0,
                "total_clicks": 0,
                "total_bounces": 0,
                "total_delivered": 0,
            },
            "last_opened_at": None,
            "last_clicked_at": None,
            "created_at": _iso(contact.created_at),
            "updated_at": _iso(contact.updated_at),
        }


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _positive(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value > 0 else default
