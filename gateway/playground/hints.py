"""What the sandbox simulators know, shown on the playground in sandbox mode.

Built from the simulators' own constants where they have them, so the page cannot drift from
the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from providers.campaignlark import sandbox as campaignlark_sim
from providers.heymarket import sandbox as heymarket_sim
from providers.model import ProviderName
from providers.trackly import sandbox as trackly_sim


@dataclass(frozen=True)
class Hint:
    label: str
    values: tuple[str, ...]


def _trackly() -> tuple[Hint, ...]:
    lists = tuple(
        f"{number} ({journeys} Welcome Journey{'s' if journeys != 1 else ''})"
        + (" default" if number == trackly_sim.SANDBOX_LIST_NUMBER else "")
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


def _heymarket() -> tuple[Hint, ...]:
    first_tags = tuple(list(heymarket_sim.TAGS.values())[:5])
    return (
        Hint("Phone numbers", ("any valid number; Heymarket keys contacts by phone",)),
        Hint("Custom fields (by name)", tuple(heymarket_sim.FIELDS.values())),
        Hint(
            "Tags (by name)",
            (*first_tags, "tag-06 ... tag-35", f"at most {heymarket_sim.MAX_TAGS} per contact"),
        ),
        Hint("Status", ("SUBSCRIBED and UNSUBSCRIBED are stored (is_opted_out)",)),
    )


def _campaignlark() -> tuple[Hint, ...]:
    fields = tuple(
        f.merge_tag + (" (required)" if f.required else "")
        for f in campaignlark_sim.default_fields()
    )
    return (
        Hint("Emails", ("any valid address; CampaignLark keys contacts by email",)),
        Hint("Custom fields (merge tags)", fields),
        Hint("Tags (by name)", tuple(campaignlark_sim.default_tags().values())),
        Hint("Phone", (f"stored in the merge tag {campaignlark_sim.SANDBOX_PHONE_MERGE_TAG}",)),
    )


HINTS: Mapping[ProviderName, tuple[Hint, ...]] = {
    ProviderName.TRACKLY: _trackly(),
    ProviderName.HEYMARKET: _heymarket(),
    ProviderName.CAMPAIGNLARK: _campaignlark(),
}
