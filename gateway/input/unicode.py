"""Well-formed Unicode in what a client sends, checked before anything uses it.

JSON may carry lone surrogates (`"\\ud800"`, or their raw UTF-8-like bytes, which Python's json
accepts): strings no UTF-8 encoder can write. One in `operationName` once made a 500, the error
message that named it failing to encode. The request's own parts (query, operationName,
extensions) are refused here with 400; the variables' values are the inputs' business
(gateway.input.validation refuses each with the typed error of its field, a custom field's as
INVALID_CUSTOM_FIELDS, before any provider call), and graphql-core refuses variables that name
no input field. The headers the gateway reads are bytes decoded as latin-1, which holds no
surrogate. Whatever is echoed in an error message goes through `printable`.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> bool:
    if text.isascii():  # nearly every string: no need to look further
        return True
    return _SURROGATE.search(text) is None


def ill_formed_in(value: Any) -> bool:
    """Whether any string in a JSON value (keys included) holds a lone surrogate."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not well_formed(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def ill_formed_part(query: Any, operation_name: Any, extensions: Any) -> str | None:
    """The first part of a GraphQL request that is not well-formed Unicode, by its name."""
    if (
        extensions is None
        and (type(query) is not str or query.isascii())
        and (type(operation_name) is not str or operation_name.isascii())
    ):
        return None  # nearly every request: nothing to look into
    for name, part in (("query", query), ("operationName", operation_name)):
        if isinstance(part, str) and not well_formed(part):
            return name
    return "extensions" if ill_formed_in(extensions) else None


def printable(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so it can be encoded as UTF-8."""
    return text if well_formed(text) else _SURROGATE.sub("\ufffd", text)
