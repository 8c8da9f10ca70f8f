"""Reading CampaignLark contacts: the `data` envelope or none, and the neutral ContactRecord."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.errors import ErrorCode, Failure, ProviderError
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
    return ContactRecord(
        ProviderName.CAMPAIGNLARK,
        id=str(raw["id"]),
        email=stored_email if isinstance(stored_email, str) else email,
        phone=phone if isinstance(phone, str) else None,
        custom_fields=values,
    )


def unreadable(provider: ProviderName, what: str) -> ProviderError:
    return ProviderError(
        Failure(
            ErrorCode.PROVIDER_ERROR,
            f"{provider.label} answered {what}",
            provider=provider,
            provider_code="unreadable_contact",
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
