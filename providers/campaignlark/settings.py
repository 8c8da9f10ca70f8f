"""[providers.campaignlark]: the workspace key, the phone merge tag, budget and catalogue TTL."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from providers.settings import ProviderSettings

_MERGE_TAG = re.compile(r"^[a-z_]{2,16}$")


class CampaignLarkSettings(ProviderSettings):
    base_url: str = "https://api.campaignlark.com"
    api_key: SecretStr
    phone_merge_tag: str | None = None  # the merge tag that stores a contact's phone
    rate_limit: str | None = "100/second"  # CampaignLark's documented budget per workspace
    # How long the workspace's fields and tags are reused (fleet-wide with Redis).
    catalogue_ttl_seconds: float = Field(default=300.0, gt=0, le=86_400)

    @field_validator("phone_merge_tag")
    @classmethod
    def _merge_tag(cls, value: str | None) -> str | None:
        if value is not None and not _MERGE_TAG.match(value):
            raise ValueError("must be a CampaignLark merge tag: 2 to 16 of a-z and _")
        return value
