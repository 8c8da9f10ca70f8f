"""Settings every provider account shares; each adapter extends them with its own keys.

Pydantic models with `extra="forbid"`, so a misspelt key in the TOML is a start-up error
that names it, and `SecretStr`, so a credential never shows in a repr, a log or an error.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from providers.resilience.pacing import Rate


class ProviderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    api_key: SecretStr | None = None
    # Per HTTP call; the gateway's deadline_seconds bounds a whole operation.
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    read_timeout: float = Field(default=10.0, gt=0, le=300)
    write_timeout: float = Field(default=10.0, gt=0, le=300)
    pool_timeout: float = Field(default=5.0, gt=0, le=300)
    max_connections: int = Field(default=100, ge=1, le=10_000)
    # Requests in flight to this account at once, across all mutations.
    max_concurrency: int = Field(default=64, ge=1, le=10_000)
    # The provider's documented budget, e.g. "500/minute"; None: not paced.
    rate_limit: str | None = None
    retry_attempts: int = Field(default=4, ge=1, le=20)
    retry_initial_wait: float = Field(default=0.2, ge=0, le=60)
    retry_max_wait: float = Field(default=5.0, ge=0, le=300)
    breaker_threshold: int = Field(default=5, ge=1, le=1_000)
    breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3_600)

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            Rate.parse(value)  # raises ValueError with the accepted forms
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


def secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
