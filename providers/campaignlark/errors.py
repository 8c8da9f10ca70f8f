"""CampaignLark's error table: it has no codes, so rows match (status, message) patterns.

Messages vary in quoting, apostrophes and their `<tag>`/`<label>`/`<id>` parts, so they are
matched loosely and case-insensitively; the provider's message is the client's providerCode.
"""

from __future__ import annotations

import re
from typing import Any

from providers.errors import ErrorCode
from providers.errortable import ErrorRule, ErrorTable

E = ErrorCode
_I = re.IGNORECASE
_QUOTE = r"[`'\"\u2018\u2019\u201c\u201d<>]*"  # straight, curly or angle quotes
REQUIRED_MESSAGE = re.compile(rf"^\W*field\s+{_QUOTE}(?P<label>.+?){_QUOTE}\s+is\s+required", _I)

ERROR_TABLE = ErrorTable(
    [
        ErrorRule(
            E.INVALID_CONTACT_ID,
            re.compile(r"contact id you provided is not valid", _I),
            field="id",
        ),
        ErrorRule(
            E.MISSING_FIELDS, re.compile(r"provide at least one field", _I), field="customFields"
        ),
        ErrorRule(E.MISSING_STATUS, re.compile(r"^\W*please provide a status", _I), field="status"),
        ErrorRule(
            E.MISSING_STATUS, re.compile(r"^\W*contact status is required", _I), field="status"
        ),
        ErrorRule(
            E.INVALID_STATUS, re.compile(r"status you provided is not valid", _I), field="status"
        ),
        ErrorRule(
            E.UNKNOWN_FIELD,
            re.compile(
                rf"unable to find a field with the merge[\s_-]?tag\s*{_QUOTE}(?P<tag>\w+)", _I
            ),
            field="customFields.{tag}",
        ),
        ErrorRule(
            E.CONTACT_NOT_FOUND,
            re.compile(r"(couldn.?t|could not) find a contact with that id", _I),
            field="id",
        ),
        ErrorRule(E.MISSING_EMAIL, re.compile(r"an email address is required", _I), field="email"),
        ErrorRule(E.REQUIRED_FIELD_MISSING, REQUIRED_MESSAGE, field="customFields"),
        ErrorRule(
            E.UNKNOWN_TAG,
            re.compile(rf"tag\s+id\s*{_QUOTE}(?P<id>\d+){_QUOTE}\s+does not exist", _I),
            field="tags",
        ),
        ErrorRule(E.UNAUTHORIZED, re.compile(r"provide a valid api key", _I), status=401),
        ErrorRule(E.UNAUTHORIZED, re.compile(r"invalid or has been revoked", _I), status=401),
        ErrorRule(E.FORBIDDEN, re.compile(r"ip address is not authori[sz]ed", _I), status=403),
        ErrorRule(
            E.CONTACT_NOT_FOUND,
            re.compile(r"(couldn.?t|could not) find a contact with that email", _I),
            field="email",
        ),
    ]
)


def read_error(body: Any) -> tuple[str | None, str | None]:
    """The message, from the envelope or, tolerantly, without it: it is also the table key."""
    message: Any = body
    if isinstance(body, dict):
        inner = body.get("error")
        message = inner.get("message") if isinstance(inner, dict) else inner
        if not (isinstance(message, str) and message.strip()):
            message = body.get("message")
    text = message.strip() if isinstance(message, str) and message.strip() else None
    return text, text
