"""phonenumbers.is_valid_number for a (country code, national number), its patterns compiled once.

is_valid_number finds the number's region among those sharing its country code (a region's
leading digits, else the region whose patterns the number matches), then asks whether the
number has a known type there: it matches the region's general pattern and one of its type
patterns, each guarded by the type's possible lengths. That walk costs about 5 us in
phonenumbers, mostly in looking up metadata and descriptors; here each region's test is one
precompiled regular expression per number length, built the first time a country code is seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc

# _number_type_helper's order; mobile is tested last, and only when its pattern differs.
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


def _applies(desc: PhoneNumberDesc | None, length: int) -> str | None:
    """The desc's pattern if _is_number_matching_desc may accept a number of `length`."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return desc.national_number_pattern


@dataclass(slots=True)
class _Region:
    """One region's _number_type_helper(nsn) != UNKNOWN, as one regex per number length."""

    metadata: PhoneMetadata
    leading: re.Pattern[str] | None
    # is_valid_number_for_region refuses a region of another country code, whatever the number.
    own: bool
    by_length: dict[int, re.Pattern[str] | None] = field(default_factory=dict)

    def has_type(self, nsn: str) -> bool:
        length = len(nsn)
        try:
            pattern = self.by_length[length]
        except KeyError:
            pattern = self.by_length[length] = self._compile(length)
        return pattern is not None and pattern.fullmatch(nsn) is not None

    def _compile(self, length: int) -> re.Pattern[str] | None:
        general = _applies(self.metadata.general_desc, length)
        descs = [getattr(self.metadata, name) for name in _TYPE_DESCS]
        if not self.metadata.same_mobile_and_fixed_line_pattern:
            descs.append(self.metadata.mobile)
        types = [p for p in (_applies(desc, length) for desc in descs) if p is not None]
        if general is None or not types:
            return None
        # fullmatch of an alternation is "some alternative matches it all" (the patterns have
        # no backreferences); the lookahead adds the general pattern's condition.
        either = "|".join(f"(?:{p})" for p in types)
        return re.compile(f"(?=(?:{general})\\Z)(?:{either})")


@dataclass(frozen=True, slots=True)
class _Country:
    """The regions is_valid_number may pick for one country code, in its order."""

    regions: tuple[_Region, ...]
    single: bool

    def is_valid(self, nsn: str) -> bool:
        if self.single:
            return bool(self.regions) and self.regions[0].own and self.regions[0].has_type(nsn)
        for region in self.regions:
            if region.leading is not None:
                if region.leading.match(nsn):
                    return region.own and region.has_type(nsn)
            elif region.has_type(nsn):
                return region.own
        return False


def is_valid_number(country_code: int, nsn: str) -> bool:
    """phonenumbers.is_valid_number(PhoneNumber(country_code, nsn)), nsn without extension.

    `nsn` is the national significant number (leading zeros included); `country_code` must be
    a key of phonenumbers.COUNTRY_CODE_TO_REGION_CODE.
    """
    return _country(country_code).is_valid(nsn)


@cache
def _country(country_code: int) -> _Country:
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code]
    single = len(codes) == 1
    regions = []
    for code in codes:
        # A lone region is taken as found (and validated with the non-geographic metadata when
        # it is "001"); in a list, regions without metadata are skipped, as phonenumbers does.
        if single:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, code)
        else:
            metadata = PhoneMetadata.metadata_for_region(code, None)
        if metadata is None:
            continue
        own = code == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY or (
            metadata.country_code == country_code
        )
        leading = None if metadata.leading_digits is None else re.compile(metadata.leading_digits)
        regions.append(_Region(metadata, leading, own))
    return _Country(tuple(regions), single)
