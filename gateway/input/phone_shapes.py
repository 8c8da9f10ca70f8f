"""The usual shapes of a phone number, read as phonenumbers.parse reads them, at a tenth the cost.

parse is lenient: it pulls a number out of free text, strips extensions, maps vanity letters,
international and national prefixes. On text made only of ASCII digits, the separators
` ().-` and at most one leading '+', none of the text-level steps can apply (no letters, `x`,
`#`, `;` or `/`), so parse's result depends on the digits alone. Two shapes are read here:

* '+' then digits: the country code is the shortest known prefix (as _extract_country_code);
* digits in the default region's national format, with or without its country code.

Whenever a step of parse could go another way on those digits (an international or national
prefix that would be stripped, too few or too many digits), read() answers None and the caller
runs phonenumbers itself: this module only ever skips work whose outcome it knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata

_SHAPE = re.compile(r"\+?[0-9 ().-]+")
_NOT_DIGITS = b"+ ().-"
# phonenumbers' _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN: parse raises outside them.
_MIN_NSN = 2
_MAX_NSN = 17
_COUNTRY_CODES = phonenumbers.COUNTRY_CODE_TO_REGION_CODE


def read(text: str, region: str) -> tuple[int, str] | None:
    """(country code, national significant number) of parse(text, region), or None.

    `text` is stripped. None means "not provably the same as parse": take the full path.
    """
    if region not in phonenumbers.SUPPORTED_REGIONS or _SHAPE.fullmatch(text) is None:
        return None
    # The shape is ASCII; bytes.translate deletes in C, str.translate does a dict lookup a char.
    digits = text.encode().translate(None, _NOT_DIGITS).decode()
    # _is_viable_phone_number wants three digits, or two with nothing else.
    if len(digits) < 3:
        return None
    if text[0] == "+":
        return _international(digits)
    return _national(digits, _region(region))


def _international(digits: str) -> tuple[int, str] | None:
    # Past the '+', a country code never starts with 0 (parse then retries without the '+').
    if digits[0] == "0":
        return None
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in _COUNTRY_CODES:
            break
    else:
        return None
    nsn = digits[size:]
    if not _MIN_NSN <= len(nsn) <= _MAX_NSN or _matches(_home(country_code), nsn):
        return None
    # Leading zeros become italian_leading_zero and number_of_leading_zeros, from which
    # national_significant_number rebuilds exactly `nsn`.
    return country_code, nsn


@dataclass(frozen=True, slots=True)
class _Region:
    """What parse consults about the default region for digits without '+'."""

    country_code: int
    code: str
    idd: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    # _test_number_length of the full digits is TOO_LONG at these lengths (general desc).
    too_long_from: int


def _national(digits: str, region: _Region) -> tuple[int, str] | None:
    if region.idd is not None and region.idd.match(digits):
        return None
    if digits.startswith(region.code):
        # With its country code: parse keeps the code as such when the full digits are too long
        # for the region (else it compares pattern matches: left to parse). The national prefix
        # is then stripped with this region's metadata, and again with the code's main region's.
        if len(digits) < region.too_long_from:
            return None
        nsn = digits[len(region.code) :]
        if _matches(region.national_prefix, nsn) or _matches(_home(region.country_code), nsn):
            return None
    else:
        nsn = digits
        if _matches(region.national_prefix, nsn):
            return None
    if not _MIN_NSN <= len(nsn) <= _MAX_NSN:
        return None
    return region.country_code, nsn


def _matches(national_prefix: re.Pattern[str] | None, nsn: str) -> bool:
    """Whether _maybe_strip_national_prefix_carrier_code may change `nsn` (its pattern matches)."""
    return national_prefix is not None and national_prefix.match(nsn) is not None


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


@cache
def _home(country_code: int) -> re.Pattern[str] | None:
    """The national prefix parse strips with once it has found `country_code`: its main region's."""
    main = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main)
    assert metadata is not None  # the code comes from COUNTRY_CODE_TO_REGION_CODE
    return _compile(metadata.national_prefix_for_parsing)


@cache
def _region(code: str) -> _Region:
    metadata = PhoneMetadata.metadata_for_region(code)
    assert metadata is not None and metadata.country_code is not None  # a supported region
    idd = metadata.international_prefix
    general = metadata.general_desc
    lengths = general.possible_length if general is not None else ()
    local = general.possible_length_local_only if general is not None else ()
    # TOO_LONG is "longer than the longest possible length" and not a local-only length.
    too_long_from = max([*lengths, *local]) + 1 if lengths else _MAX_NSN + 100
    return _Region(
        metadata.country_code,
        str(metadata.country_code),
        # An empty prefix still matches (parse compiles whatever is not None).
        None if idd is None else re.compile(idd),
        _compile(metadata.national_prefix_for_parsing),
        too_long_from,
    )
