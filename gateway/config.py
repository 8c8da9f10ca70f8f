"""TOML + ${ENV} -> typed settings. Every mistake is a start-up error that names the key.

The environment is a parameter, so tests pass a dict; secrets are pydantic `SecretStr`, whose
repr never shows the value.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from providers.model import ProviderName
from providers.registry import REGISTRY
from providers.resilience.priority import DEFAULT_BACKGROUND_SHARE
from providers.settings import ProviderSettings

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECTIONS = ("gateway", "providers")
_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")
M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration that must not start: the message says which key and why."""


class CorsSettings(BaseModel):
    """[gateway.cors]: which other origins' front-end apps may call /graphql from a browser."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_origins: tuple[str, ...] = ()  # exact origins, e.g. "https://app.example.com"; "*"
    allow_credentials: bool = False
    allow_headers: tuple[str, ...] = ("authorization", "content-type")
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int = Field(default=600, ge=0, le=86_400)

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            # Browsers send scheme://host[:port] exactly; a path or trailing slash never matches.
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], no path or "
                    "trailing slash (e.g. https://app.example.com)"
                )
        return tuple(origin.lower() for origin in value)

    @model_validator(mode="after")
    def _no_credentials_for_everyone(self) -> CorsSettings:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError("allow_credentials = true needs explicit origins, not '*'")
        return self


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_keys: tuple[SecretStr, ...] = ()
    default_region: str = "US"
    max_bulk_contacts: int = Field(default=10_000, ge=1, le=1_000_000)
    deadline_seconds: float = Field(default=30.0, gt=0, le=3_600)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1_024)
    # The edge (gateway/http/edge.py): how long a client may take, how many are served at once.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    body_timeout_seconds: float = Field(default=60.0, gt=0, le=3_600)
    min_body_bytes_per_second: int = Field(default=65_536, ge=0)
    keep_alive_timeout_seconds: float = Field(default=5.0, gt=0, le=3_600)
    max_connections: int = Field(default=1_000, ge=1, le=1_000_000)
    max_inflight_requests: int = Field(default=500, ge=1, le=1_000_000)
    bulk_concurrency: int = Field(default=4, ge=1, le=64)
    # Running as a fleet: several workers and hosts sharing budgets (docs/deployment.md).
    redis_url: SecretStr | None = None
    redis_namespace: str = Field(default="gateway", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    redis_retry_seconds: float = Field(default=2.0, gt=0, le=300)
    # Processes sharing each provider account (all hosts); None: this host's --workers.
    fleet_processes: int | None = Field(default=None, ge=1, le=10_000)
    allow_per_worker_budgets: bool = False
    # Added to every shared pacing window: covers jitter between the gateways and a provider.
    fleet_pacing_margin_seconds: float = Field(default=0.1, ge=0, le=10)
    # The same for the budgets one process keeps alone (no Redis).
    pacing_margin_seconds: float = Field(default=0.02, ge=0, le=10)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    # The gateway's own state (idempotency keys, import jobs): a SQLite file in here.
    data_dir: Path = Path(".gateway-data")
    # Idempotency-Key: how long an answer is kept, and an in-flight claim's lease, renewed
    # while its request runs (a process killed mid-request frees its keys after this long).
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1, le=30 * 86_400)
    idempotency_lease_seconds: float = Field(default=60.0, ge=1, le=3_600)
    # Contact imports: how long a finished job (its counts, failed rows, input) is kept, and
    # the largest upload a multipart request may carry (streamed to disk, never to memory).
    import_retention_days: int = Field(default=7, ge=1, le=3_650)
    # What imports may take of a provider's budget while interactive calls wait for a slot
    # (providers/resilience/priority.py); alone, they take all of it. Strict: a TOML `true` or
    # "0.8" is a mistake to name, not a number to guess.
    import_budget_share: float = Field(default=DEFAULT_BACKGROUND_SHARE, strict=True)
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1_024)
    # Who may call, and how much one request may ask for (see docs/operations.md).
    allow_unauthenticated_public: bool = False
    introspection: bool = True
    max_query_depth: int = Field(default=12, ge=2, le=100)
    max_aliases: int = Field(default=30, ge=0, le=10_000)
    max_tokens: int = Field(default=2_000, ge=100, le=10_000_000)
    max_batch: int = Field(default=5, ge=1, le=100)
    max_fields: int = Field(default=300, ge=10, le=100_000)
    max_complexity: int = Field(default=1_000, ge=10, le=10_000_000)
    max_query_length: int = Field(default=100_000, ge=1_000, le=100_000_000)
    # Documents seen before skip strawberry's generic executor (gateway/schema/compiled/).
    fast_path: bool = True
    # Persisted operations (gateway/http/persisted.py): a manifest of the clients' documents
    # (Apollo's persisted query manifest, or a {hash: document} map), and whether only those
    # may run.
    persisted_operations: str | None = None
    persisted_operations_only: bool = False
    # Serve the built-in simulators, as `gateway serve` without a config does, with these
    # settings (then no [providers.*] table may be given).
    sandbox: bool = False
    # What the gateway tells an operator.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics: bool = True
    tracing: bool = False

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region code phonenumbers knows (e.g. US, GB)")
        return region

    @field_validator("import_budget_share")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(
                f"{value:g} is not a share of a budget: give a fraction, more than 0 and at "
                "most 1 (0.8: imports take at most 80% of a provider's requests while "
                "interactive calls wait; 1: no preference, every call in arrival order)"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _safelist_needs_a_manifest(self) -> GatewaySettings:
        if self.persisted_operations_only and not self.persisted_operations:
            raise ValueError(
                "persisted_operations_only = true needs persisted_operations (a manifest path)"
            )
        return self

    @field_validator("api_keys")
    @classmethod
    def _non_empty_keys(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if any(not key.get_secret_value() for key in value):
            raise ValueError("an API key is empty")
        return value


@dataclass(frozen=True)
class Config:
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    providers: Mapping[ProviderName, ProviderSettings] = field(default_factory=dict)
    sandbox: bool = False
    source: str | None = None

    def secrets(self) -> list[str]:
        """Every credential in the config, for the log masking to replace wherever it shows."""
        found = [key.get_secret_value() for key in self.gateway.api_keys]
        for settings in (self.gateway, *self.providers.values()):
            for name in type(settings).model_fields:
                value = getattr(settings, name)
                if isinstance(value, SecretStr):  # provider keys, gateway.redis_url, ...
                    found.append(value.get_secret_value())
        return [secret for secret in found if secret]


def exposure_problem(settings: GatewaySettings, host: str) -> str | None:
    """Why serving on `host` would be unsafe, or None: no client keys on a non-loopback host."""
    if settings.api_keys or settings.allow_unauthenticated_public or is_loopback(host):
        return None
    return (
        f"refusing to serve on {host} without gateway.api_keys: anyone who can reach it could "
        "use the providers' credentials. Set gateway.api_keys, serve on 127.0.0.1, or set "
        "gateway.allow_unauthenticated_public = true (or pass --allow-unauthenticated-public)."
    )


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    config = parse_config(data, os.environ if environ is None else environ)
    return Config(config.gateway, config.providers, source=str(path))


def parse_config(data: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(unknown)}; expected gateway, providers")
    data = _substitute(data, environ, "")
    gateway = _build(GatewaySettings, data.get("gateway", {}), "gateway")
    if gateway.persisted_operations:
        from gateway.http.persisted import ManifestError, load_manifest

        try:
            load_manifest(gateway.persisted_operations)
        except ManifestError as exc:
            raise ConfigError(f"gateway.persisted_operations: {exc}") from None
    tables = data.get("providers", {})
    if gateway.sandbox and tables:
        raise ConfigError(
            "gateway.sandbox = true serves the built-in simulators: remove the [providers.*] "
            "tables, or set sandbox = false to talk to the providers they name"
        )
    if not isinstance(tables, dict):
        raise ConfigError("providers must be a table of [providers.<name>] tables")
    known = {name.value: name for name in REGISTRY}
    providers: dict[ProviderName, ProviderSettings] = {}
    for key, table in tables.items():
        if key not in known:
            raise ConfigError(
                f"unknown provider [providers.{key}]; known: {', '.join(sorted(known))}"
            )
        name = known[key]
        providers[name] = _build(REGISTRY[name].settings, table, f"providers.{key}")
    return Config(gateway, providers)


def _build(model: type[M], table: Any, where: str) -> M:
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table")
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where)) from None


def _describe(exc: ValidationError, where: str) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        key = ".".join([where, *(str(part) for part in error["loc"])])
        if error["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key")
        elif error["type"] == "missing":
            lines.append(f"{key}: required key is missing")
        else:
            lines.append(f"{key}: {error['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _substitute(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """Replace ${NAME} in every string; a variable that is not set is an error naming it."""
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(
                    f"environment variable {name} is not set (used in {where or 'the config'})"
                )
            return environ[name]

        return _VARIABLE.sub(lookup, value)
    if isinstance(value, dict):
        return {
            k: _substitute(v, environ, f"{where}.{k}" if where else k) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, environ, where) for v in value]
    return value
