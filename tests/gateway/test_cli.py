"""The commands a user types: export-schema, check-config, serve (a real process on loopback)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.cli import FIRST_MUTATION, main
from gateway.schema import export_sdl

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_equals_export_schema() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `make schema`"


def test_export_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-schema"]) == 0
    assert capsys.readouterr().out == export_sdl()


def test_check_config_accepts_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('[providers.trackly]\napi_key = "${KEY}"\n')
    monkeypatch.setenv("KEY", "trk_x")
    assert main(["check-config", "--config", str(path)]) == 0
    assert "is valid (Trackly)" in capsys.readouterr().out


def test_check_config_refuses_with_exit_2_and_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[gateway]\nmax_bulk = 5\n")
    assert main(["check-config", "--config", str(path)]) == 2
    assert "gateway.max_bulk: unknown key" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sandbox_server() -> Iterator[tuple[str, list[str]]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_CONFIG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline()]
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            pytest.fail(f"gateway did not start: {lines}")
        yield url, lines
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_without_config_is_sandbox_mode_and_the_first_mutation_works(
    sandbox_server: tuple[str, list[str]],
) -> None:
    url, lines = sandbox_server
    assert "sandbox mode" in lines[0]
    response = httpx.post(f"{url}/graphql", json={"query": FIRST_MUTATION}, timeout=10)
    result = response.json()["data"]["upsertContact"]
    assert result["__typename"] == "UpsertContactSuccess"
    assert result["contact"]["phone"] == "+14155552671"


def test_the_readme_first_mutation_is_the_one_serve_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```graphql\n(mutation FirstContact.*?)\n```", readme, re.S)
    assert block is not None, "README.md has no FirstContact mutation block"
    assert block.group(1) == FIRST_MUTATION


def test_serve_with_a_bad_config_exits_2_naming_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[providers.trackly]\napi_key = "${NOT_SET_ANYWHERE}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "NOT_SET_ANYWHERE" in done.stderr


def test_serve_with_a_data_dir_it_cannot_use_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    path = tmp_path / "gateway.toml"
    path.write_text(f'[gateway]\ndata_dir = "{tmp_path / "file" / "data"}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "gateway.data_dir" in done.stderr and "cannot be used" in done.stderr
