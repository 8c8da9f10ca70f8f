"""Import files: which format a file is in, its CSV header, and its records read from a byte offset.

Two formats (the contract's ImportFormat):
- CSV: UTF-8 (a byte-order mark is allowed), comma-separated, a header row naming the columns.
  `phone`, `email`, `firstName`|`first_name`, `lastName`|`last_name`, `listNumber`|`list_number`,
  `status` and `tags` (`;`-separated names) are matched without regard to case; every other
  named column is a custom field, sent when the row's cell is not empty (an empty cell sends
  nothing, so it never wipes a value). Blank lines, and rows whose cells are all empty, are
  skipped and take no index.
- NDJSON: one ContactInput object a line, as GraphQL variables write it; blank lines skipped.

A record is read without its meaning: its fields (CSV) or its text (NDJSON). Whether it makes a
contact is judged when its chunk is sent (rows.py), exactly as a bulk contact is. What is judged
here, at the start, is whether the file is what it says at all: text, a header, a guessable
format. Records are read with the byte offset after each, so reading resumes where it stopped.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

import orjson

from gateway.store.imports import RowFormat
from providers.errors import ErrorCode, ProviderError

__all__ = [
    "COLUMNS",
    "SNIFF_BYTES",
    "Record",
    "Sniffed",
    "read_records",
    "sniff",
]

SNIFF_BYTES = 64 * 1024  # what is read of a file to judge it at the start
# A CSV header name (lower case) -> the ContactInput field it fills.
COLUMNS = {
    "phone": "phone",
    "email": "email",
    "firstname": "firstName",
    "first_name": "firstName",
    "lastname": "lastName",
    "last_name": "lastName",
    "listnumber": "listNumber",
    "list_number": "listNumber",
    "status": "status",
    "tags": "tags",
}
_SUFFIXES = {".csv": RowFormat.CSV, ".ndjson": RowFormat.NDJSON, ".jsonl": RowFormat.NDJSON}
_TYPES = {
    "text/csv": RowFormat.CSV,
    "application/csv": RowFormat.CSV,
    "application/x-ndjson": RowFormat.NDJSON,
    "application/ndjson": RowFormat.NDJSON,
    "application/jsonl": RowFormat.NDJSON,
    "application/x-jsonlines": RowFormat.NDJSON,
}
_FORMATS_TOLD = "give format: CSV or NDJSON"


def _fields_json(fields: list[str]) -> str:
    """A CSV record's fields as a JSON array (what rows.py reads back): orjson, in a fifth of
    the standard library's time; the cells are decoded text, which it always takes."""
    return orjson.dumps(fields).decode()


BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Sniffed:
    row_format: RowFormat
    header: tuple[str, ...] | None  # CSV: the names, as written (stripped)


class Record(NamedTuple):  # a tuple: one is made per row read (`make bench` 7 (a))
    raw: str  # a CSV record's fields as a JSON array, or an NDJSON line
    problem: str | None  # why the record cannot be read (bad UTF-8, a CSV syntax error)
    offset: int  # bytes of the file read once this record is


def sniff(
    prefix: bytes,
    *,
    whole: bool,
    given: RowFormat | None,
    filename: str | None,
    content_type: str | None,
    contact_key: str,
) -> Sniffed:
    """Judge a file by its first bytes (`whole`: they are all of it); ProviderError
    (`field: file` or `format`) when it is not an import file at all."""
    if not prefix.strip():
        raise _refused(ErrorCode.MISSING_CONTACTS, "the file is empty", "file")
    text = _text_of(prefix, whole)
    row_format = given or _guess(text, filename, content_type)
    if row_format is RowFormat.NDJSON:
        _check_ndjson(text, whole)
        return Sniffed(RowFormat.NDJSON, None)
    return Sniffed(RowFormat.CSV, _check_csv(text, whole, contact_key))


def _text_of(prefix: bytes, whole: bool) -> str:
    if b"\x00" in prefix:
        raise _refused(
            ErrorCode.INVALID_REQUEST,
            "the file is not text (it holds NUL bytes): upload a CSV or NDJSON file, not a "
            "spreadsheet or an archive",
            "file",
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(prefix, final=whole)
    except UnicodeDecodeError as exc:
        raise _refused(
            ErrorCode.INVALID_REQUEST,
            f"the file is not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV or NDJSON",
            "file",
        ) from None
    return text.removeprefix(BOM)


def _guess(text: str, filename: str | None, content_type: str | None) -> RowFormat:
    suffix = Path(filename or "").suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in _TYPES:
        return _TYPES[kind]
    first = text.lstrip()
    if first.startswith("{"):
        return RowFormat.NDJSON
    header = _first_record(text)
    if header and any(name.strip().lower() in COLUMNS for name in header):
        return RowFormat.CSV
    raise _refused(
        ErrorCode.INVALID_REQUEST,
        "cannot tell whether the file is CSV or NDJSON (its name, type and first line do not "
        f"say): {_FORMATS_TOLD}",
        "format",
    )


def _check_ndjson(text: str, whole: bool) -> None:
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    complete = whole or len(lines) > 1
    if not first.lstrip().startswith("{"):
        raise _refused(
            ErrorCode.INVALID_REQUEST,
            f"the file is not NDJSON: its first line is not a JSON object ({_shown(first)})",
            "file",
        )
    if complete:
        try:
            value = json.loads(first)
        except ValueError as exc:
            raise _refused(
                ErrorCode.INVALID_REQUEST,
                f"the file is not NDJSON: its first line is not valid JSON ({exc})",
                "file",
            ) from None
        if not isinstance(value, dict):
            raise _refused(
                ErrorCode.INVALID_REQUEST,
                "the file is not NDJSON: its first line is not an object",
                "file",
            )


def _check_csv(text: str, whole: bool, contact_key: str) -> tuple[str, ...]:
    records = _records(text, whole)
    if not records:
        raise _refused(ErrorCode.INVALID_REQUEST, "the file has no complete first line", "file")
    header = tuple(name.strip() for name in records[0])
    names = [name.lower() for name in header]
    if contact_key not in names:
        raise _refused(
            ErrorCode.INVALID_REQUEST,
            f"the first line is not a header with a {contact_key!r} column: a CSV import needs "
            "a header row naming its columns (phone, email, firstName, lastName, listNumber, "
            f"status, tags, and custom fields); it reads {_shown(','.join(records[0]))}",
            "file",
        )
    seen: dict[str, str] = {}
    for name, lower in zip(header, names, strict=True):
        key = COLUMNS.get(lower, name)
        if name and key in seen:
            raise _refused(
                ErrorCode.INVALID_REQUEST,
                f"the header names {key!r} twice ({seen[key]!r} and {name!r})",
                "file",
            )
        seen[key] = name
    if whole and len(records) == 1:
        raise _refused(
            ErrorCode.MISSING_CONTACTS, "the file has a header and no contact rows", "file"
        )
    return header


def _records(text: str, whole: bool) -> list[list[str]]:
    """The complete non-blank CSV records of a file's first bytes."""
    lines = text.splitlines(keepends=True)
    if not whole and lines:
        lines = lines[:-1]  # the last line may be cut short
    try:
        return [fields for fields in csv.reader(lines) if any(field.strip() for field in fields)]
    except csv.Error as exc:
        raise _refused(ErrorCode.INVALID_REQUEST, f"the file is not CSV: {exc}", "file") from None


def _first_record(text: str) -> list[str] | None:
    line = next((line for line in text.splitlines() if line.strip()), None)
    if line is None:
        return None
    try:
        return next(csv.reader([line]), None)
    except csv.Error:
        return None


def read_records(path: Path, row_format: RowFormat, offset: int) -> Iterator[Record]:
    """The file's records from byte `offset` on (0: the start; a CSV header is skipped)."""
    with path.open("rb") as stream:
        stream.seek(offset)
        if row_format is RowFormat.CSV:
            yield from _csv_records(stream, offset)
        else:
            yield from _ndjson_records(stream, offset)


def _csv_records(stream: BinaryIO, offset: int) -> Iterator[Record]:
    position = offset
    undecodable = False

    def lines() -> Iterator[str]:
        nonlocal position, undecodable
        for line in stream:
            start = position
            position += len(line)
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                text = line.decode("utf-8", "replace")
                undecodable = True
            yield text.removeprefix(BOM) if start == 0 else text

    reader = csv.reader(lines())
    header_due = offset == 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            undecodable = False
            yield Record("[]", f"this row is not CSV: {exc}", position)
            continue
        bad, undecodable = undecodable, False
        if not "".join(fields).strip():  # every cell empty (one string: no generator a row)
            continue
        if header_due:
            header_due = False
            continue
        problem = "this row is not UTF-8 text" if bad else None
        yield Record(_fields_json(fields), problem, position)


def _ndjson_records(stream: BinaryIO, offset: int) -> Iterator[Record]:
    position = offset
    for line in stream:
        start = position
        position += len(line)
        try:
            text, problem = line.decode("utf-8"), None
        except UnicodeDecodeError:
            text, problem = line.decode("utf-8", "replace"), "this line is not UTF-8 text"
        text = (text.removeprefix(BOM) if start == 0 else text).strip()
        if text:
            yield Record(text, problem, position)


def _refused(code: ErrorCode, message: str, field: str) -> ProviderError:
    return ProviderError.of(code, message, field=field)


def _shown(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 60 else text[:60] + "…")
