"""Contact imports in the schema: startContactImport, cancelContactImport, contactImport(s) and
the contactImportProgress subscription. The work is gateway/imports/; this is its GraphQL face.

A file comes through the GraphQL multipart request spec as an `Upload` (starlette's UploadFile,
already spooled to disk). Exactly one of `contacts` and `file` is given.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.file_uploads import Upload
from strawberry.types import Info

from gateway.imports.intake import UploadedFile
from gateway.imports.plan import contacts_per_minute, eta_seconds
from gateway.ops.request_context import note_state_write
from gateway.schema.codes import Code
from gateway.schema.context import gateway_context
from gateway.schema.enums import ImportFormat, ImportStatus, Provider, provider_name
from gateway.schema.errors import ConfigurationError, NotFoundError, ValidationError, error_from
from gateway.schema.inputs import ContactInput
from gateway.schema.payloads import BulkItemError
from gateway.schema.translate import given
from gateway.store.imports import ImportStatus as _ImportStatus
from gateway.store.imports import JobRecord, RowFormat
from providers.errors import ErrorCode, Failure, ProviderError

if TYPE_CHECKING:  # gateway.imports judges rows with the schema's ContactInput
    from gateway.imports.jobs import Imports

__all__ = ["ContactImport", "ImportMutation", "ImportQuery", "Subscription"]

MAX_PAGE = 1_000


@strawberry.type(description="A contact import job and its progress.")
class ContactImport:
    id: strawberry.ID
    provider: Provider  # type: ignore[valid-type]
    status: ImportStatus  # type: ignore[valid-type]
    total: int | None = strawberry.field(description="Contacts in the input; null until read.")
    processed: int
    succeeded: int
    failed: int = strawberry.field(
        description="succeeded + failed == processed; == total when it succeeded."
    )
    contacts_created: int
    created_at: str = strawberry.field(description="ISO 8601, UTC.")
    started_at: str | None
    finished_at: str | None
    contacts_per_minute: float | None = strawberry.field(
        description="Contacts processed a minute since the job last (re)started running."
    )
    eta_seconds: float | None = strawberry.field(
        description="Seconds left at that rate; 0 once it succeeded; null when unknown."
    )
    warnings: list[str]

    @strawberry.field(
        description=(
            "Failed contacts in input order, a page at a time: `after` failed items are "
            "skipped. `index` is the 0-based position in the input (for a CSV, the data row)."
        )
    )
    async def errors(
        self, info: Info[Any, Any], first: int | None = 100, after: int | None = 0
    ) -> list[BulkItemError]:
        first, after = _page(first, MAX_PAGE, "first"), _page(after, None, "after")
        rows = await _imports(info).store.errors(str(self.id), first, after)
        return [
            BulkItemError(
                index=row.index,
                phone=row.phone,
                email=row.email,
                error=error_from(row.failure, f"contacts[{row.index}]"),
            )
            for row in rows
        ]


@strawberry.type
class ContactImportStarted:
    contact_import: ContactImport


@strawberry.type
class ContactImportCancelled:
    contact_import: ContactImport


StartContactImportResult = Annotated[
    ContactImportStarted | ValidationError | ConfigurationError,
    strawberry.union("StartContactImportResult"),
]
CancelContactImportResult = Annotated[
    ContactImportCancelled | NotFoundError | ValidationError,
    strawberry.union("CancelContactImportResult"),
]


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description=(
            "Import contacts in the background: `contacts` inline, or a CSV or NDJSON `file` "
            "(GraphQL multipart request). Answers at once with the job."
        )
    )
    async def start_contact_import(
        self,
        info: Info[Any, Any],
        provider: Provider,  # type: ignore[valid-type]
        contacts: list[ContactInput] | None = strawberry.UNSET,
        file: Upload | None = strawberry.UNSET,
        format: ImportFormat | None = strawberry.UNSET,  # type: ignore[valid-type]
    ) -> StartContactImportResult:
        imports = _imports(info)
        contacts, file, format = given(contacts), given(file), given(format)
        name = provider_name(provider)
        try:
            if (contacts is None) == (file is None):
                raise ProviderError.of(
                    ErrorCode.INVALID_REQUEST, "give exactly one of contacts and file"
                )
            if contacts is not None:
                job = await imports.start_inline(name, contacts)
            else:
                job = await imports.start_file(name, _uploaded(file), _format(format))
        except ProviderError as error:
            return error_from(  # type: ignore[return-value]
                error.failure, None, (ValidationError, ConfigurationError)
            )
        note_state_write()  # a retry with the same Idempotency-Key gets this job, not another
        return ContactImportStarted(contact_import=contact_import(job, imports))

    @strawberry.mutation(
        description=(
            "Stop a job: once this answers, no provider call of it starts. A job that has "
            "finished (cancelled before included) answers ValidationError INVALID_REQUEST."
        )
    )
    async def cancel_contact_import(
        self, info: Info[Any, Any], id: strawberry.ID
    ) -> CancelContactImportResult:
        imports = _imports(info)
        job, cancelled = await imports.cancel(str(id))
        if job is None:
            return error_from(  # type: ignore[return-value]
                Failure(ErrorCode.CONTACT_NOT_FOUND, f"no import has the id {id!r}", field="id")
            )
        if not cancelled:
            when = _iso(job.finished_at) or "before"
            return error_from(  # type: ignore[return-value]
                Failure(
                    ErrorCode.INVALID_REQUEST,
                    f"import {id} has finished already ({job.status.value} at {when}): there "
                    "is nothing left to cancel",
                    field="id",
                )
            )
        return ContactImportCancelled(contact_import=contact_import(job, imports))


@strawberry.type
class ImportQuery:
    @strawberry.field(description="One import job; null when no job has this id.")
    async def contact_import(self, info: Info[Any, Any], id: strawberry.ID) -> ContactImport | None:
        imports = _imports(info)
        job = await imports.get(str(id))
        return contact_import(job, imports) if job is not None else None

    @strawberry.field(description="Import jobs, the newest first.")
    async def contact_imports(
        self,
        info: Info[Any, Any],
        status: ImportStatus | None = strawberry.UNSET,  # type: ignore[valid-type]
        first: int | None = 20,
    ) -> list[ContactImport]:
        imports = _imports(info)
        status = given(status)
        wanted = _ImportStatus[status.name] if status is not None else None
        jobs = await imports.recent(wanted, _page(first, MAX_PAGE, "first"))
        return [contact_import(job, imports) for job in jobs]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The job now, then after every checkpoint; ends after the job ends."
    )
    async def contact_import_progress(
        self, info: Info[Any, Any], id: strawberry.ID
    ) -> AsyncGenerator[ContactImport, None]:
        imports = _imports(info)
        found = False
        async for job in imports.watch(str(id)):
            found = True
            yield contact_import(job, imports)
        if not found:
            raise GraphQLError(
                f"no import has the id {id!r}", extensions={"code": Code.NOT_FOUND.value}
            )


def contact_import(job: JobRecord, imports: Imports) -> ContactImport:
    now = imports.clock()
    return ContactImport(
        id=strawberry.ID(job.id),
        provider=Provider[job.provider.name],
        status=ImportStatus[job.status.name],
        total=job.total,
        processed=job.processed,
        succeeded=job.succeeded,
        failed=job.failed,
        contacts_created=job.created,
        created_at=_iso(job.created_at) or "",
        started_at=_iso(job.started_at),
        finished_at=_iso(job.finished_at),
        contacts_per_minute=_round(contacts_per_minute(job, now)),
        eta_seconds=_round(eta_seconds(job, now)),
        warnings=list(job.warnings),
    )


def _imports(info: Info[Any, Any]) -> Imports:
    imports = gateway_context(info).imports
    if imports is None:
        raise GraphQLError("imports are not available on this gateway")
    return imports


def _uploaded(file: Any) -> UploadedFile:
    stream = getattr(file, "file", None)
    if stream is None or not hasattr(stream, "read"):
        raise ProviderError.of(
            ErrorCode.INVALID_REQUEST,
            "file must be uploaded in a multipart request (the GraphQL multipart request spec)",
            field="file",
        )
    return UploadedFile(
        stream, getattr(file, "filename", None), getattr(file, "content_type", None)
    )


def _format(value: Any) -> RowFormat | None:
    return RowFormat[value.name] if value is not None else None


def _page(value: int | None, most: int | None, name: str) -> int:
    if value is None:
        return 0 if most is None else most
    if value < 0 or (most is not None and value > most):
        bound = f"0 to {most}" if most is not None else "0 or more"
        raise GraphQLError(f"{name} must be {bound}")
    return value


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
