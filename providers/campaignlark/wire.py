"""CampaignLark's wire format, read tolerantly: contacts in their `data` envelope or without it,
the neutral ContactRecord, and the workspace's field and tag listings. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.catalogue import Codec
from providers.errors import ErrorCode, Failure, Origin, ProviderError
from providers.http import ProviderHttp, Reply
from providers.model import ContactRecord, ProviderName, SubscriptionStatus

EMAIL_TAG, FIRST_NAME_TAG, LAST_NAME_TAG = "email_address", "first_name", "last_name"


def contact_of(http: ProviderHttp, reply: Reply) -> dict[str, Any]:
    """The contact, with or without its `data` envelope (a contact has `data` of its own)."""
    body = http.object_of(reply)
    inner = body.get("data")
    contact = inner if "id" not in body and isinstance(inner, dict) else body
    contact_id = contact.get("id")
    if not isinstance(contact_id, str | int) or isinstance(contact_id, bool) or not contact_id:
        raise unreadable(http.provider, "a contact without an id")
    return contact


def record_of(raw: Mapping[str, Any], email: str | None, phone_tag: str | None) -> ContactRecord:
    """customFields is the contact's whole field set: every merge tag with a scalar value."""
    data = raw.get("data")
    values = {k: v for k, v in data.items() if is_value(v)} if isinstance(data, dict) else {}
    phone = values.get(phone_tag) if phone_tag else None
    stored_email = values.get(EMAIL_TAG)
    status = status_of(raw)
    return ContactRecord(
        ProviderName.CAMPAIGNLARK,
        id=str(raw["id"]),
        email=stored_email if isinstance(stored_email, str) else email,
        phone=phone if isinstance(phone, str) else None,
        custom_fields=values,
        first_name=_text(values.get(FIRST_NAME_TAG)),
        last_name=_text(values.get(LAST_NAME_TAG)),
        tags=tag_names_of(raw),
        status=SubscriptionStatus(status) if status is not None else None,
    )


def tag_names_of(contact: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The names of a contact's tags (`[{id, name}]`); None when the answer has no tag list."""
    tags = contact.get("tags")
    if not isinstance(tags, list):
        return None
    return tuple(t["name"] for t in tags if isinstance(t, dict) and isinstance(t.get("name"), str))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def unreadable(provider: ProviderName, what: str) -> ProviderError:
    return ProviderError(
        Failure(
            ErrorCode.PROVIDER_ERROR,
            f"{provider.label} answered {what}",
            provider=provider,
            origin=Origin.TRANSPORT,
        )
    )


def is_value(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def is_filled(value: Any) -> bool:
    return is_value(value) and str(value).strip() != ""


def status_of(contact: Mapping[str, Any]) -> str | None:
    status = contact.get("status")
    known = {s.value for s in SubscriptionStatus}
    return status if isinstance(status, str) and status in known else None


def tag_ids_of(contact: Mapping[str, Any]) -> list[int]:
    tags = contact.get("tags")
    ids = (
        [t.get("id") if isinstance(t, dict) else t for t in tags or []]
        if isinstance(tags, list)
        else []
    )
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]


def timestamps_equal(contact: Mapping[str, Any]) -> bool:
    """CampaignLark's upsert does not say whether it created: a new contact was never updated."""
    created, updated = contact.get("created_at"), contact.get("updated_at")
    return isinstance(created, str) and bool(created) and created == updated


# -- the workspace's catalogues: GET /v1/fields, GET /v1/tags -----------------------------------

TAG_PAGE_SIZE = 100  # the largest page CampaignLark serves
MAX_TAG_PAGES = 200  # a pagination that never ends must not loop forever


@dataclass(frozen=True, slots=True)
class FieldInfo:
    merge_tag: str
    label: str
    required: bool


def listing(provider: ProviderName, reply: Reply, what: str) -> list[Any]:
    """A listing with or without its `data` envelope; anything else cannot be trusted."""
    body = reply.body
    if isinstance(body, dict):
        body = body.get("data")
    if isinstance(body, list):
        return body
    raise unreadable(provider, f"a {what} the gateway could not read")


def read_fields(entries: list[Any]) -> dict[str, FieldInfo]:
    fields: dict[str, FieldInfo] = {}
    for entry in entries:
        tag = entry.get("merge_tag") if isinstance(entry, dict) else None
        if isinstance(tag, str) and tag:
            label = entry.get("label")
            fields[tag] = FieldInfo(
                tag, label if isinstance(label, str) else tag, entry.get("required") is True
            )
    return fields


def read_tags(entries: list[Any], into: dict[str, int]) -> None:
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            tag_id = entry.get("id")
            if isinstance(tag_id, int) and not isinstance(tag_id, bool):
                into.setdefault(entry["name"], tag_id)


def last_page(body: Any, page: int) -> bool:
    pagination = body.get("pagination") if isinstance(body, dict) else None
    if not isinstance(pagination, dict):
        return False
    total_pages = pagination.get("total_pages")
    return isinstance(total_pages, int) and page >= total_pages


# -- dry runs ---------------------------------------------------------------------------------

# The id a dry run's answers carry where the contact's own is not known (24 hex digits, as
# CampaignLark's ids, and never one of them).
STAND_IN_ID = "0" * 24


def stand_in(method: str, path: str, body: Any) -> tuple[int, Any]:
    """What CampaignLark answers each write, for a dry run (providers/dryrun.py): the contact
    in its `data` envelope, holding what was sent. `created_at` differs from `updated_at`, so
    only a look-up the adapter made says that a contact would be new."""
    sent = body if isinstance(body, dict) else {}
    fields = sent.get("fields")
    data = dict(fields) if isinstance(fields, dict) else {}
    if isinstance(sent.get("email_address"), str):
        data[EMAIL_TAG] = sent["email_address"]
    contact_id = path.rsplit("/", 1)[-1] if method == "PUT" else STAND_IN_ID
    tags = sent.get("tags")
    return 200, {
        "data": {
            "id": contact_id,
            "status": sent.get("status") or "SUBSCRIBED",
            "tags": [{"id": tag} for tag in tags] if isinstance(tags, list) else [],
            "data": data,
            "created_at": None,
            "updated_at": None,
        }
    }


FIELDS_CODEC: Codec[FieldInfo] = Codec(
    encode=lambda fields: [[i.merge_tag, i.label, i.required] for i in fields.values()],
    decode=lambda rows: {row[0]: FieldInfo(str(row[0]), str(row[1]), bool(row[2])) for row in rows},
)
