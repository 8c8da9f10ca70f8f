"""The three mutations: translate the input, call the service, shape the answer. Nothing else.

`validateOnly: true` runs the mutation as a dry run (providers/dryrun.py): every check and read
happens, no write is sent, and the success answer carries the writes as `preview`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Annotated, Any, overload

import strawberry
from strawberry.types import Info

from gateway.input.validation import custom_fields as check_custom_fields
from gateway.schema.context import gateway_context
from gateway.schema.enums import FieldUpdateMode, Provider, SubscriptionStatus, provider_name
from gateway.schema.errors import error_from
from gateway.schema.inputs import ContactInput, ContactRefInput
from gateway.schema.observed import ObservedMutation
from gateway.schema.payloads import (
    BULK_ERRORS,
    UPDATE_ERRORS,
    UPSERT_ERRORS,
    BulkItemError,
    BulkUpsertContactsResult,
    BulkUpsertContactsSuccess,
    Contact,
    ProviderRequest,
    UpdateContactFieldsResult,
    UpdateContactFieldsSuccess,
    UpsertContactResult,
    UpsertContactSuccess,
)
from gateway.schema.scalars import CustomFields
from gateway.schema.translate import given, to_draft, to_mode, to_ref
from providers import dryrun
from providers.errors import Failure, ProviderError
from providers.model import ContactDraft, ContactRecord

ValidateOnly = Annotated[
    bool | None,
    strawberry.argument(
        description=(
            "A dry run: every check and read is made, nothing is written, and the success "
            "answer lists in `preview` the exact write requests a real call would send."
        )
    ),
]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create or update one contact at the provider.", extensions=[ObservedMutation()]
    )
    async def upsert_contact(
        self,
        info: Info[Any, Any],
        provider: Provider,  # type: ignore[valid-type]
        contact: ContactInput,
        validate_only: ValidateOnly = False,
    ) -> UpsertContactResult:
        context = gateway_context(info)
        try:
            draft = to_draft(contact, context.region)
            with _dry_run(validate_only) as run:
                result = await context.service.upsert(provider_name(provider), draft)
        except ProviderError as error:
            return error_from(error.failure, "contact", UPSERT_ERRORS)  # type: ignore[return-value]
        return UpsertContactSuccess(
            contact=_contact(result.contact),
            created=result.created,
            list_membership_created=result.list_membership_created,
            list_contact_id=result.list_contact_id,  # type: ignore[arg-type]
            journeys_enrolled=result.journeys_enrolled,
            warnings=_warnings(result.warnings, run),
            dry_run=run is not None,
            preview=_preview(run),
        )

    @strawberry.mutation(
        description="Create or update many contacts; results per input index.",
        extensions=[ObservedMutation()],
    )
    async def bulk_upsert_contacts(
        self,
        info: Info[Any, Any],
        provider: Provider,  # type: ignore[valid-type]
        contacts: list[ContactInput],
        validate_only: ValidateOnly = False,
    ) -> BulkUpsertContactsResult:
        context = gateway_context(info)
        name = provider_name(provider)
        try:
            context.service.check_bulk_size(name, len(contacts))
            with _dry_run(validate_only) as run:
                drafts = _Drafts(contacts, context.region)
                outcome = await context.service.bulk_upsert(name, drafts)
        except ProviderError as error:
            return error_from(error.failure, None, BULK_ERRORS)  # type: ignore[return-value]
        slow = context.service.slow_bulk_warning(name, len(contacts))
        return BulkUpsertContactsSuccess(
            success_count=outcome.success_count,
            error_count=outcome.error_count,
            contacts_created=outcome.contacts_created,
            list_contacts_created=outcome.list_contacts_created,
            journeys_enrolled=outcome.journeys_enrolled,
            errors=[
                BulkItemError(
                    index=item.index,
                    phone=item.phone or given(contacts[item.index].phone),
                    email=item.email or given(contacts[item.index].email),
                    error=error_from(item.failure, f"contacts[{item.index}]"),
                )
                for item in outcome.errors
            ],
            warnings=_warnings(_with_slow(outcome.warnings, slow), run),
            dry_run=run is not None,
            preview=_preview(run),
        )

    @strawberry.mutation(
        description="Set custom fields on an existing contact.", extensions=[ObservedMutation()]
    )
    async def update_contact_fields(
        self,
        info: Info[Any, Any],
        provider: Provider,  # type: ignore[valid-type]
        contact: ContactRefInput,
        custom_fields: CustomFields,
        mode: FieldUpdateMode | None = FieldUpdateMode.MERGE,  # type: ignore[valid-type,attr-defined]
        validate_only: ValidateOnly = False,
    ) -> UpdateContactFieldsResult:
        context = gateway_context(info)
        try:
            fields = check_custom_fields(custom_fields)
            ref = to_ref(contact, context.region)
            with _dry_run(validate_only) as run:
                result = await context.service.update_fields(
                    provider_name(provider), ref, fields, to_mode(mode)
                )
        except ProviderError as error:
            failure = error.failure
            # customFields is an argument of its own here; everything else is in `contact`.
            path = None if (failure.field or "").startswith("customFields") else "contact"
            return error_from(failure, path, UPDATE_ERRORS)  # type: ignore[return-value]
        return UpdateContactFieldsSuccess(
            contact=_contact(result.contact),
            custom_fields=CustomFields(dict(result.custom_fields)),
            warnings=_warnings((), run),
            dry_run=run is not None,
            preview=_preview(run),
        )


def _dry_run(validate_only: bool | None) -> contextlib.AbstractContextManager[dryrun.DryRun | None]:
    return dryrun.recording() if validate_only else contextlib.nullcontext()


def _warnings(warnings: Sequence[str], run: dryrun.DryRun | None) -> list[str]:
    return [*warnings, *run.notes()] if run is not None else list(warnings)


def _with_slow(warnings: Sequence[str], slow: str | None) -> Sequence[str]:
    return [*warnings, slow] if slow else warnings


def _preview(run: dryrun.DryRun | None) -> list[ProviderRequest] | None:
    if run is None:
        return None
    return [ProviderRequest(method=w.method, path=w.path, body=w.body()) for w in run.writes]


class _Drafts(Sequence[ContactDraft | Failure]):
    """The bulk's drafts, each checked when the service reads it (a window at a time)."""

    def __init__(self, contacts: list[ContactInput], region: str) -> None:
        self.contacts = contacts
        self.region = region

    def __len__(self) -> int:
        return len(self.contacts)

    @overload
    def __getitem__(self, index: int) -> ContactDraft | Failure: ...
    @overload
    def __getitem__(self, index: slice) -> list[ContactDraft | Failure]: ...
    def __getitem__(
        self, index: int | slice
    ) -> ContactDraft | Failure | list[ContactDraft | Failure]:
        if isinstance(index, slice):
            return [self._draft(contact) for contact in self.contacts[index]]
        return self._draft(self.contacts[index])

    def _draft(self, contact: ContactInput) -> ContactDraft | Failure:
        try:
            return to_draft(contact, self.region)
        except ProviderError as error:
            return error.failure


def _contact(record: ContactRecord) -> Contact:
    return Contact(
        provider=Provider[record.provider.name],
        id=strawberry.ID(record.id),
        phone=record.phone,
        email=record.email,
        custom_fields=(
            CustomFields(dict(record.custom_fields)) if record.custom_fields is not None else None
        ),
        first_name=record.first_name,
        last_name=record.last_name,
        tags=list(record.tags) if record.tags is not None else None,
        status=SubscriptionStatus[record.status.name] if record.status is not None else None,
    )
