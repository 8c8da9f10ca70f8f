"""Trackly's wire format: request bodies out, answers in. No I/O here.

JSON only; phones and list numbers are E.164 with their '+'; dates ISO 8601 in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from providers.http import as_int, as_str, as_strings
from providers.model import (
    BulkResult,
    ContactDraft,
    FieldMode,
    IndexedContact,
    TracklyOptions,
)

MAX_ITEMS_PER_REQUEST = 1_000
MAX_REQUEST_BYTES = 5_000_000
MAX_CONTACT_BYTES = 4_000
BULK_ENVELOPE = (b'{"contacts":[', b"]}")
_NO_OPTIONS = TracklyOptions()


def contact_body(contact: ContactDraft, default_list_number: str | None) -> dict[str, Any]:
    """The body of `POST /v2/contacts`, and of one item of a bulk."""
    # Runs once per bulk contact: plain attribute tests, no intermediate tuples.
    options = contact.trackly or _NO_OPTIONS
    body: dict[str, Any] = {
        "phone_number": contact.phone,
        "list_number": contact.list_number or default_list_number,
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


def fields_body(
    phone: str, list_number: str, fields: Mapping[str, Any], mode: FieldMode
) -> dict[str, Any]:
    """The body of `PUT /v2/contacts`."""
    return {
        "phone_number": phone,
        "list_number": list_number,
        "custom_fields": dict(fields),
        "merge_fields": mode is FieldMode.MERGE,
    }


def bulk_body(encoded: Sequence[bytes]) -> bytes:
    """`{"contacts": [...]}` from contacts already encoded one by one."""
    return BULK_ENVELOPE[0] + b",".join(encoded) + BULK_ENVELOPE[1]


def bulk_chunks(
    items: Sequence[IndexedContact], encoded: Mapping[int, bytes]
) -> list[list[IndexedContact]]:
    """Requests of at most MAX_ITEMS_PER_REQUEST contacts and MAX_REQUEST_BYTES bytes."""
    empty = len(bulk_body([]))
    chunks: list[list[IndexedContact]] = []
    current: list[IndexedContact] = []
    size = empty
    for item in items:
        extra = len(encoded[item.index]) + 1
        if current and (len(current) >= MAX_ITEMS_PER_REQUEST or size + extra > MAX_REQUEST_BYTES):
            chunks.append(current)
            current, size = [], empty
        current.append(item)
        size += extra
    if current:
        chunks.append(current)
    return chunks


def bulk_counts(body: Mapping[str, Any]) -> BulkResult:
    """A bulk answer's counts and warnings; its per-item errors are read by `bulk_errors`."""
    return BulkResult(
        contacts_created=as_int(body.get("contacts_created")),
        list_contacts_created=as_int(body.get("list_contacts_created")),
        journeys_enrolled=as_int(body.get("journeys_enrolled")),
        warnings=warnings_of(body),
    )


def bulk_errors(
    chunk: Sequence[IndexedContact], body: Mapping[str, Any]
) -> list[tuple[IndexedContact | None, Any]]:
    """Each error entry with the chunk item it is about (by its index, else by its phone);
    None where the entry names no item of the chunk."""
    errors = body.get("errors")
    found: list[tuple[IndexedContact | None, Any]] = []
    taken: set[int] = set()
    for entry in errors if isinstance(errors, list) else []:
        item = _item_for(chunk, entry, taken)
        if item is not None:
            taken.add(item.index)
        found.append((item, entry))
    return found


def _item_for(
    chunk: Sequence[IndexedContact], entry: Any, taken: set[int]
) -> IndexedContact | None:
    if not isinstance(entry, dict):
        return None
    index = entry.get("index")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(chunk):
        return chunk[index]
    phone = entry.get("phone_number")
    for item in chunk:
        if phone and item.contact.phone == phone and item.index not in taken:
            return item
    return None


# Trackly's parameter names as the gateway's clients know them: its warnings name its own.
UNIFIED_NAMES = {
    "use_journeys": "enrollInJourneys",
    "skip_journey_if_exists": "trackly.skipJourneyIfExists",
    "phone_number": "phone",
    "list_number": "listNumber",
    "custom_fields": "customFields",
    "override_custom_fields": "fieldMode",
    "merge_fields": "mode",
    "signup_date": "signupDate",
    "ip_address": "ipAddress",
    "ad_network_source": "trackly.adNetworkSource",
    "ad_network_id": "trackly.adNetworkId",
}
_WIRE_NAME = re.compile(r"\b(" + "|".join(UNIFIED_NAMES) + r")\b")


def warnings_of(body: Mapping[str, Any]) -> list[str]:
    """The answer's warnings, naming the unified inputs rather than Trackly's parameters."""
    return [
        _WIRE_NAME.sub(lambda m: UNIFIED_NAMES[m.group(1)], w)
        for w in as_strings(body.get("warnings"))
    ]


def upsert_answer(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `POST /v2/contacts`' answer the gateway reports."""
    return {
        "created": bool(body.get("is_new_contact")),
        "list_membership_created": bool(body.get("is_new_list_contact")),
        "list_contact_id": as_str(body.get("list_contact_id")),
        "journeys_enrolled": as_int(body.get("journeys_enrolled")),
        "warnings": tuple(warnings_of(body)),
    }


def list_fields(body: Mapping[str, Any], list_number: str) -> dict[str, Any] | None:
    """One list's custom fields from `GET /v2/contacts/{phone}` ({} when it has none); None
    when the contact is not on that list."""
    lists = body.get("lists")
    for entry in lists if isinstance(lists, list) else []:
        if isinstance(entry, dict) and list_number in (
            entry.get("list_number"),
            entry.get("phone_number"),
        ):
            fields = entry.get("custom_fields")
            return fields if isinstance(fields, dict) else {}
    return None


def fields_after(
    current: Mapping[str, Any], sent: Mapping[str, Any], mode: FieldMode
) -> dict[str, Any]:
    """A list's custom fields once `PUT /v2/contacts` has applied `sent`."""
    return {**current, **sent} if mode is FieldMode.MERGE else dict(sent)


# -- dry runs ---------------------------------------------------------------------------------


def stand_in(method: str, path: str, body: Any) -> tuple[int, Any]:
    """What Trackly answers each write, for a dry run (providers/dryrun.py).

    Nothing is known to be new and no id exists yet. The answer to `PUT /v2/contacts` leaves
    out `custom_fields`, as Trackly may: the adapter then reads the contact, which finds out,
    without writing, whether it exists and is on the list, and what its fields would become.
    """
    if path == "/v2/contacts/bulk":
        contacts = body.get("contacts") if isinstance(body, dict) else None
        count = len(contacts) if isinstance(contacts, list) else 0
        return 200, {
            "success": True,
            "success_count": count,
            "error_count": 0,
            "errors": [],
            "contacts_created": 0,
            "list_contacts_created": 0,
            "journeys_enrolled": 0,
        }
    if method == "PUT":
        return 200, {"success": True}
    return 200, {
        "success": True,
        "contact_id": None,
        "list_contact_id": None,
        "is_new_contact": False,
        "is_new_list_contact": False,
        "journeys_enrolled": 0,
    }
