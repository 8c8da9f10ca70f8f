"""CampaignLark: an email platform; contacts keyed by email, custom fields are merge tags."""

from providers.base import ProviderSpec
from providers.campaignlark.adapter import CampaignLarkAdapter
from providers.campaignlark.settings import CampaignLarkSettings
from providers.model import ProviderName

SPEC = ProviderSpec(
    name=ProviderName.CAMPAIGNLARK,
    settings=CampaignLarkSettings,
    build=CampaignLarkAdapter,  # type: ignore[arg-type]
    docs_url="https://docs.campaignlark.com",
)

__all__ = ["SPEC", "CampaignLarkAdapter", "CampaignLarkSettings"]
