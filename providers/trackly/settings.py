"""[providers.trackly]: the account's key, its default sending list."""

from __future__ import annotations

import re

from pydantic import SecretStr, field_validator

from providers.settings import ProviderSettings

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class TracklySettings(ProviderSettings):
    base_url: str = "https://app.tracklysms.com/api"
    api_key: SecretStr
    default_list_number: str | None = None

    @field_validator("default_list_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not _E164.match(value):
            raise ValueError("must be an E.164 number with its '+', e.g. +18005551234")
        return value
