"""[providers.heymarket]: JWT secrets (preferred) or the legacy key, the budget, catalogue TTL."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from providers.settings import ProviderSettings


class HeymarketSettings(ProviderSettings):
    base_url: str = "https://api.heymarket.com"
    secret_id: SecretStr | None = None
    secret_key: SecretStr | None = None
    rate_limit: str | None = "500/minute"  # Heymarket's documented budget, per key
    # How long the field-id and tag-id maps are trusted before they are fetched again.
    catalogue_ttl_seconds: float = Field(default=300.0, ge=0, le=86_400)

    @model_validator(mode="after")
    def _credentials(self) -> HeymarketSettings:
        if (self.secret_id is None) != (self.secret_key is None):
            raise ValueError("secret_id and secret_key go together (JWT auth): give both")
        if self.secret_id is None and self.api_key is None:
            raise ValueError("give secret_id and secret_key (JWT auth) or api_key (legacy)")
        return self
