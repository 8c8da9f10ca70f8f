"""The shapes fast path answers exactly what phonenumbers.parse would, on every input.

normalize_phone reads the usual shapes itself (gateway/phone_shapes.py) and validates with
precompiled metadata (gateway/phone_validity.py); _normalize_full is the phonenumbers path.
The two are compared on generated strings, on a curated list of traps, and on every region's
example numbers, and on every region phonenumbers knows: each one's example numbers of every
type in every format, random digits in its own formats, generated text under it as the
default region (tests/gateway/input/test_phone_validity.py checks the validity part alone).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.input import phone_shapes
from gateway.input.phones import MAX_PHONE_LENGTH, InvalidPhone, _normalize_full, normalize_phone

REGIONS = ["US", "CA", "GB", "DE", "FR", "IN", "BR", "AU", "JM", "KY", "IT", "AR"]
DIFFERENTIAL = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

fast_or_full: Callable[[str, str], str] = normalize_phone


def outcome(normalize: Callable[[str, str], str], raw: str, region: str) -> str:
    try:
        return normalize(raw, region)
    except InvalidPhone as exc:
        return f"InvalidPhone: {exc}"


def assert_same(raw: str, region: str) -> None:
    expected = outcome(_normalize_full, raw, region)
    assert outcome(fast_or_full, raw, region) == expected, (raw, region)


# Any mix of what a phone field holds: digits, separators, '+', letters, extension marks.
ANY_TEXT = st.text(alphabet="0123456789 -.()+abcxXEFLOW#\t\n/;,~", max_size=30)
# Near the fast path's shapes: an optional prefix, digit groups, separators; now and then junk.
PREFIXES = ["", "+", "+1", "1", "+44", "0", "00", "011", "+39", "+7", "+54 9", "+0", "++1", "(+1)"]
SEPARATORS = ["", " ", "-", ".", "(", ")", ") ", " (", "  "]
SHAPED = st.builds(
    lambda prefix, groups, separators, junk: (
        prefix + "".join(sep + group for sep, group in zip(separators, groups, strict=False)) + junk
    ),
    st.sampled_from(PREFIXES),
    st.lists(st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=5),
    st.lists(st.sampled_from(SEPARATORS), min_size=5, max_size=5),
    st.sampled_from(["", "", "", " x12", "#", "a", " ", "-", ")", "/x2"]),
)
# Ten- and eleven-digit NANP-looking numbers, where validity (not shape) decides.
NANP = st.builds(
    lambda lead, digits, style: style.format(lead, digits[:3], digits[3:6], digits[6:]),
    st.sampled_from(["", "1", "+1", "1 ", "+1 "]),
    st.one_of(
        st.text("0123456789", min_size=10, max_size=10),
        st.from_regex(r"[2-9][0-8][0-9][2-9][0-9]{6}", fullmatch=True),
    ),
    st.sampled_from(["{}{}{}{}", "{}({}) {}-{}", "{}{}.{}.{}", "{}{}-{}-{}"]),
)
# Mostly valid numbers of any country: an example number with its last digits redrawn.
EXAMPLES = sorted(
    (number.country_code, str(number.national_number))
    for region in phonenumbers.SUPPORTED_REGIONS
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
)
NEAR_VALID = st.builds(
    lambda example, tail, plus, space: (
        f"{'+' + str(example[0]) + space if plus else ''}{example[1][: -len(tail)]}{space}{tail}"
    ),
    st.sampled_from(EXAMPLES),
    st.text("0123456789", min_size=1, max_size=4),
    st.booleans(),
    st.sampled_from(["", " ", "-"]),
)


@pytest.mark.parametrize("region", REGIONS)
@DIFFERENTIAL
@given(raw=st.one_of(ANY_TEXT, SHAPED, NANP, NEAR_VALID))
def test_the_fast_path_agrees_with_phonenumbers_on_generated_text(region: str, raw: str) -> None:
    assert_same(raw, region)


# fmt: off
TRAPS = [
    # leading 1 without '+', and the country code alone or doubled
    "14155552671", "1 415 555 2671", "1(415)555-2671", "11 415 555 2671", "1", "12", "1 2",
    "+1", "+12", "+1 1", "1415555267", "141555526712",
    # 555, N11 area codes and exchanges, 0/1 first digits
    "(415) 555-0100", "(555) 555-5555", "(911) 555-1234", "(411) 555-1234", "415-911-1234",
    "(015) 555-2671", "(115) 555-2671", "1 (015) 555 2671", "1 (115) 555 2671", "0415 555 2671",
    "+1 015 555 2671", "+1 115 555 2671", "+1 1415 555 2671",
    # toll-free and NANP islands under any default region
    "1-800-555-1234", "(888) 555-1234", "+1 833 555 1234", "876 555 1234", "+1 876 555 1234",
    "1 345 949 1234", "345 949 1234", "949 1234", "+1 345 949 1234", "+1 649 946 1234",
    # too short, too long
    "415", "555-2671", "+1 415 555", "+1 415 555 26711", "4155552671123456789",
    "+1" + "2" * 17, "+44" + "7" * 18, "1" * MAX_PHONE_LENGTH, "1" * (MAX_PHONE_LENGTH + 1),
    # letters, extensions, second numbers, RFC 3966
    "1-800-FLOWERS", "1-800-flowers", "(415) 555-2671 x123", "(415) 555-2671 ext. 12",
    "(415) 555-2671#", "415-555-2671 / x2", "+1 415 555 2671;ext=12", "tel:+1-415-555-2671",
    "415 555 2671;phone-context=+44", "+14155552671,,12", "4l5 555 2671", "415 555 267I",
    # IDDs, national prefixes, trunk zeros, italian leading zeros, odd country codes
    "011 44 7911 123456", "00 44 7911 123456", "+44 (0) 7911 123456", "+44 07911 123456",
    "07911 123456", "7911 123456", "+39 06 1234 5678", "06 1234 5678", "+39 0000", "+39 00 00",
    "+7 912 345 67 89", "8 912 345 67 89", "+54 9 11 1234 5678", "011 15 1234 5678",
    "+49 30 1234567", "030 1234567", "+33 6 12 34 56 78", "06 12 34 56 78", "+91 98765 43210",
    "98765 43210", "+55 11 91234 5678", "(11) 91234-5678", "+61 4 1234 5678", "0412 345 678",
    "+800 1234 5678", "+882 3456 7890", "+0 415 555 2671", "+999 123456789", "+38 123456",
    # plus signs and brackets in odd places, separators only, non-ASCII digits and spaces
    "++1 415 555 2671", "(+1) 415 555 2671", "+ 1 415 555 2671", "+(1) 415 555 2671",
    "415+555+2671", "()-. ", "+", "", "   ", "-415-555-2671-", "(415) 555-2671)",
    "\uff14\uff11\uff15 555 2671", "415\u00a0555\u00a02671", "\uff0b1 415 555 2671",
]
# fmt: on


@pytest.mark.parametrize("region", [*REGIONS, "BS", "us", "ZZ", "001"])
def test_the_fast_path_agrees_with_phonenumbers_on_the_traps(region: str) -> None:
    for raw in TRAPS:
        assert_same(raw, region)


def test_every_regions_example_numbers_agree_in_every_format() -> None:
    formats = [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    compared = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for text in [phonenumbers.format_number(example, f) for f in formats]:
                for default in ("US", region):
                    assert_same(text, default)
                    compared += 1
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            assert_same(national, region)
    assert compared > 1_500


def test_the_length_limits_are_phonenumbers_own() -> None:
    # Private in phonenumbers: a release that moves them must fail here, not drift silently.
    limits = {
        name: getattr(phonenumbers.phonenumberutil, name)
        for name in ("_MIN_LENGTH_FOR_NSN", "_MAX_LENGTH_FOR_NSN")
    }
    assert limits == {
        "_MIN_LENGTH_FOR_NSN": phone_shapes._MIN_NSN,
        "_MAX_LENGTH_FOR_NSN": phone_shapes._MAX_NSN,
    }


@pytest.mark.parametrize(
    ("raw", "region", "read"),
    [
        ("(415) 555-2671", "US", (1, "4155552671")),
        ("1-415-555-2671", "US", (1, "4155552671")),
        ("+1 415 555 2671", "GB", (1, "4155552671")),
        ("876 555 1234", "JM", (1, "8765551234")),
        ("+44 7911 123456", "US", (44, "7911123456")),
        ("+39 06 1234 5678", "US", (39, "0612345678")),
    ],
)
def test_the_usual_shapes_take_the_fast_path(raw: str, region: str, read: tuple[int, str]) -> None:
    assert phone_shapes.read(raw, region) == read


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("07911 123456", "GB"),  # national prefix 0: parse strips it
        ("011 44 7911 123456", "US"),  # international prefix
        ("1 415 555 267", "US"),  # with "1", not too long: parse weighs the patterns
        ("949 1234", "KY"),  # seven digits: KY's prefix rule adds the area code
        ("+1 115 555 2671", "US"),  # "1" after the country code: the US national prefix
        ("1-800-FLOWERS", "US"),
        ("(415) 555-2671 x123", "US"),
        ("415 555 2671", "us"),  # not a region code as phonenumbers spells it
        ("12", "US"),
    ],
)
def test_other_inputs_are_left_to_phonenumbers(raw: str, region: str) -> None:
    assert phone_shapes.read(raw, region) is None


# -- every region phonenumbers knows ----------------------------------------------------------

ALL_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
ALL_TYPES = [
    getattr(phonenumbers.PhoneNumberType, name)
    for name in (
        "FIXED_LINE",
        "MOBILE",
        "TOLL_FREE",
        "PREMIUM_RATE",
        "SHARED_COST",
        "VOIP",
        "PERSONAL_NUMBER",
        "PAGER",
        "UAN",
        "VOICEMAIL",
    )
]
ALL_FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


def test_every_regions_example_numbers_of_every_type_agree_in_every_format() -> None:
    """Each region's example number of each type, in each format, under that region and US."""
    compared = 0
    for region in ALL_REGIONS:
        for kind in ALL_TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for style in ALL_FORMATS:
                text = phonenumbers.format_number(example, style)
                for default in (region, "US"):
                    assert_same(text, default)
                    compared += 1
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):  # +800, +882, ...
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            for style in ALL_FORMATS:
                assert_same(phonenumbers.format_number(example, style), "US")
                compared += 1
    assert compared > 8_000


def _random_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber | None:
    """A number of `region`'s country code with random digits of one of its possible lengths,
    often starting like its example numbers (so that some of them are valid)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None and metadata.country_code is not None
    general = metadata.general_desc
    lengths = list(general.possible_length) if general and general.possible_length else [8]
    length = max(2, rng.choice(lengths) + rng.choice([0, 0, 0, -1, 1]))
    starts = [
        phonenumbers.national_significant_number(example)
        for kind in ALL_TYPES
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    keep = rng.randint(0, min(length - 1, 4)) if starts else 0
    head = rng.choice(starts)[:keep] if starts else ""
    nsn = head + "".join(rng.choice("0123456789") for _ in range(length - len(head)))
    try:  # parse builds the leading zeros of an Italian-style number as phonenumbers keeps them
        return phonenumbers.parse(f"+{metadata.country_code}{nsn}", None)
    except phonenumbers.NumberParseException:
        return None


def test_random_numbers_of_every_region_agree_in_every_format() -> None:
    """Random digits of every region's lengths, written in that region's own formats (as
    format_number lays them out: national prefix, groups, separators), under that region and
    under US."""
    rng = random.Random(2025)
    compared = fast = 0
    for region in ALL_REGIONS:
        for _ in range(30):
            number = _random_number(rng, region)
            if number is None:
                continue
            text = phonenumbers.format_number(number, rng.choice(ALL_FORMATS))
            for default in (region, "US"):
                assert_same(text, default)
                compared += 1
                fast += phone_shapes.read(text, default) is not None
    assert compared > 10_000
    assert fast > compared // 3  # the shortcut itself was compared, not only phonenumbers


@DIFFERENTIAL
@given(
    region=st.sampled_from(ALL_REGIONS),
    raw=st.one_of(ANY_TEXT, SHAPED, NANP, NEAR_VALID),
)
def test_the_fast_path_agrees_with_phonenumbers_under_any_default_region(
    region: str, raw: str
) -> None:
    assert_same(raw, region)
