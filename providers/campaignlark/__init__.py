"""CampaignLark: an email platform; contacts keyed by email, custom fields are merge tags."""

from providers.base import ProviderSpec
from providers.campaignlark.adapter import CampaignLarkAdapter
from providers.campaignlark.settings import CampaignLarkSettings

SPEC = ProviderSpec.of(
    CampaignLarkAdapter, CampaignLarkSettings, docs_url="https://docs.campaignlark.com"
)

__all__ = ["SPEC", "CampaignLarkAdapter", "CampaignLarkSettings"]
