"""The operations keys: documented with their real defaults, validated, secrets collected."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gateway.config import ConfigError, GatewaySettings, parse_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def documented_block() -> dict[str, object]:
    found = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    assert found is not None, "docs/operations.md has no toml block"
    return tomllib.loads(found.group(1))["gateway"]  # type: ignore[no-any-return]


def test_every_gateway_key_is_documented_with_its_default() -> None:
    documented = documented_block()
    defaults = GatewaySettings().model_dump()
    # Keys of other features (contract, resilience, playground, fleet) have their own pages.
    elsewhere = "\n".join(
        path.read_text()
        for path in [DOC.parent.parent / "README.md", *DOC.parent.glob("*.md")]
        if path != DOC
    )
    undocumented = {key for key in set(defaults) - set(documented) if key not in elsewhere}
    assert undocumented == set()
    for key, value in documented.items():
        if key != "api_keys":
            assert defaults[key] == value, key


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('log_format = "xml"', "gateway.log_format"),
        ('log_level = "LOUD"', "gateway.log_level"),
        ("max_batch = 0", "gateway.max_batch"),
        ("max_query_depth = 1", "gateway.max_query_depth"),
        ("max_tokens = 5", "gateway.max_tokens"),
        ("max_fields = 1", "gateway.max_fields"),
        ('introspection = "maybe"', "gateway.introspection"),
        ("tracing = 3", "gateway.tracing"),
        ("allow_unauthenticated_public = []", "gateway.allow_unauthenticated_public"),
    ],
)
def test_a_bad_operations_value_is_named(table: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(f"[gateway]\n{table}\n"), {})
    assert named in str(caught.value)


def test_secrets_are_every_client_key_and_provider_credential() -> None:
    data = tomllib.loads(
        '[gateway]\napi_keys = ["${A}", "${B}"]\n[providers.trackly]\napi_key = "${C}"\n'
    )
    config = parse_config(data, {"A": "key-a", "B": "key-b", "C": "trk_c"})
    assert sorted(config.secrets()) == ["key-a", "key-b", "trk_c"]
