"""Heymarket's error table, as data. Documented: 400 `bad_data` (the body names the field that
failed; its shape is not specified), 401, 403 `denied`, 429, 500. Anything else maps by status.

The table key is the error code plus the field it names, `"bad_data (phone)"`, so one row per
field; a body without a code keys by its message (the contract's providerCode).
"""

from __future__ import annotations

import re
from typing import Any

from providers.errors import ErrorCode, ProviderError
from providers.errortable import ErrorRule, ErrorTable

E = ErrorCode

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


# How a provider says "this phone is taken", in the words APIs use for it.
_EXISTS = re.compile(
    r"already[\s_-]*(?:exists?|taken|in[\s_-]*use|registered)|duplicat|(?<![a-z])exists(?![a-z])",
    re.I,
)


def may_already_exist(error: ProviderError) -> bool:
    """Whether a create's refusal may mean that the phone has a contact already.

    Heymarket documents `bad_data` without saying what a create for a taken phone answers
    (the simulator: 400 bad_data naming `phone`, "A contact with this phone already exists.").
    So any wording of it counts, and so does any refusal of the phone: the phone was valid for
    the gateway's own checks, and the look-up that follows settles it (a contact found is
    updated; none found, and the refusal is the answer).
    """
    if error.status == 409:  # not documented, but what other APIs answer for it
        return True
    if error.status != 400:
        return False
    failure = error.failure
    if failure.code is E.INVALID_PHONE:
        return True
    return any(_EXISTS.search(text) for text in (failure.message, failure.provider_code or ""))


def _first_str(*values: Any) -> str | None:
    return next((v for v in values if isinstance(v, str) and v.strip()), None)
