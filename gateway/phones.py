"""Phone numbers in any usual format -> E.164, with the gateway's default region."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

# Bulk imports repeat list numbers and often phones; parsing is the costliest check we make.
_CACHE_SIZE = 16_384
MAX_PHONE_LENGTH = 64


class InvalidPhone(ValueError):
    """The text is not a phone number that can receive messages in any region."""


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_phone(raw: str, region: str) -> str:
    """Return E.164 ('+14155552671') for `raw`, or raise InvalidPhone saying why."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("is empty")
    if len(text) > MAX_PHONE_LENGTH:
        raise InvalidPhone("is too long to be a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"cannot be read as a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            "is not a valid number"
            + ("" if text.startswith("+") else f" in region {region}; add the +country code")
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
