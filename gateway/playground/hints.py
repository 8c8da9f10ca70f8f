"""What the sandbox simulators know, shown on the playground in sandbox mode.

Built from the simulators' own constants where they have them, so the page cannot drift from
the data. Heymarket and CampaignLark get their entries when their simulators land.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.sandbox import SANDBOX_LIST_NUMBER
from providers.model import ProviderName
from providers.sandbox import trackly as trackly_sim


@dataclass(frozen=True)
class Hint:
    label: str
    values: tuple[str, ...]


def _trackly() -> tuple[Hint, ...]:
    lists = tuple(
        f"{number} ({journeys} Welcome Journey{'s' if journeys != 1 else ''})"
        + (" default" if number == SANDBOX_LIST_NUMBER else "")
        for number, journeys in trackly_sim.LISTS.items()
    )
    return (
        Hint("Sending lists (listNumber)", lists),
        Hint(
            "Phone numbers",
            (
                "any valid number, e.g. +14155552671 or (415) 555-2671 (region US)",
                "new numbers 555-0100..555-0199 of any area code are VOIP: "
                "+14155550123 gives NotSendableError",
            ),
        ),
        Hint(
            "Emails and names",
            (
                "Trackly keys contacts by phone; "
                "email, names, tags and status come back as warnings",
            ),
        ),
        Hint("Custom fields", ("any name; values are strings, numbers or booleans",)),
    )


HINTS: Mapping[ProviderName, tuple[Hint, ...]] = {
    ProviderName.TRACKLY: _trackly(),
    ProviderName.HEYMARKET: (),
    ProviderName.CAMPAIGNLARK: (),
}
