"""Phone numbers in any usual format -> E.164, with the gateway's default region."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from gateway.input import phone_shapes, phone_validity

# A bulk or an import repeats its list number on every contact: remembered (`normalize_repeated`).
# A contact's phone seldom repeats, and a cache that misses costs more than it saves (each miss
# evicts: `make bench` 7 (a), 100,000 distinct phones), so phones are read afresh.
_CACHE_SIZE = 1_024
MAX_PHONE_LENGTH = 64


class InvalidPhone(ValueError):
    """The text is not a phone number that can receive messages in any region."""


def normalize_phone(raw: str, region: str) -> str:
    """Return E.164 ('+14155552671') for `raw`, or raise InvalidPhone saying why.

    The usual shapes ('(415) 555-2671', '+44 7911 123456') are read and validated without
    phonenumbers.parse, for a tenth of the CPU; anything else takes the full path. Both give
    the same answer for every input (tests/gateway/input/test_phones_fast_path.py compares them).
    """
    text = raw.strip()
    number = phone_shapes.read(text, region) if len(text) <= MAX_PHONE_LENGTH else None
    if number is None:
        return _normalize_full(raw, region)
    country_code, nsn = number
    if not phone_validity.is_valid_number(country_code, nsn):
        raise InvalidPhone(_not_valid(text, region))
    return f"+{country_code}{nsn}"


normalize_repeated = lru_cache(maxsize=_CACHE_SIZE)(normalize_phone)


def _normalize_full(raw: str, region: str) -> str:
    """normalize_phone through phonenumbers.parse, for any input."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("is empty")
    if len(text) > MAX_PHONE_LENGTH:
        raise InvalidPhone("is too long to be a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"cannot be read as a phone number ({exc._msg})") from None
    if not is_valid(number, region):
        raise InvalidPhone(_not_valid(text, region))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _not_valid(text: str, region: str) -> str:
    return "is not a valid number" + (
        "" if text.startswith("+") else f" in region {region}; add the +country code"
    )


def is_valid(number: phonenumbers.PhoneNumber, region: str) -> bool:
    """phonenumbers.is_valid_number, at half the cost for numbers of the default region.

    is_valid_number first finds the number's region by matching it against each region that
    shares its country code (+1 has 25), then matches it against that region again. When the
    default region is its country code's main region (tried first) and has no leading-digits
    rule, a number valid there is exactly a number is_valid_number accepts; anything else
    takes the full path.
    """
    if number.country_code == _main_country_code(region) and (
        phonenumbers.is_valid_number_for_region(number, region)
    ):
        return True
    return bool(phonenumbers.is_valid_number(number))


@lru_cache(maxsize=64)
def _main_country_code(region: str) -> int | None:
    """The region's country code when the region is tried first for it, else None."""
    code = phonenumbers.country_code_for_region(region)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if not code or metadata is None or metadata.leading_digits is not None:
        return None
    return code if phonenumbers.region_code_for_country_code(code) == region else None
