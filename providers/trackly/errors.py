"""Trackly's error table, as data: `{"error": text, "code": code}`, matched by code.

The table key is the code; `error` is the human text. A 403 "account suspended" may come
without a code and still maps by its status row.
"""

from __future__ import annotations

import re
from typing import Any

from providers.errors import ErrorCode
from providers.errortable import ErrorRule, ErrorTable

E = ErrorCode

ERROR_TABLE = ErrorTable(
    [
        ErrorRule(E.MISSING_PHONE_NUMBER, "missing_phone_number", field="phone"),
        ErrorRule(E.MISSING_LIST_NUMBER, "missing_list_number", field="listNumber"),
        ErrorRule(E.MISSING_CUSTOM_FIELDS, "missing_custom_fields", field="customFields"),
        ErrorRule(E.INVALID_CUSTOM_FIELDS, "invalid_custom_fields", field="customFields"),
        ErrorRule(E.INVALID_PHONE, "invalid_phone", field="phone"),
        ErrorRule(E.INVALID_LIST_NUMBER, "invalid_list_number", field="listNumber"),
        ErrorRule(E.CONTACT_NOT_FOUND, "contact_not_found", field="phone"),
        ErrorRule(E.LIST_NOT_FOUND, "list_not_found", field="listNumber"),
        ErrorRule(E.LIST_CONTACT_NOT_FOUND, "list_contact_not_found", field="listNumber"),
        ErrorRule(E.NOT_SENDABLE, "not_sendable", field="phone"),
        ErrorRule(E.MISSING_CONTACTS, "missing_contacts", field="contacts"),
        ErrorRule(E.UNAUTHORIZED, "unauthorized"),
        ErrorRule(E.UNAUTHORIZED, "missing_api_key"),
        ErrorRule(E.UNAUTHORIZED, "invalid_api_key"),
        ErrorRule(E.PAYMENT_REQUIRED, "no_billing_config", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, "no_payment_method", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, "payment_failed", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, "suspended", status=402),
        ErrorRule(E.PAYMENT_REQUIRED, status=402),  # a 402 code the docs do not list yet
        ErrorRule(E.PRODUCT_NOT_ENABLED, re.compile(r"^[a-z0-9_]+_not_enabled$")),
        ErrorRule(E.FORBIDDEN, status=403),  # "account suspended", often without a code
        ErrorRule(E.TOO_MANY_CONTACTS, "too_many_contacts", field="contacts"),
        ErrorRule(E.PAYLOAD_TOO_LARGE, "payload_too_large"),
        ErrorRule(E.PROVIDER_ERROR, "internal_error"),
        # Bulk per-item codes not already above.
        ErrorRule(E.INVALID_REQUEST, "validation_failed"),
        ErrorRule(E.PROVIDER_ERROR, "provider_error"),
    ]
)


def read_error(body: Any) -> tuple[str | None, str | None]:
    """(the code, the error text) of an error body or a bulk item's error entry."""
    if not isinstance(body, dict):
        return None, None
    code, text = body.get("code"), body.get("error")
    return (code if isinstance(code, str) and code else None), (
        text if isinstance(text, str) and text else None
    )
