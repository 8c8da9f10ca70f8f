"""`gateway import FILE --provider NAME` and `gateway imports list|show|watch|cancel`.

They talk to a running gateway over its GraphQL API, as any server-to-server client would:
the file goes up through the GraphQL multipart request spec, progress is read from
`contactImport(id)` every half second and shown as a progress bar (rich), and `--errors-out`
writes the failed rows in the input's own format with a reason column, ready to fix and import
again. Exit status: 0 when the job succeeded with no failed row, 1 when it finished otherwise
(failed rows, failed, cancelled), 2 on a usage or connection error.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from gateway.client.graphql import Endpoint, GraphQLClient
from gateway.imports.formats import read_records
from gateway.store.imports import RowFormat

DONE = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
POLL_SECONDS = 0.5
ERRORS_PAGE = 500
FORMATS = {".csv": "CSV", ".ndjson": "NDJSON", ".jsonl": "NDJSON"}
CONTENT_TYPES = {"CSV": "text/csv", "NDJSON": "application/x-ndjson"}

JOB = """
fragment Job on ContactImport {
  id provider status total processed succeeded failed contactsCreated
  createdAt startedAt finishedAt contactsPerMinute etaSeconds warnings
}
"""
START = (
    """
mutation StartImport($provider: Provider!, $file: Upload, $format: ImportFormat) {
  startContactImport(provider: $provider, file: $file, format: $format) {
    __typename
    ... on ContactImportStarted { contactImport { ...Job } }
    ... on Error { code message field }
  }
}
"""
    + JOB
)
GET = "query Job($id: ID!) { contactImport(id: $id) { ...Job } }" + JOB
LIST = (
    "query Jobs($status: ImportStatus, $first: Int) "
    "{ contactImports(status: $status, first: $first) { ...Job } }" + JOB
)
CANCEL = (
    """
mutation Cancel($id: ID!) {
  cancelContactImport(id: $id) {
    __typename
    ... on ContactImportCancelled { contactImport { ...Job } }
    ... on Error { code message }
  }
}
"""
    + JOB
)
ERRORS = """
query Errors($id: ID!, $first: Int, $after: Int) {
  contactImport(id: $id) {
    errors(first: $first, after: $after) {
      index phone email error { __typename code message field }
    }
  }
}
"""


class UsageError(Exception):
    """What the user asked cannot be done as asked (exit 2)."""


def run_import(
    endpoint: Endpoint,
    path: Path,
    provider: str,
    fmt: str | None,
    *,
    detach: bool,
    errors_out: Path | None,
    console: Console,
) -> int:
    format_ = _format(path, fmt)
    with GraphQLClient(endpoint) as client:
        data = client.upload(
            START,
            {"provider": provider.upper(), "format": format_},
            "file",
            path,
            CONTENT_TYPES[format_],
        )
        answer = data["startContactImport"]
        if answer["__typename"] != "ContactImportStarted":
            raise UsageError(f"{answer['code']}: {answer['message']}")
        job = answer["contactImport"]
        console.print(f"Import [bold]{job['id']}[/bold] started ({job['provider']}, {path.name}).")
        if detach:
            console.print(f"Follow it with: gateway imports watch {job['id']}")
            return 0
        job = _watch(client, job, console)
        if errors_out is not None and job["failed"]:
            written = write_failed_rows(client, job["id"], path, format_, errors_out)
            console.print(f"{written} failed rows written to {errors_out}")
    return _status(job)


def run_imports(
    endpoint: Endpoint, action: str, job_id: str | None, status: str | None, console: Console
) -> int:
    with GraphQLClient(endpoint) as client:
        if action == "list":
            jobs = client.execute(LIST, {"status": status, "first": 50})["contactImports"]
            console.print(_table(jobs))
            return 0
        assert job_id is not None
        if action == "cancel":
            answer = client.execute(CANCEL, {"id": job_id})["cancelContactImport"]
            if answer["__typename"] != "ContactImportCancelled":
                raise UsageError(f"{answer['code']}: {answer['message']}")
            console.print(_table([answer["contactImport"]]))
            return 0
        job = client.execute(GET, {"id": job_id})["contactImport"]
        if job is None:
            raise UsageError(f"no import {job_id}")
        if action == "watch":
            job = _watch(client, job, console)
        else:
            console.print(_table([job]))
            for warning in job["warnings"]:
                console.print(f"warning: {warning}")
        return _status(job) if job["status"] in DONE else 0


def _watch(client: GraphQLClient, job: dict[str, Any], console: Console) -> dict[str, Any]:
    """Poll the job until it ends, drawing its progress; Ctrl-C detaches (the job goes on)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.fields[of]}"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA {task.fields[eta]}"),
        TextColumn("[red]{task.fields[failed]:,} failed"),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(job["status"].lower(), total=None, **_fields(job))
            while True:
                _draw(progress, task, job)
                if job["status"] in DONE:
                    break
                time.sleep(POLL_SECONDS)
                fresh = client.execute(GET, {"id": job["id"]})["contactImport"]
                job = fresh if fresh is not None else job
    except KeyboardInterrupt:
        console.print(
            f"\nDetached: import {job['id']} goes on in the gateway. "
            f"Re-attach with: gateway imports watch {job['id']}"
        )
        raise
    console.print(_summary(job))
    return job


def _draw(progress: Progress, task: TaskID, job: dict[str, Any]) -> None:
    progress.update(
        task,
        description=job["status"].lower(),
        completed=job["processed"],
        total=job["total"],
        **_fields(job),
    )


def _fields(job: dict[str, Any]) -> dict[str, Any]:
    rate, eta = job.get("contactsPerMinute"), job.get("etaSeconds")
    return {
        "of": f"{job['total']:,}" if job.get("total") is not None else "?",
        "rate": f"{rate:,.0f}/min" if rate else "-",
        "eta": _duration(eta) if eta is not None else "-",
        "failed": job.get("failed", 0),
    }


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _summary(job: dict[str, Any]) -> str:
    return (
        f"Import {job['id']} {job['status'].lower()}: {job['processed']:,} of "
        f"{job['total'] if job['total'] is not None else '?'} processed, "
        f"{job['succeeded']:,} succeeded ({job['contactsCreated']:,} created), "
        f"{job['failed']:,} failed."
    )


def _table(jobs: list[dict[str, Any]]) -> Table:
    table = Table("provider", "status", "processed", "failed", "created", "started")
    table.add_column("id", no_wrap=True)
    for job in jobs:
        total = job["total"] if job["total"] is not None else "?"
        table.add_row(
            job["provider"],
            job["status"],
            f"{job['processed']:,}/{total}",
            f"{job['failed']:,}",
            f"{job['contactsCreated']:,}",
            job["startedAt"] or "-",
            job["id"],
        )
    return table


def _status(job: dict[str, Any]) -> int:
    return 0 if job["status"] == "SUCCEEDED" and not job["failed"] else 1


def _format(path: Path, fmt: str | None) -> str:
    if not path.is_file():
        raise UsageError(f"no file {path}")
    if fmt:
        return fmt.upper()
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise UsageError(f"cannot tell the format of {path.name}: give --format csv or ndjson")
    return found


# -- the failed rows, in the input's format -----------------------------------------------------


def failed_items(client: GraphQLClient, job_id: str) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        job = client.execute(ERRORS, {"id": job_id, "first": ERRORS_PAGE, "after": after})
        page = (job["contactImport"] or {}).get("errors") or []
        yield from page
        if len(page) < ERRORS_PAGE:
            return
        after += len(page)


def write_failed_rows(
    client: GraphQLClient, job_id: str, source: Path, format_: str, target: Path
) -> int:
    """The input's failed rows, as they were, with why: a CSV gets an `error` column, an NDJSON
    line an `_error` key. Rows are read again from the file (the gateway keeps no copy to send
    back) with the gateway's own reader, so row N here is the row the gateway calls N."""
    reasons = {
        item["index"]: f"{item['error']['code']}: {item['error']['message']}"
        for item in failed_items(client, job_id)
    }
    row_format = RowFormat.CSV if format_ == "CSV" else RowFormat.NDJSON
    records = read_records(source, row_format, 0)
    with target.open("w", newline="", encoding="utf-8") as out:
        if row_format is RowFormat.CSV:
            writer = csv.writer(out)
            writer.writerow([*_csv_header(source), "error"])
        written = 0
        for index, record in enumerate(records):
            if index not in reasons:
                continue
            if row_format is RowFormat.CSV:
                writer.writerow([*json.loads(record.raw), reasons[index]])
            else:
                out.write(json.dumps(_ndjson_object(record.raw) | {"_error": reasons[index]}))
                out.write("\n")
            written += 1
    return written


def _csv_header(source: Path) -> list[str]:
    with source.open(newline="", encoding="utf-8-sig") as inp:
        for fields in csv.reader(inp):
            if any(field.strip() for field in fields):
                return fields
    return []


def _ndjson_object(line: str) -> dict[str, Any]:
    """The line's object; a line that is not one is kept whole under `_line`."""
    try:
        record = json.loads(line)
    except ValueError:
        return {"_line": line}
    return record if isinstance(record, dict) else {"_line": line}
