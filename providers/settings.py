"""Settings every provider account shares; each adapter extends them with its own keys.

Pydantic models with `extra="forbid"`, so a misspelt key in the TOML is a start-up error
that names it, and `SecretStr`, so a credential never shows in a repr, a log or an error.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class ProviderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    api_key: SecretStr | None = None
    # Per HTTP call; the gateway's deadline_seconds bounds a whole operation.
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_connections: int = Field(default=100, ge=1, le=10_000)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


def secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
