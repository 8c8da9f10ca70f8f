"""Import files judged at the start (a clear typed refusal for what is no import file at all)
and read record by record from a byte offset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.imports.formats import read_records, sniff
from gateway.store.imports import RowFormat
from providers.errors import ErrorCode, ProviderError


def judged(data: bytes, **given: object) -> RowFormat:
    options: dict[str, object] = {
        "whole": True,
        "given": None,
        "filename": None,
        "content_type": None,
        "contact_key": "phone",
        **given,
    }
    return sniff(data, **options).row_format  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "given", "code", "says"),
    [
        (b"", {}, ErrorCode.MISSING_CONTACTS, "empty"),
        (b"  \n\n", {}, ErrorCode.MISSING_CONTACTS, "empty"),
        (b"PK\x03\x04\x00\x00binary", {}, ErrorCode.INVALID_REQUEST, "not text"),
        (b"phone\n\xff\xfe+14155552671\n", {}, ErrorCode.INVALID_REQUEST, "not UTF-8"),
        (b"+14155552671,Ann\n+14155552672,Bob\n", {"filename": "a.csv"}, ErrorCode.INVALID_REQUEST,
         "not a header"),
        (b"phone,Phone\n1,2\n", {"filename": "a.csv"}, ErrorCode.INVALID_REQUEST, "twice"),
        (b"phone,firstName,first_name\n1,2,3\n", {"filename": "a.csv"}, ErrorCode.INVALID_REQUEST,
         "'firstName' twice"),
        (b"phone,email\n", {"filename": "a.csv"}, ErrorCode.MISSING_CONTACTS, "no contact rows"),
        (b"hello world\nmore words\n", {}, ErrorCode.INVALID_REQUEST, "give format"),
        (b"phone,email\n1,2\n", {"given": RowFormat.NDJSON}, ErrorCode.INVALID_REQUEST,
         "not NDJSON"),
        (b'{"phone": \n', {"filename": "a.ndjson"}, ErrorCode.INVALID_REQUEST, "not valid JSON"),
        (b'{"email": "a@b.co"}\n', {"filename": "a.csv"}, ErrorCode.INVALID_REQUEST,
         "not a header"),
    ],
    ids=[
        "empty", "blank", "zip", "latin-1", "no header", "a column twice", "a field twice",
        "header only", "cannot guess", "csv as ndjson", "bad first json", "ndjson as csv",
    ],
)  # fmt: skip
def test_a_file_that_is_no_import_file_is_refused_with_a_typed_error(
    data: bytes, given: dict[str, object], code: ErrorCode, says: str
) -> None:
    with pytest.raises(ProviderError) as refused:
        judged(data, **given)
    assert refused.value.failure.code is code
    assert says in refused.value.failure.message
    assert refused.value.failure.field in ("file", "format")


@pytest.mark.parametrize(
    ("data", "given", "expected"),
    [
        (b"phone,email\n1,2\n", {"filename": "contacts.CSV"}, RowFormat.CSV),
        (b'{"phone": "1"}\n', {"filename": "contacts.jsonl"}, RowFormat.NDJSON),
        (b'{"phone": "1"}\n', {"content_type": "application/x-ndjson"}, RowFormat.NDJSON),
        (b"\xef\xbb\xbfPhone,Email\n1,2\n", {}, RowFormat.CSV),  # Excel's BOM, any case
        (b'\n{"phone": "1"}\n', {}, RowFormat.NDJSON),
    ],
    ids=["by name", "jsonl", "by type", "by header", "by first line"],
)
def test_the_format_is_guessed_from_name_type_or_first_line(
    data: bytes, given: dict[str, object], expected: RowFormat
) -> None:
    assert judged(data, **given) is expected


def test_a_campaignlark_csv_needs_an_email_column() -> None:
    with pytest.raises(ProviderError, match="'email' column"):
        judged(b"phone,name\n1,2\n", contact_key="email")
    assert judged(b"EMAIL,name\n1,2\n", contact_key="email") is RowFormat.CSV


def test_a_prefix_cut_mid_line_is_judged_on_its_complete_lines() -> None:
    data = b"phone,email\n+14155552671,a@b.co\n+1415555"
    assert judged(data, whole=False) is RowFormat.CSV
    assert judged(b"phone,email\n+1415", whole=False) is RowFormat.CSV  # the header is whole


def test_csv_records_skip_blank_rows_and_resume_from_any_offset(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"\xef\xbb\xbfphone,note\r\n"
        b"+14155552671,plain\r\n"
        b"\r\n"
        b",,\r\n"
        b" ,\t,  \r\n"  # cells of spaces and tabs only: blank too
        b'+14155552672,"two\nlines, quoted"\r\n'
        b"+14155552673,caf\xe9\r\n"
        b"+14155552674,last"
    )
    records = list(read_records(path, RowFormat.CSV, 0))
    assert [json.loads(r.raw) for r in records] == [
        ["+14155552671", "plain"],
        ["+14155552672", "two\nlines, quoted"],
        ["+14155552673", "caf\ufffd"],
        ["+14155552674", "last"],
    ]
    assert [r.problem for r in records] == [None, None, "this row is not UTF-8 text", None]
    assert records[-1].offset == path.stat().st_size
    resumed = list(read_records(path, RowFormat.CSV, records[0].offset))
    assert resumed == records[1:]


def test_ndjson_records_are_lines_read_from_an_offset(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"phone": "1"}\n\n  \nnot json\n{"phone": "2"}')
    records = list(read_records(path, RowFormat.NDJSON, 0))
    assert [r.raw for r in records] == ['{"phone": "1"}', "not json", '{"phone": "2"}']
    assert list(read_records(path, RowFormat.NDJSON, records[1].offset)) == records[2:]
