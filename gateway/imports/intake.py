"""An uploaded file taken in: judged by its first bytes, then copied under data_dir, whole.

The request's upload is already on disk (starlette's multipart parser spools a file part past
1 MiB to a temporary file), but that file goes when the request ends. Its copy under
`<data_dir>/imports/<job id>.input` is what the runner reads into rows, in the background and
from where it stopped after a restart; it is deleted once read. The copy is made in a thread in
blocks of 1 MiB, so neither the event loop nor memory ever holds the file, and its lines are
counted on the way: an input over the limit is refused before any of it is imported.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gateway.imports.formats import SNIFF_BYTES, Sniffed, read_records, sniff
from gateway.store.imports import MAX_IMPORT_ROWS, RowFormat
from providers.errors import ErrorCode, ProviderError

__all__ = ["INPUT_DIR", "UploadedFile", "input_path", "take_in"]

INPUT_DIR = "imports"
BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """An upload as the request has it: its stream (spooled to disk) and what the client said."""

    stream: BinaryIO
    filename: str | None
    content_type: str | None


def input_path(data_dir: Path, job_id: str) -> Path:
    return data_dir / INPUT_DIR / f"{job_id}.input"


def take_in(
    stream: BinaryIO,
    target: Path,
    *,
    given: RowFormat | None,
    filename: str | None,
    content_type: str | None,
    contact_key: str,
) -> Sniffed:
    """Judge the upload and copy it to `target` (blocking I/O: call it from a thread);
    ProviderError when the file is refused, and then nothing is left behind."""
    stream.seek(0)
    prefix = stream.read(SNIFF_BYTES)
    whole = len(prefix) < SNIFF_BYTES or not stream.read(1)
    sniffed = sniff(
        prefix,
        whole=whole,
        given=given,
        filename=filename,
        content_type=content_type,
        contact_key=contact_key,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        lines = _copy(stream, target)
        # Every record takes a line at least (a CSV one may take more): only past the limit
        # in lines can the records be, and then they are counted exactly.
        header = 1 if sniffed.row_format is RowFormat.CSV else 0
        if lines > MAX_IMPORT_ROWS + header:
            count = sum(1 for _ in read_records(target, sniffed.row_format, 0))
            if count > MAX_IMPORT_ROWS:
                raise ProviderError.of(
                    ErrorCode.TOO_MANY_CONTACTS,
                    f"the file holds {count:,} contacts; an import takes at most "
                    f"{MAX_IMPORT_ROWS:,}: split it",
                    field="file",
                )
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    return sniffed


def _copy(stream: BinaryIO, target: Path) -> int:
    """Copy the whole stream, synced to disk (the job resumes from it after a crash); the
    number of lines (a last line without its newline counts)."""
    stream.seek(0)
    lines = 0
    last = b"\n"
    with target.open("wb") as out:
        while block := stream.read(BLOCK):
            lines += block.count(b"\n")
            last = block[-1:]
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    return lines + (last != b"\n")
