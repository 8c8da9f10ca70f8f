"""Suite-wide settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina


@pytest.fixture(autouse=True)
def no_backoff_sleeps() -> Iterator[None]:
    """Retries happen as configured, but without their backoff sleeps (stamina's test mode).

    Tests that check waits read them from the retry hook or a fake clock, never from time.
    """
    stamina.set_testing(True, attempts=20, cap=True)
    yield
    stamina.set_testing(False)
