"""CPU per distinct phone number: normalize_phone (shapes fast path) vs phonenumbers.parse.

Run: .venv/bin/python -m bench.phones (the machine is shared: the best of five rounds of CPU
time is printed, and the ratio matters more than the absolute figure). Each round normalises
20,000 distinct numbers per shape, uncached (the lru_cache in front is bypassed).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from gateway.input.phones import InvalidPhone, _normalize_full, normalize_phone

COUNT = 20_000
ROUNDS = 5

# (label, region, format of the n-th number); the last two take the full path on purpose.
SHAPES: list[tuple[str, str, Callable[[int], str]]] = [
    ("US national", "US", lambda n: f"(415) {200 + n // 10_000}-{n % 10_000:04d}"),
    ("US 1-prefixed", "US", lambda n: f"1-415-{200 + n // 10_000}-{n % 10_000:04d}"),
    ("E.164 +1", "US", lambda n: f"+1415{200 + n // 10_000}{n % 10_000:04d}"),
    ("E.164 +44 mobile", "US", lambda n: f"+44 7911 {100_000 + n}"),
    ("E.164 +49", "US", lambda n: f"+49 30 {1_000_000 + n}"),
    ("GB national 0 (full)", "GB", lambda n: f"07911 {100_000 + n}"),
    ("vanity/extension (full)", "US", lambda n: f"(415) 555-{n % 10_000:04d} x{n}"),
]


def _cpu_us(normalize: Callable[[str, str], str], numbers: list[str], region: str) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        for number in numbers:
            with contextlib.suppress(InvalidPhone):
                normalize(number, region)
        best = min(best, time.process_time() - start)
    return best / len(numbers) * 1e6


def main() -> None:
    fast = normalize_phone
    print(f"{'shape':<26}{'fast path':>12}{'full path':>12}   (us CPU per number)")
    for label, region, shape in SHAPES:
        numbers = [shape(n) for n in range(COUNT)]
        fast(numbers[0], region)  # compile the region's patterns outside the timing
        print(
            f"{label:<26}{_cpu_us(fast, numbers, region):>12.2f}"
            f"{_cpu_us(_normalize_full, numbers, region):>12.2f}"
        )


if __name__ == "__main__":
    main()
