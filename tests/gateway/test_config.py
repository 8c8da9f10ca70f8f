"""Configuration: TOML + ${ENV}, every mistake named, secrets never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, parse_config
from providers.model import ProviderName

FULL = """
[gateway]
api_keys = ["${GATEWAY_API_KEY}"]
default_region = "US"
max_bulk_contacts = 10000
deadline_seconds = 30

[providers.trackly]
base_url = "https://app.tracklysms.com/api"
api_key = "${TRACKLY_API_KEY}"
default_list_number = "+18005551234"
"""
ENV = {"GATEWAY_API_KEY": "gw-secret-123", "TRACKLY_API_KEY": "trk_" + "s3cr3t" * 5 + "xy"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_the_contract_example_loads_with_values_from_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), ENV)
    assert [k.get_secret_value() for k in config.gateway.api_keys] == ["gw-secret-123"]
    assert (config.gateway.default_region, config.gateway.max_bulk_contacts) == ("US", 10_000)
    trackly = config.providers[ProviderName.TRACKLY]
    assert trackly.api_key is not None
    assert trackly.api_key.get_secret_value() == ENV["TRACKLY_API_KEY"]
    assert config.sandbox is False and config.source == str(tmp_path / "gateway.toml")


def test_secrets_never_show_in_repr_str_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(write(tmp_path, FULL), ENV)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("config %s %r", config, config)
    for text in (repr(config), str(config), caplog.text):
        assert "gw-secret-123" not in text and ENV["TRACKLY_API_KEY"] not in text


def test_a_missing_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"TRACKLY_API_KEY is not set.*providers\.trackly\.api_key"
    ):
        load_config(write(tmp_path, FULL), {"GATEWAY_API_KEY": "x"})


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[gateway]\napi_kyes = []\n", "gateway.api_kyes: unknown key"),
        ("[gatway]\n", "unknown section(s) gatway"),
        (
            '[providers.trackly]\napi_key = "k"\ndefault_list = "+18005551234"\n',
            "providers.trackly.default_list: unknown key",
        ),
        ('[providers.tracky]\napi_key = "k"\n', "unknown provider [providers.tracky]"),
        ("[providers.trackly]\n", "providers.trackly.api_key: required key is missing"),
        (
            '[providers.trackly]\napi_key = "k"\nbase_url = "ftp://x"\n',
            "providers.trackly.base_url",
        ),
        (
            '[providers.trackly]\napi_key = "k"\ndefault_list_number = "800"\n',
            "providers.trackly.default_list_number",
        ),
        ('[gateway]\ndefault_region = "XX"\n', "gateway.default_region"),
        ("[gateway]\nmax_bulk_contacts = 0\n", "gateway.max_bulk_contacts"),
        ('[gateway]\ndeadline_seconds = "soon"\n', "gateway.deadline_seconds"),
        ('[gateway]\napi_keys = [""]\n', "an API key is empty"),
        ("[gateway\n", "not valid TOML"),
    ],
)
def test_every_mistake_is_an_error_that_names_the_key(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), {})
    assert named in str(caught.value)


@pytest.mark.parametrize("share", ["0", "-0.5", "1.5", "nan", "inf", '"most"', '"0.8"', "true"])
def test_an_import_budget_share_that_is_no_fraction_is_refused_naming_the_key(
    tmp_path: Path, share: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, f"[gateway]\nimport_budget_share = {share}\n"), {})
    message = str(caught.value)
    assert "gateway.import_budget_share" in message
    if share[0] not in '"t':  # a string or a boolean: refused by pydantic's own check
        assert "more than 0 and at most 1" in message


@pytest.mark.parametrize(("text", "share"), [("", 0.8), ("0.5", 0.5), ("1", 1.0), ("1e-3", 1e-3)])
def test_the_import_budget_share_defaults_to_four_fifths(
    tmp_path: Path, text: str, share: float
) -> None:
    body = f"[gateway]\nimport_budget_share = {text}\n" if text else "[gateway]\n"
    assert load_config(write(tmp_path, body), {}).gateway.import_budget_share == share


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml", {})


def test_no_tables_means_no_providers_and_no_client_auth() -> None:
    config = parse_config({}, {})
    assert config.providers == {} and config.gateway.api_keys == ()
