"""The gateway's own checks on input, before any provider is called.

Each raises ProviderError with `provider=None` (the gateway refused it) and `field` relative to
the contact ("phone", "customFields.tier"); the schema layer adds the argument path.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from gateway.input.phones import InvalidPhone, normalize_phone, normalize_repeated
from gateway.input.unicode import well_formed
from providers.errors import ErrorCode, ProviderError
from providers.model import FieldValue

MAX_TEXT = 4_096  # longest free-text value we pass on (names, URLs, field values)
MAX_FIELD_KEY = 255
MAX_FIELDS = 500
MAX_TAGS = 100
_KIND_NAMES: dict[type, str] = {dict: "an object", list: "an array"}
_ILL_FORMED = "is not well-formed Unicode (it holds a lone surrogate)"
_PLAIN = (bool, int, str)  # a tuple: `bool | int | str` would build a union per value checked


def phone(raw: str | None, region: str, field: str = "phone") -> str | None:
    if raw is None:
        return None
    code = _PHONE_CODES.get(field, _INVALID_PHONE)
    _unicode(raw, field, code)
    try:
        if field == "phone":
            return normalize_phone(raw, region)
        return normalize_repeated(raw, region)  # a list number: the same on many contacts
    except InvalidPhone as exc:
        raise ProviderError.of(code, f"{field} {_quote(raw)} {exc}", field=field) from None


# Looked up once, not per phone: an enum member's lookup costs more than the dict's.
_INVALID_PHONE = ErrorCode.INVALID_PHONE
_PHONE_CODES = {"listNumber": ErrorCode.INVALID_LIST_NUMBER}


def custom_fields(value: Any, field: str = "customFields") -> dict[str, FieldValue]:
    """An object whose values are strings, numbers or booleans; else INVALID_CUSTOM_FIELDS."""
    if not isinstance(value, dict):
        raise _bad_fields(f"{field} must be a JSON object of field name -> value", field)
    if len(value) > MAX_FIELDS:
        raise _bad_fields(f"{field} has {len(value)} keys; at most {MAX_FIELDS}", field)
    for key, item in value.items():
        custom_field_key(key, field)
        if isinstance(item, _PLAIN):
            if isinstance(item, str):
                custom_field_text(key, item, field)
            continue
        if isinstance(item, float) and math.isfinite(item):
            continue
        where = f"{field}.{key}"
        kind = _KIND_NAMES.get(type(item), "null")
        raise _bad_fields(
            f"{where} is {kind}; custom field values must be a string, number or boolean", where
        )
    return value


def custom_field_key(key: object, field: str = "customFields") -> None:
    """A custom field's name: a non-empty, well-formed string of at most MAX_FIELD_KEY."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_FIELD_KEY:
        raise _bad_fields(f"{field} has an empty or over-long key", field)
    if not well_formed(key):  # named without echoing it
        raise _bad_fields(f"{field} has a key that {_ILL_FORMED}", field)


def custom_field_text(key: str, item: str, field: str = "customFields") -> None:
    """A custom field's text value: at most MAX_TEXT characters, well-formed."""
    if len(item) > MAX_TEXT:
        where = f"{field}.{key}"
        raise _bad_fields(f"{where} is longer than {MAX_TEXT} characters", where)
    if not well_formed(item):
        raise _bad_fields(f"{field}.{key} {_ILL_FORMED}", f"{field}.{key}")


def text(raw: str | None, field: str) -> str | None:
    if raw is None:
        return None
    _unicode(raw, field, ErrorCode.INVALID_REQUEST)
    if len(raw) > MAX_TEXT:
        raise ProviderError.of(
            ErrorCode.INVALID_REQUEST, f"{field} is longer than {MAX_TEXT} characters", field=field
        )
    return raw


def signup_date(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    _unicode(raw, "signupDate", ErrorCode.INVALID_REQUEST)
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ProviderError.of(
            ErrorCode.INVALID_REQUEST,
            f"signupDate {_quote(raw)} is not an ISO 8601 date-time, e.g. 2025-03-15T14:30:00Z",
            field="signupDate",
        ) from None
    # A date-time without an offset is taken as UTC, as the providers document.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def ip_address(raw: str | None) -> str | None:
    if raw is None:
        return None
    _unicode(raw, "ipAddress", ErrorCode.INVALID_REQUEST)
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise ProviderError.of(
            ErrorCode.INVALID_REQUEST,
            f"ipAddress {_quote(raw)} is not an IPv4 or IPv6 address",
            field="ipAddress",
        ) from None


def tags(raw: Iterable[str] | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    names: list[str] = []
    for position, name in enumerate(raw):
        _unicode(name, f"tags[{position}]", ErrorCode.INVALID_REQUEST)
        clean = name.strip()
        if not clean or len(clean) > MAX_FIELD_KEY:
            raise ProviderError.of(
                ErrorCode.INVALID_REQUEST,
                "a tag name is empty or longer than 255 characters",
                field=f"tags[{position}]",
            )
        if clean not in names:
            names.append(clean)
    if len(names) > MAX_TAGS:
        raise ProviderError.of(
            ErrorCode.TOO_MANY_TAGS, f"{len(names)} tags; at most {MAX_TAGS}", field="tags"
        )
    return tuple(names)


def email(raw: str | None) -> str | None:
    """Syntax only (email-validator, no DNS lookup); the normalised form is what is sent."""
    if raw is None:
        return None
    _unicode(raw, "email", ErrorCode.INVALID_EMAIL)
    clean = raw.strip()
    if not clean:
        return None
    try:
        return validate_email(clean, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ProviderError.of(
            ErrorCode.INVALID_EMAIL, f"email {_quote(clean)} is not valid: {exc}", field="email"
        ) from None


def _unicode(raw: str, field: str, code: ErrorCode) -> None:
    """Refuse a string no provider could be sent (a lone surrogate), without echoing it."""
    if not well_formed(raw):
        raise ProviderError.of(code, f"{field} {_ILL_FORMED}", field=field)


def _bad_fields(message: str, field: str) -> ProviderError:
    return ProviderError.of(ErrorCode.INVALID_CUSTOM_FIELDS, message, field=field)


def _quote(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")
