"""Phone numbers in any usual format become E.164; anything else is refused with a reason."""

from __future__ import annotations

import pytest

from gateway.phones import InvalidPhone, normalize_phone


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
