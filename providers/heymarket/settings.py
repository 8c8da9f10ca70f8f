"""[providers.heymarket]: JWT secrets (preferred) or the legacy key, the budget, catalogue TTL,
and how bulks use the batch endpoint and the cache of contact ids."""

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
    # New contacts of a bulk per `POST /v1/batch/contacts` request. Heymarket documents no
    # limit, so this stays conservative: at 50 the batch request is 2% of a new contact's cost
    # (one look-up each, one batch per 50), and a larger batch would save at most that 2% while
    # a batch that fails whole (a 5xx, a timeout) puts more contacts back on the single-call
    # path and a larger body at risk of an undocumented size limit. 1 turns the batch
    # endpoint off: every new contact is then a single create, as before the batch path.
    batch_size: int = Field(default=50, ge=1, le=1_000)
    # How long a partial batch waits at least for more new contacts before it goes out (longer
    # when the account's pace needs longer to fill a batch: adapter.batch_wait_for). Also
    # bounds how long a new contact waits between its look-up and its create.
    batch_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    # How long a phone's Heymarket id is remembered (in the account cache, shared by the fleet
    # with Redis) so that a bulk contact given both names skips its look-up. Kept short because
    # the update then goes to that id unseen: a contact whose phone was changed in Heymarket
    # within this time would be given its old phone back.
    contact_id_ttl_seconds: float = Field(default=3_600.0, ge=60, le=7 * 86_400)

    @model_validator(mode="after")
    def _credentials(self) -> HeymarketSettings:
        if (self.secret_id is None) != (self.secret_key is None):
            raise ValueError("secret_id and secret_key go together (JWT auth): give both")
        if self.secret_id is None and self.api_key is None:
            raise ValueError("give secret_id and secret_key (JWT auth) or api_key (legacy)")
        return self
