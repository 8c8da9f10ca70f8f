"""A Trackly SMS simulator that follows the provider notes: an independent fake of the API.

It never imports the adapter, so a misunderstanding cannot agree with itself.

Sandbox data:
- API key `SANDBOX_API_KEY` (header `X-Api-Key`); anything else is 401 `unauthorized`.
- Sending lists `+18005551234` (one active Welcome Journey) and `+18005550000` (none).
- Carrier rule: a new number in the 555-0100..555-0199 range of any area code
  (e.g. +14155550123) is a VOIP line and is refused with 400 `not_sendable`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from providers.simulator.base import Endpoint, Refusal, Simulator

SANDBOX_API_KEY = "trk_sandbox" + "0" * 25  # trk_ + 32 alphanumerics, as real keys
SANDBOX_LIST_NUMBER = "+18005551234"  # the sandbox account's default list
LISTS: dict[str, int] = {SANDBOX_LIST_NUMBER: 1, "+18005550000": 0}  # list number -> journeys
VOIP = re.compile(r"^\+1\d{3}55501\d{2}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BULK = 1_000
MAX_BODY = 5_000_000
MAX_CONTACT = 4_000


class TracklyFailure(Refusal):
    """Trackly's error body: `{"error": text, "code": code}`."""

    def __init__(self, status: int, code: str | None, error: str) -> None:
        super().__init__(status, {"error": error, **({"code": code} if code else {})})
        self.code, self.error = code, error


@dataclass
class ListContact:
    id: str
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Contact:
    id: str
    lists: dict[str, ListContact] = field(default_factory=dict)


class TracklySimulator(Simulator):
    """No rate limit: the docs say there is none."""

    def __init__(self, api_key: str = SANDBOX_API_KEY) -> None:
        self.api_key = api_key
        self.contacts: dict[str, Contact] = {}
        self._ids = itertools.count(0x665A1B2C3D4E5F6A7B8C0000)
        super().__init__(
            [
                Endpoint("/v2/contacts", "POST", lambda _, body: self._upsert(body)),
                Endpoint("/v2/contacts", "PUT", lambda _, body: self._update_fields(body)),
                Endpoint("/v2/contacts/bulk", "POST", lambda _, body: self._bulk(body)),
                Endpoint(
                    "/v2/contacts/{phone}",
                    "GET",
                    lambda request, _: self._lookup(request.path_params["phone"]),
                ),
                Endpoint("/v2/lists", "GET", lambda _, __: self._lists()),
            ]
        )

    def _new_id(self) -> str:
        return f"{next(self._ids):024x}"

    # -- the shared plumbing, in Trackly's words ---------------------------------------------

    def authenticate(self, request: Request) -> str:
        if request.headers.get("x-api-key") != self.api_key:
            raise TracklyFailure(401, "unauthorized", "Missing or invalid X-Api-Key header.")
        return self.api_key

    def failure(self, status: int, message: str, code: str | None = None) -> Refusal:
        return TracklyFailure(status, code, message)

    def not_json(self) -> Refusal:
        return TracklyFailure(400, "invalid_json", "Body is not valid JSON.")

    def check_body(self, raw: bytes) -> None:
        if len(raw) > MAX_BODY:
            raise TracklyFailure(413, "payload_too_large", "Request body exceeds 5 MB.")

    # -- behaviour --------------------------------------------------------------------------

    def _upsert(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise TracklyFailure(400, "missing_phone_number", "phone_number is required.")
        return self._upsert_one(body)

    def _upsert_one(self, body: dict[str, Any]) -> dict[str, Any]:
        phone, list_number = self._phone_and_list(body)
        fields = body.get("custom_fields", {})
        _check_fields(fields)
        contact = self.contacts.get(phone)
        is_new_contact = contact is None
        if contact is None:
            if VOIP.match(phone):
                raise TracklyFailure(
                    400, "not_sendable", "Phone number failed carrier validation (VOIP)."
                )
            contact = self.contacts[phone] = Contact(self._new_id())
        list_contact = contact.lists.get(list_number)
        is_new_list_contact = list_contact is None
        if list_contact is None:
            list_contact = contact.lists[list_number] = ListContact(self._new_id())
        if body.get("override_custom_fields") is True:
            list_contact.custom_fields = dict(fields)
        else:
            list_contact.custom_fields.update(fields)
        journeys, warnings = LISTS[list_number], []
        enrolled = 0
        if body.get("use_journeys") is True:
            skip = body.get("skip_journey_if_exists", True) is not False
            if is_new_list_contact or not skip:
                enrolled = journeys
        elif journeys:
            warnings.append(
                f"{journeys} active Welcome Journey(s) match list {list_number} "
                "but use_journeys was not set."
            )
        answer: dict[str, Any] = {
            "success": True,
            "contact_id": contact.id,
            "list_contact_id": list_contact.id,
            "is_new_contact": is_new_contact,
            "is_new_list_contact": is_new_list_contact,
            "journeys_enrolled": enrolled,
        }
        if warnings:
            answer["warnings"] = warnings
        return answer

    def _bulk(self, body: Any) -> dict[str, Any]:
        contacts = body.get("contacts") if isinstance(body, dict) else None
        if not isinstance(contacts, list) or not contacts:
            raise TracklyFailure(400, "missing_contacts", "The contacts array is required.")
        if len(contacts) > MAX_BULK:
            raise TracklyFailure(
                413, "too_many_contacts", "The contacts array exceeds the 1,000 item limit."
            )
        summary: dict[str, Any] = {
            "success_count": 0,
            "error_count": 0,
            "errors": [],
            "contacts_created": 0,
            "list_contacts_created": 0,
            "journeys_enrolled": 0,
        }
        warnings: set[str] = set()
        for index, item in enumerate(contacts):
            try:
                if not isinstance(item, dict):
                    raise TracklyFailure(400, "validation_failed", "Contact must be an object.")
                if len(json.dumps(item, separators=(",", ":"))) > MAX_CONTACT:
                    raise TracklyFailure(400, "payload_too_large", "Contact exceeds 4KB.")
                result = self._upsert_one(item)
            except TracklyFailure as failure:
                summary["error_count"] += 1
                phone = item.get("phone_number") if isinstance(item, dict) else None
                summary["errors"].append(
                    {
                        "index": index,
                        "phone_number": phone,
                        "code": failure.code,
                        "error": failure.error,
                    }
                )
                continue
            summary["success_count"] += 1
            summary["contacts_created"] += int(result["is_new_contact"])
            summary["list_contacts_created"] += int(result["is_new_list_contact"])
            summary["journeys_enrolled"] += result["journeys_enrolled"]
            warnings.update(result.get("warnings", []))
        if warnings:
            summary["warnings"] = sorted(warnings)
        return summary

    def _update_fields(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise TracklyFailure(400, "missing_phone_number", "phone_number is required.")
        if "custom_fields" not in body:
            raise TracklyFailure(400, "missing_custom_fields", "custom_fields is required.")
        phone, list_number = self._phone_and_list(body)
        fields = body["custom_fields"]
        _check_fields(fields)
        contact = self.contacts.get(phone)
        if contact is None:
            raise TracklyFailure(400, "contact_not_found", "No contact with this phone number.")
        list_contact = contact.lists.get(list_number)
        if list_contact is None:
            raise TracklyFailure(
                400, "list_contact_not_found", "The contact is not on the specified list."
            )
        if body.get("merge_fields", True) is False:
            list_contact.custom_fields = dict(fields)
        else:
            list_contact.custom_fields.update(fields)
        return {
            "success": True,
            "list_contact_id": list_contact.id,
            "custom_fields": dict(list_contact.custom_fields),
        }

    def _lists(self) -> dict[str, Any]:
        return {
            "lists": [
                {"phone_number": number, "status": "active", "welcome_journeys": journeys}
                for number, journeys in LISTS.items()
            ]
        }

    def _lookup(self, phone: str) -> dict[str, Any]:
        contact = self.contacts.get(phone)
        if contact is None:
            raise TracklyFailure(400, "contact_not_found", "No contact with this phone number.")
        return {
            "phone_number": phone,
            "contact_id": contact.id,
            "carrier": "Sandbox Wireless",
            "line_type": "mobile",
            "lists": [
                {"list_number": number, "list_contact_id": lc.id, "custom_fields": lc.custom_fields}
                for number, lc in contact.lists.items()
            ],
        }

    @staticmethod
    def _phone_and_list(body: dict[str, Any]) -> tuple[str, str]:
        phone, list_number = body.get("phone_number"), body.get("list_number")
        if not phone:
            raise TracklyFailure(400, "missing_phone_number", "phone_number is required.")
        if not list_number:
            raise TracklyFailure(400, "missing_list_number", "list_number is required.")
        if not isinstance(phone, str) or not E164.match(phone):
            raise TracklyFailure(400, "invalid_phone", "phone_number is not a valid E.164 number.")
        if not isinstance(list_number, str) or not E164.match(list_number):
            raise TracklyFailure(
                400, "invalid_list_number", "list_number is not a valid E.164 number."
            )
        if list_number not in LISTS:
            raise TracklyFailure(400, "list_not_found", "No sending list with this list_number.")
        return phone, list_number


def _check_fields(fields: Any) -> None:
    if not isinstance(fields, dict) or not all(
        isinstance(value, str | int | float | bool) for value in fields.values()
    ):
        raise TracklyFailure(
            400,
            "invalid_custom_fields",
            "custom_fields must be an object of strings, numbers or booleans.",
        )
