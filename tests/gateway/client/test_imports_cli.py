"""The import CLI's own logic: the failed rows written back in the input's format, the format
told from the file, and its exit statuses (the full run against a gateway is in
tests/gateway/imports/)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from gateway.client.graphql import Endpoint
from gateway.client.imports import UsageError, _format, _status, write_failed_rows


class Pages:
    """A gateway answering the errors query a page at a time."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.asked: list[tuple[int, int]] = []

    def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        first, after = variables["first"], variables["after"]
        self.asked.append((first, after))
        return {"contactImport": {"errors": self.items[after : after + first]}}


def failure(index: int, code: str = "INVALID_PHONE") -> dict[str, Any]:
    return {"index": index, "error": {"code": code, "message": "not a phone"}}


def test_failed_csv_rows_come_back_as_written_with_a_reason(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('phone,first_name,tier\n4155552671,Ann,"gold, plus"\n,,\n12345,Bob,x\n')
    target = tmp_path / "failed.csv"
    written = write_failed_rows(Pages([failure(1)]), "job", source, "CSV", target)  # type: ignore[arg-type]
    assert written == 1
    rows = list(csv.reader(target.open()))
    assert rows == [
        ["phone", "first_name", "tier", "error"],
        ["12345", "Bob", "x", "INVALID_PHONE: not a phone"],
    ]


def test_failed_ndjson_lines_keep_their_fields_and_gain_an_error(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text('{"phone": "4155552671"}\n\nnot json\n{"phone": "1"}\n')  # a blank line
    target = tmp_path / "failed.ndjson"
    items = [failure(1, "INVALID_REQUEST"), failure(2)]
    assert write_failed_rows(Pages(items), "job", source, "NDJSON", target) == 2  # type: ignore[arg-type]
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines[0] == {"_line": "not json", "_error": "INVALID_REQUEST: not a phone"}
    assert lines[1] == {"phone": "1", "_error": "INVALID_PHONE: not a phone"}


def test_every_page_of_failures_is_read(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("phone\n" + "".join(f"{n}\n" for n in range(1_200)))
    pages = Pages([failure(n) for n in range(1_200)])
    assert write_failed_rows(pages, "job", source, "CSV", tmp_path / "out.csv") == 1_200  # type: ignore[arg-type]
    assert pages.asked == [(500, 0), (500, 500), (500, 1_000)]


def test_the_format_comes_from_the_option_or_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("phone\n")
    (tmp_path / "b.jsonl").write_text("{}\n")
    (tmp_path / "c.txt").write_text("x\n")
    assert _format(tmp_path / "a.csv", None) == "CSV"
    assert _format(tmp_path / "b.jsonl", None) == "NDJSON"
    assert _format(tmp_path / "c.txt", "ndjson") == "NDJSON"
    with pytest.raises(UsageError, match="--format"):
        _format(tmp_path / "c.txt", None)
    with pytest.raises(UsageError, match="no file"):
        _format(tmp_path / "missing.csv", None)


@pytest.mark.parametrize(
    ("status", "failed", "code"),
    [("SUCCEEDED", 0, 0), ("SUCCEEDED", 3, 1), ("FAILED", 0, 1), ("CANCELLED", 0, 1)],
)
def test_the_exit_status_says_how_the_job_ended(status: str, failed: int, code: int) -> None:
    assert _status({"status": status, "failed": failed}) == code


def test_the_endpoint_comes_from_the_options_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_URL", "http://gw.example:9000/graphql")
    monkeypatch.setenv("GATEWAY_API_KEY", "from-env")
    assert Endpoint.from_args(None, None) == Endpoint("http://gw.example:9000", "from-env")
    assert Endpoint.from_args("http://other:1", "k") == Endpoint("http://other:1", "k")
    monkeypatch.delenv("GATEWAY_URL")
    assert Endpoint.from_args(None, None).graphql == "http://127.0.0.1:8000/graphql"


def test_a_gateway_that_cannot_be_reached_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("phone\n4155552671\n")
    code = main(["import", str(source), "--provider", "trackly", "--url", "http://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach the gateway" in capsys.readouterr().err


def test_show_without_an_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["imports", "show", "--url", "http://127.0.0.1:9"]) == 2
    assert "needs an import id" in capsys.readouterr().err
