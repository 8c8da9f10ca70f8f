"""A Heymarket simulator that follows the provider notes: an independent fake of the API.

It never imports the adapter, so a misunderstanding cannot agree with itself. Where the notes
say a behaviour is undocumented, it picks one and says so here:
- a lookup miss answers 404 `{"error": "not_found", "message": "Contact not found"}`;
- 400 bodies are `{"error": "bad_data", "message": ..., "field": <wire field>}`;
- `POST /v1/contact-fields` answers `{"fields": [{"id", "name", "type"}]}`;
- `POST /v1/tags` takes `{"page": n}` (from 1) and answers a bare list of 30 at most;
- a create for a phone that has a contact already is 400 `bad_data` naming `phone`, with the
  message "A contact with this phone already exists." (the notes document only `bad_data` and
  that it names the field; an update giving another contact's phone is refused the same way);
- tags sent on a create or an update replace the contact's tags;
- `POST /v1/batch/contacts?overwrite=false|true` takes a bare array of contacts, each as a
  create takes it, and applies them in order. A phone that has a contact is skipped unless
  `overwrite=true` (then it is written as an update with `overwrite=true`: names overwritten,
  custom values replaced), and a skip is reported nowhere: it is neither a success nor a
  failure. A contact the create would refuse is returned in the answer's array exactly as it
  was sent, without a reason; the answer is `"ok"` when none failed. The whole request counts
  once against the 500-a-minute budget, whatever its size (the notes give no other cost).

Sandbox data:
- JWT auth: secret id `SANDBOX_SECRET_ID`, secret key `SANDBOX_SECRET_KEY`; legacy key
  `SANDBOX_API_KEY`. A token older than 5 minutes or badly signed is 401.
- Custom fields: plan (101), tier (102), source (103), score (104), vip (105).
- Tags: vip, lead, customer, newsletter, churned, then tag-06 ... tag-35 (two pages).
- 500 requests a minute per key, then 429 (no Retry-After, as documented).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.requests import Request

from providers.simulator.base import Endpoint, RateWindow, Refusal, Simulator

SANDBOX_SECRET_ID = "hm_sandbox_secret_id"
SANDBOX_SECRET_KEY = "hm_sandbox_secret_key_0123456789abcdef"
SANDBOX_API_KEY = "hm_sandbox_legacy_api_key_0123456789"
TOKEN_LIFETIME = 300
FIELDS = {101: "plan", 102: "tier", 103: "source", 104: "score", 105: "vip"}
_FIRST_TAGS = ["vip", "lead", "customer", "newsletter", "churned"]
TAGS = {i + 1: name for i, name in enumerate(_FIRST_TAGS + [f"tag-{n:02d}" for n in range(6, 36)])}
TAG_PAGE = 30
MAX_TAGS = 5


class HeymarketFailure(Refusal):
    """Heymarket's error body: `{"error": code, "message": text, "field": wire field}`."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None) -> None:
        body = {"error": error, "message": message}
        super().__init__(status, {**body, "field": field} if field else body)


def bad_data(message: str, field: str | None = None) -> HeymarketFailure:
    return HeymarketFailure(400, "bad_data", message, field)


@dataclass
class Contact:
    id: int
    uuid: str
    phone: str
    first: str | None = None
    last: str | None = None
    email: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[int] = field(default_factory=list)
    is_opted_out: bool = False
    display_name: str | None = None
    avatar: str | None = None
    assignee_id: int | None = None
    rev: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "rev": self.rev,
            "phone": self.phone,
            "first": self.first,
            "last": self.last,
            "display_name": self.display_name,
            "email": self.email,
            "custom": dict(self.custom),
            "tags": [{"tag_id": t} for t in self.tags],
            "is_opted_out": self.is_opted_out,
            "avatar": self.avatar,
            "assignee_id": self.assignee_id,
        }


class HeymarketSimulator(Simulator):
    def __init__(
        self,
        *,
        secret_id: str = SANDBOX_SECRET_ID,
        secret_key: str = SANDBOX_SECRET_KEY,
        api_key: str = SANDBOX_API_KEY,
        rate_limit: int = 500,
        rate_period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` times the rate-limit window, `wall_clock` judges tokens' `iat`; tests pass
        their own so a small limit or an expired token needs no waiting."""
        self.secret_id, self.secret_key, self.api_key = secret_id, secret_key, api_key
        self.wall_clock = wall_clock
        self.fields: dict[int, str] = dict(FIELDS)
        self.tags: dict[int, str] = dict(TAGS)
        self.contacts: dict[int, Contact] = {}
        self._ids = itertools.count(98_765)
        self._request_ids = itertools.count(1)
        super().__init__(
            [
                Endpoint("/v1/contact/get", "POST", self._get),
                Endpoint("/v1/contact", "POST", self._create),
                Endpoint("/v1/contact/{id}", "PUT", self._update_v1),
                Endpoint("/v2/contact/{uuid}", "PUT", self._update_v2),
                Endpoint("/v1/contact-fields", "POST", self._fields),
                Endpoint("/v1/tags", "POST", self._tags),
                Endpoint("/v1/tag", "POST", self._create_tag),
                Endpoint("/v1/batch/contacts", "POST", self._batch),
            ],
            RateWindow(rate_limit, rate_period, clock),
        )

    def by_phone(self, phone: str) -> Contact | None:
        return next((c for c in self.contacts.values() if c.phone == phone), None)

    # -- plumbing ---------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {"X-Request-Id": f"req-sim-{next(self._request_ids):06d}"}

    def failure(self, status: int, message: str, code: str | None = None) -> Refusal:
        return HeymarketFailure(status, code or "bad_data", message)

    def not_json(self) -> Refusal:
        return bad_data("Body is not valid JSON.")

    def rate_limited(self) -> Refusal:
        return HeymarketFailure(429, "rate_limited", "Too many requests.")

    def authenticate(self, request: Request) -> str:
        return self._authenticate(request.headers.get("authorization", ""))

    def _authenticate(self, header: str) -> str:
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token:
            raise HeymarketFailure(401, "unauthorized", "Missing bearer token.")
        if token == self.api_key:
            return "legacy"
        try:
            claims = jwt.decode(
                token,
                f"{self.secret_id}||{self.secret_key}",
                algorithms=["HS256"],
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise HeymarketFailure(401, "unauthorized", f"Invalid token: {exc}.") from None
        issued = claims.get("iat")
        if claims.get("iss") != self.secret_id or not isinstance(issued, int):
            raise HeymarketFailure(401, "unauthorized", "Invalid token claims.")
        now = self.wall_clock()
        if now >= issued + TOKEN_LIFETIME or issued > now + 30:
            raise HeymarketFailure(401, "unauthorized", "Token expired.")
        return self.secret_id

    # -- behaviour --------------------------------------------------------------------------

    def _get(self, request: Request, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        found: Contact | None = None
        if "id" in body:
            found = self.contacts.get(body["id"]) if isinstance(body["id"], int) else None
        elif isinstance(body.get("phone"), str):
            found = self.by_phone(body["phone"])
        else:
            raise bad_data("Give phone or id.", "phone")
        if found is None:
            raise HeymarketFailure(404, "not_found", "Contact not found")
        return found.as_json()

    def _create(self, request: Request, body: Any) -> dict[str, Any]:
        body = self._contact_body(body)
        if self.by_phone(body["phone"]) is not None:
            raise bad_data("A contact with this phone already exists.", "phone")
        contact = Contact(next(self._ids), str(uuid.uuid4()), body["phone"])
        self._apply(contact, body, overwrite=True)
        self.contacts[contact.id] = contact
        return {"id": contact.id, "rev": contact.rev, "uuid": contact.uuid}

    def _update_v1(self, request: Request, body: Any) -> dict[str, Any]:
        raw_id = request.path_params["id"]
        contact = self.contacts.get(int(raw_id)) if raw_id.isdigit() else None
        if contact is None:
            raise HeymarketFailure(404, "not_found", "Contact not found")
        self._update(contact, body, request)
        return {"id": contact.id, "rev": contact.rev, "uuid": contact.uuid}

    def _update_v2(self, request: Request, body: Any) -> dict[str, Any]:
        wanted = request.path_params["uuid"].lower()
        contact = next((c for c in self.contacts.values() if c.uuid == wanted), None)
        if contact is None:
            raise HeymarketFailure(404, "not_found", "Contact not found")
        self._update(contact, body, request)
        return contact.as_json()

    def _update(self, contact: Contact, body: Any, request: Request) -> None:
        body = self._contact_body(body)
        other = self.by_phone(body["phone"])
        if other is not None and other is not contact:
            raise bad_data("Another contact has this phone.", "phone")
        contact.phone = body["phone"]
        self._apply(contact, body, overwrite=request.query_params.get("overwrite") == "true")
        contact.rev += 1

    def _fields(self, request: Request, body: Any) -> dict[str, Any]:
        return {"fields": [{"id": i, "name": n, "type": "text"} for i, n in self.fields.items()]}

    def _tags(self, request: Request, body: Any) -> list[dict[str, Any]]:
        page = body.get("page", 1) if isinstance(body, dict) else 1
        page = page if isinstance(page, int) and page >= 1 else 1
        items = sorted(self.tags.items())[(page - 1) * TAG_PAGE : page * TAG_PAGE]
        return [{"id": i, "tag": name, "color": "#3366ff"} for i, name in items]

    def _create_tag(self, request: Request, body: Any) -> dict[str, Any]:
        name = body.get("tag") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            raise bad_data("tag is required.", "tag")
        ident = max(self.tags, default=0) + 1
        self.tags[ident] = name
        return {"id": ident, "tag": name}

    def _batch(self, request: Request, body: Any) -> Any:
        if not isinstance(body, list):
            raise bad_data("The body must be an array of contacts.")
        overwrite = request.query_params.get("overwrite") == "true"
        failed = []
        for item in body:
            try:
                clean = self._contact_body(item)
                existing = self.by_phone(clean["phone"])
                if existing is None:
                    contact = Contact(next(self._ids), str(uuid.uuid4()), clean["phone"])
                    self._apply(contact, clean, overwrite=True)
                    self.contacts[contact.id] = contact
                elif overwrite:
                    self._apply(existing, clean, overwrite=True)
                    existing.rev += 1
            except HeymarketFailure:
                failed.append(item)
        return failed or "ok"

    # -- validation and the overwrite rules ---------------------------------------------------

    def _contact_body(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_data("The body must be a contact object.")
        phone = body.get("phone")
        if not phone:
            raise bad_data("phone is required.", "phone")
        if not isinstance(phone, str) or not phone.isdigit() or not 7 <= len(phone) <= 15:
            raise bad_data("phone must be E.164 digits without '+'.", "phone")
        custom = body.get("custom", {})
        if not isinstance(custom, dict):
            raise bad_data("custom must be an object.", "custom")
        for key, value in custom.items():
            if not key.isdigit() or int(key) not in self.fields:
                raise bad_data(f"Unknown custom field id {key}.", f"custom.{key}")
            if not isinstance(value, str | int | float | bool):
                raise bad_data(f"Bad value for custom field {key}.", f"custom.{key}")
        tags = body.get("tags")
        if tags is not None:
            if not isinstance(tags, list) or len(tags) > MAX_TAGS:
                raise bad_data(f"At most {MAX_TAGS} tags per contact.", "tags")
            for tag in tags:
                if not isinstance(tag, dict) or tag.get("tag_id") not in self.tags:
                    raise bad_data(f"Unknown tag {tag!r}.", "tags")
        if "is_opted_out" in body and not isinstance(body["is_opted_out"], bool):
            raise bad_data("is_opted_out must be a boolean.", "is_opted_out")
        return body

    @staticmethod
    def _apply(contact: Contact, body: dict[str, Any], *, overwrite: bool) -> None:
        # Names are overwritten on every write, whatever `overwrite` says (documented).
        contact.first, contact.last = body.get("first"), body.get("last")
        custom = {str(k): v for k, v in body.get("custom", {}).items()}
        contact.custom = custom if overwrite else {**contact.custom, **custom}
        if "tags" in body:
            contact.tags = [t["tag_id"] for t in body["tags"]]
        for key in ("email", "is_opted_out", "display_name", "avatar", "assignee_id"):
            if key in body:
                setattr(contact, key, body[key])
        if contact.assignee_id == -1:
            contact.assignee_id = None  # -1 unassigns
