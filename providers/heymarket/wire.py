"""Heymarket's wire format, read tolerantly: contact bodies out, contacts and catalogues in.

The provider documents few response shapes (contact lookups, field and tag listings), so the
readers here accept the plausible variants (a bare list or one wrapped in an object, `name` or
`title`) and ignore what they cannot use rather than fail.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from providers.model import ContactDraft, FieldValue, HeymarketOptions, SubscriptionStatus

_OPTED_OUT = {SubscriptionStatus.UNSUBSCRIBED: True, SubscriptionStatus.SUBSCRIBED: False}
_INTEGER = re.compile(r"^\d{1,18}$")


def wire_phone(e164: str) -> str:
    """Heymarket wants E.164 without its '+': 15105553344."""
    return e164.removeprefix("+")


def opted_out(status: SubscriptionStatus | None) -> bool | None:
    return _OPTED_OUT.get(status) if status is not None else None


def is_integer_id(text: str) -> bool:
    return bool(_INTEGER.match(text))


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Existing:
    """A contact as a lookup returned it."""

    id: int
    phone: str | None
    uuid: str | None
    first: str | None
    last: str | None
    email: str | None
    custom: dict[str, Any]


def contact_body(
    contact: ContactDraft,
    custom: dict[str, FieldValue] | None,
    tag_ids: list[int] | None,
) -> dict[str, Any]:
    """The body of a create or an update; only what the client gave is sent."""
    assert contact.phone is not None
    options = contact.heymarket or HeymarketOptions()
    body: dict[str, Any] = {"phone": wire_phone(contact.phone)}
    optional: tuple[tuple[str, Any], ...] = (
        ("first", contact.first_name),
        ("last", contact.last_name),
        ("email", contact.email),
        ("custom", custom),
        ("tags", None if tag_ids is None else [{"tag_id": i} for i in tag_ids]),
        ("is_opted_out", opted_out(contact.status)),
        ("display_name", options.display_name),
        ("avatar", options.avatar_url),
        ("assignee_id", options.assignee_id),
    )
    body.update((key, value) for key, value in optional if value is not None)
    return body


def read_contact(body: Any) -> Existing | None:
    """A contact object (possibly wrapped in {"contact": ...}); None when it has no v1 id."""
    if isinstance(body, dict) and isinstance(body.get("contact"), dict):
        body = body["contact"]
    if not isinstance(body, dict):
        return None
    ident = read_id(body.get("id"))
    if ident is None:
        return None
    custom = body.get("custom")
    return Existing(
        id=ident,
        phone=_text(body.get("phone")),
        uuid=_text(body.get("uuid")),
        first=_text(body.get("first")),
        last=_text(body.get("last")),
        email=_text(body.get("email")),
        custom={str(k): v for k, v in custom.items()} if isinstance(custom, dict) else {},
    )


def read_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and is_integer_id(value):
        return int(value)
    return None


def batch_failures(body: Any, sent: set[str]) -> set[str] | None:
    """The phones a `POST /v1/batch/contacts` answer says failed; None when it cannot be read.

    Documented: `"ok"`, or the array of the contacts that failed, without reasons. Read
    tolerantly: entries may be the contacts as sent, or bare phones, and the array may come
    wrapped in an object. An entry naming no phone of the batch makes the whole answer
    unreadable: the gateway cannot tell which contacts it is about.
    """
    if isinstance(body, str):
        return set() if body.strip().lower() == "ok" else None
    if isinstance(body, dict):
        wrapped = next((v for v in body.values() if isinstance(v, list)), None)
        if wrapped is None:
            ok = any(isinstance(v, str) and v.strip().lower() == "ok" for v in body.values())
            return set() if ok else None
        body = wrapped
    if not isinstance(body, list):
        return None
    failed: set[str] = set()
    for entry in body:
        phone = _text(entry.get("phone")) if isinstance(entry, dict) else _text(entry)
        phone = phone.removeprefix("+") if phone else None
        if phone is None or phone not in sent:
            return None
        failed.add(phone)
    return failed


def listing(body: Any) -> list[Any]:
    """The entries of a listing: a bare list, or the one list an object wraps."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return next((v for v in body.values() if isinstance(v, list)), [])
    return []


def read_catalogue(entries: list[Any], name_keys: tuple[str, ...]) -> dict[str, int]:
    """name -> id from listing entries with an `id` (or `tag_id`) and a name."""
    found: dict[str, int] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        ident = read_id(entry.get("id", entry.get("tag_id")))
        name = next((entry[k] for k in name_keys if isinstance(entry.get(k), str)), None)
        if ident is not None and name:
            found.setdefault(name, ident)
    return found


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


# -- dry runs ---------------------------------------------------------------------------------

# The id a dry run's create answers: Heymarket's ids are positive, so 0 is never a contact's.
STAND_IN_ID = 0
_V1_CONTACT = re.compile(r"^/v1/contact/(\d{1,18})$")
_V2_CONTACT = re.compile(r"^/v2/contact/([^/]+)$")


def stand_in(method: str, path: str, body: Any) -> tuple[int, Any]:
    """What Heymarket answers each write, for a dry run (providers/dryrun.py).

    A create answers `{id, rev, uuid}` (the id a placeholder: the contact does not exist); a v1
    update the same for the contact it names; a v2 update the contact as sent, without the v1
    id it does not know, so the adapter works the custom values out from the look-up it made.
    """
    if method == "POST" and path.startswith("/v1/batch/contacts"):
        return 200, "ok"  # every contact of the batch taken
    if method == "POST":  # /v1/contact: a create
        return 200, {"id": STAND_IN_ID, "rev": 1, "uuid": None}
    v1 = _V1_CONTACT.match(path)
    if v1 is not None:
        return 200, {"id": int(v1.group(1)), "rev": None, "uuid": None}
    v2 = _V2_CONTACT.match(path)
    sent = body if isinstance(body, dict) else {}
    return 200, {key: value for key, value in sent.items() if key != "custom"} | {
        "uuid": v2.group(1) if v2 else None
    }
