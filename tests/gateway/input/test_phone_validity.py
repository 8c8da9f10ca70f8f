"""The precompiled validity check answers what phonenumbers.is_valid_number answers."""

from __future__ import annotations

import random

import phonenumbers

from gateway.input import phone_validity


def test_the_compiled_validity_check_is_is_valid_number_for_every_country_code() -> None:
    rng = random.Random(7)
    compared = 0
    for country_code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(40):
            nsn = rng.choice("123456789") + "".join(
                rng.choice("0123456789") for _ in range(rng.randint(3, 12))
            )
            number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(nsn))
            valid = phone_validity.is_valid_number(country_code, nsn)
            assert valid == phonenumbers.is_valid_number(number), (country_code, nsn)
            compared += 1
    assert compared > 8_000


def test_numbers_of_regions_sharing_a_country_code_are_found_in_their_own_region() -> None:
    # +1 has 25 regions (some found by leading digits), +44 four, +7 two: a valid number of each.
    for region in ("US", "CA", "JM", "KY", "PR", "GB", "JE", "GG", "IM", "RU", "KZ"):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None and example.country_code is not None
        nsn = phonenumbers.national_significant_number(example)
        assert phone_validity.is_valid_number(example.country_code, nsn), region
