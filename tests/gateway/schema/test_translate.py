"""Every ContactInput field reaches the draft: the table of checks covers them all."""

from __future__ import annotations

import dataclasses

from gateway.schema.inputs import ContactInput
from gateway.schema.translate import CHECKS, to_draft
from providers.model import ContactDraft, FieldMode


def test_every_input_field_has_a_check_and_a_draft_field() -> None:
    inputs = {field.name for field in dataclasses.fields(ContactInput)}
    assert set(CHECKS) == inputs
    assert inputs <= {field.name for field in dataclasses.fields(ContactDraft)}


def test_fields_left_out_or_null_keep_the_drafts_defaults() -> None:
    draft = to_draft(ContactInput(phone="(415) 555-2671", email=None, field_mode=None), "US")
    assert draft == ContactDraft(phone="+14155552671")
    assert draft.field_mode is FieldMode.MERGE and draft.enroll_in_journeys is False
