"""Phone numbers in any usual format become E.164; anything else is refused with a reason."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from gateway.input.phones import InvalidPhone, is_valid, normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("+1 415 555 2671", "GB", "+14155552671"),
        ("  +44 7911 123456 ", "US", "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("1-800-555-1234", "US", "+18005551234"),
        ("tel:+1-415-555-2671", "US", "+14155552671"),
    ],
)
def test_usual_formats_become_e164(raw: str, region: str, e164: str) -> None:
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize(
    "raw", ["", "   ", "12345", "hello", "+1 415 555", "+999 123456789", "1" * 80, "07911 123456"]
)
def test_unusable_numbers_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw, "US")
    assert str(caught.value)


@pytest.mark.parametrize("region", ["US", "CA", "GB", "DE", "IN", "AG"])
def test_the_fast_validity_check_agrees_with_phonenumbers_on_thousands_of_numbers(
    region: str,
) -> None:
    rng = random.Random(region)
    prefixes = ["", "+1 ", "+44 ", "+49 ", "+91 ", "0"]
    agreed = checked = 0
    for _ in range(1_500):
        raw = rng.choice(prefixes) + "".join(rng.choice("0123456789") for _ in range(10))
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        checked += 1
        agreed += is_valid(number, region) == phonenumbers.is_valid_number(number)
    assert checked > 1_000 and agreed == checked
