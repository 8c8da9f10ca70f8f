"""CampaignLark: an email platform; contacts keyed by email, custom fields are merge tags."""

from pydantic import SecretStr

from providers.base import ProviderSpec, SandboxSpec
from providers.campaignlark.adapter import CampaignLarkAdapter
from providers.campaignlark.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_PHONE_MERGE_TAG,
    CampaignLarkSimulator,
)
from providers.campaignlark.settings import CampaignLarkSettings


def _sandbox_account(url: str) -> CampaignLarkSettings:
    return CampaignLarkSettings(
        base_url=url, api_key=SecretStr(SANDBOX_API_KEY), phone_merge_tag=SANDBOX_PHONE_MERGE_TAG
    )


SPEC = ProviderSpec.of(
    CampaignLarkAdapter,
    CampaignLarkSettings,
    docs_url="https://docs.campaignlark.com",
    sandbox=SandboxSpec(CampaignLarkSimulator, _sandbox_account),
)

__all__ = ["SPEC", "CampaignLarkAdapter", "CampaignLarkSettings"]
