"""An import row is judged as a bulk contact is: GraphQL coercion, then the gateway's checks."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from graphql.utilities import coerce_input_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.imports.rows import UNNAMED, _judge_planned, _judge_walked, _plan, contact_json, judge
from gateway.schema.inputs import ContactInput, HeymarketContactOptions
from gateway.schema.translate import CHECKS
from gateway.store.imports import InputRow, RowFormat
from providers.errors import ErrorCode, Failure
from providers.model import ContactDraft, SubscriptionStatus

HEADER = ("Phone", "email", "first_name", "LastName", "list_number", "status", "tags", "plan", "")


def csv_row(*fields: str) -> InputRow:
    return InputRow(0, json.dumps(list(fields)))


def test_csv_columns_map_to_the_unified_input_and_the_rest_are_custom_fields() -> None:
    row = csv_row(
        "(415) 555-2671", "Ann@Example.com", " Ann ", "Lee", "800-555-1234", "unsubscribed",
        "vip; new ;;", "gold", "",
    )  # fmt: skip
    judged = judge(row, RowFormat.CSV, HEADER, "US")
    assert judged.item == ContactDraft(
        phone="+14155552671",
        email="Ann@example.com",
        first_name="Ann",
        last_name="Lee",
        list_number="+18005551234",
        status=SubscriptionStatus.UNSUBSCRIBED,
        tags=("vip", "new"),
        custom_fields={"plan": "gold"},
    )
    assert (judged.phone, judged.email) == ("(415) 555-2671", "Ann@Example.com")


def test_refused_rows_say_why_with_the_gateways_own_codes() -> None:
    cases = {
        ("12345", "", "", "", "", "", "", "", ""): (ErrorCode.INVALID_PHONE, "phone"),
        ("+14155552671", "not-an-email", "", "", "", "", "", "", ""): (
            ErrorCode.INVALID_EMAIL,
            "email",
        ),
        ("+14155552671", "", "", "", "", "maybe", "", "", ""): (ErrorCode.INVALID_STATUS, "status"),
        ("+14155552671", "too", "few"): (ErrorCode.INVALID_REQUEST, None),
    }
    for fields, (code, field) in cases.items():
        item = judge(csv_row(*fields), RowFormat.CSV, HEADER, "US").item
        assert isinstance(item, Failure), fields
        assert (item.code, item.field) == (code, field), item


def test_a_value_in_a_column_without_a_name_is_noted() -> None:
    judged = judge(
        csv_row("+14155552671", "", "", "", "", "", "", "", "x"), RowFormat.CSV, HEADER, "US"
    )
    assert isinstance(judged.item, ContactDraft)
    assert judged.notes == (UNNAMED,)


def test_ndjson_lines_are_coerced_as_graphql_variables_are() -> None:
    def item(line: str) -> ContactDraft | Failure:
        return judge(InputRow(0, line), RowFormat.NDJSON, None, "US").item

    ok = item('{"phone": "+14155552671", "heymarket": {"assigneeId": 3}, "fieldMode": "REPLACE"}')
    assert isinstance(ok, ContactDraft) and ok.heymarket is not None
    assert ok.heymarket.assignee_id == 3
    for line, code, says in [
        ("{not json", ErrorCode.INVALID_REQUEST, "not valid JSON"),
        ("[1, 2]", ErrorCode.INVALID_REQUEST, "not a JSON object"),
        ('{"phone": 4155552671}', ErrorCode.INVALID_REQUEST, "String cannot represent"),
        ('{"phone": "+14155552671", "nick": "x"}', ErrorCode.INVALID_REQUEST, "unknown field"),
        ('{"phone": "+14155552671", "status": "GONE"}', ErrorCode.INVALID_STATUS, "GONE"),
        ('{"phone": "+14155552671", "customFields": {"a": null}}', ErrorCode.INVALID_CUSTOM_FIELDS,
         "customFields.a"),
    ]:  # fmt: skip
        refused = item(line)
        assert isinstance(refused, Failure) and refused.code is code, line
        assert says in refused.message, refused.message


def test_a_problem_found_while_reading_refuses_the_row() -> None:
    item = judge(InputRow(0, "[]", "this row is not UTF-8 text"), RowFormat.CSV, HEADER, "US").item
    assert isinstance(item, Failure) and item.message == "this row is not UTF-8 text"


def test_an_inline_contact_is_stored_as_the_json_a_client_sends_and_judged_the_same() -> None:
    contact = ContactInput(
        phone="+14155552671",
        custom_fields={"plan": "gold", "seats": 3},  # type: ignore[arg-type]
        tags=["vip"],
        heymarket=HeymarketContactOptions(display_name="Ann"),
    )
    raw = contact_json(contact)
    assert json.loads(raw)["heymarket"] == {"displayName": "Ann"}
    judged = judge(InputRow(0, raw), RowFormat.NDJSON, None, "US").item
    assert isinstance(judged, ContactDraft)
    assert judged.custom_fields == {"plan": "gold", "seats": 3}
    assert judged.tags == ("vip",)


# Rows that cover every CSV column, good and bad values, and empty cells.
DIFFERENTIAL_ROWS = [
    ("(415) 555-2671", "Ann@Example.com", " Ann ", "Lee", "800-555-1234", "unsubscribed",
     "vip; new ;;", "gold", ""),
    ("+1 510 555 2001", "", "", "", "", "SUBSCRIBED", "", "", ""),
    ("", "hal@example.com", "Hal", "", "", "", "", "silver", ""),
    ("12345", "", "", "", "", "", "", "", ""),
    ("(415) 555-2672", "not-an-email", "", "", "", "", "", "", ""),
    ("(415) 555-2673", "", "", "", "12", "", "", "", ""),
    ("(415) 555-2674", "", "", "", "", "maybe", "", "", ""),
    ("(415) 555-2675", "", "", "", "", "Unsubscribed", "a;b;c", "x" * 5_000, "stray"),
    ("", "", "", "", "", "", "", "", ""),
    ("+14155550123", "", "", "", "", "", "", "", ""),
    # Several bad values: the first in ContactInput's field order is the one reported (the
    # CSV path checks the row's values without building the ContactInput, in that order).
    ("12345", "not-an-email", "", "", "12", "", "", "", ""),
    ("", "not-an-email", "", "", "12", "", "", "", ""),
    ("(415) 555-2676", "", "", "", "12", "maybe", "", "", ""),
]  # fmt: skip


def test_a_csv_row_is_judged_exactly_as_the_same_values_through_graphql_coercion() -> None:
    # The NDJSON path always coerces through GraphQL; a CSV row built straight into the
    # ContactInput (rows.py) must come out the same, refusals and their words included.
    for fields in DIFFERENTIAL_ROWS:
        as_csv = judge(csv_row(*fields), RowFormat.CSV, HEADER, "US")
        variables: dict[str, Any] = {}
        for name, cell in zip(HEADER, fields, strict=True):
            value = cell.strip()
            if not value or not name:
                continue
            key = {"Phone": "phone", "first_name": "firstName", "list_number": "listNumber"}.get(
                name, name[0].lower() + name[1:]
            )
            if key == "tags":
                variables["tags"] = [t.strip() for t in value.split(";") if t.strip()]
            elif key == "status":
                variables["status"] = value.upper()
            elif key in ("phone", "email", "firstName", "lastName", "listNumber"):
                variables[key] = value
            else:
                variables.setdefault("customFields", {})[name] = value
        as_json = judge(InputRow(0, json.dumps(variables)), RowFormat.NDJSON, None, "US")
        assert (as_csv.item, as_csv.phone, as_csv.email) == (
            as_json.item,
            as_json.phone,
            as_json.email,
        ), fields


def test_csv_rows_with_known_statuses_skip_graphql_coercion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Coercing each row through GraphQL was a third of an import's CPU: a CSV row GraphQL
    # could not change is built straight away; a status naming no member still goes through
    # GraphQL, for its words.
    coerced: list[object] = []

    def counted(value: Any, type_: Any) -> Any:
        coerced.append(value)
        return coerce_input_value(value, type_)

    monkeypatch.setattr("gateway.imports.rows.coerce_input_value", counted)
    judge(csv_row(*DIFFERENTIAL_ROWS[0]), RowFormat.CSV, HEADER, "US")
    judge(csv_row(*DIFFERENTIAL_ROWS[2]), RowFormat.CSV, HEADER, "US")
    assert coerced == []
    refused = judge(csv_row(*DIFFERENTIAL_ROWS[6]), RowFormat.CSV, HEADER, "US")
    assert len(coerced) == 1
    assert isinstance(refused.item, Failure)
    assert refused.item.code is ErrorCode.INVALID_STATUS


def test_a_csv_rows_first_bad_value_is_found_in_field_order_whatever_the_column_order() -> None:
    # The CSV path checks a row's values without building its ContactInput; the value reported
    # must still be the first bad one in ContactInput's field order (as a bulk reports it), not
    # in the file's column order.
    header = ("list_number", "email", "phone")
    as_csv = judge(
        InputRow(0, json.dumps(["12", "not-an-email", "12345"])), RowFormat.CSV, header, "US"
    )
    variables = {"listNumber": "12", "email": "not-an-email", "phone": "12345"}
    as_json = judge(InputRow(0, json.dumps(variables)), RowFormat.NDJSON, None, "US")
    assert isinstance(as_csv.item, Failure)
    assert (as_csv.item.code, as_csv.item.field) == (ErrorCode.INVALID_PHONE, "phone")
    assert as_csv.item == as_json.item


def test_when_two_columns_fill_one_value_the_last_non_empty_cell_wins() -> None:
    # A header naming one input twice (or one custom field twice) takes the cell-by-cell walk.
    header = ("phone", "Phone", "plan", "plan")
    second = judge(
        InputRow(0, json.dumps(["(415) 555-2671", "(415) 555-2672", "gold", "silver"])),
        RowFormat.CSV,
        header,
        "US",
    )
    assert second.item == ContactDraft(phone="+14155552672", custom_fields={"plan": "silver"})
    first = judge(
        InputRow(0, json.dumps(["(415) 555-2671", " ", "gold", ""])), RowFormat.CSV, header, "US"
    )
    assert first.item == ContactDraft(phone="+14155552671", custom_fields={"plan": "gold"})
    assert first.phone == "(415) 555-2671"


def test_every_check_fills_a_draft_field() -> None:
    # draft_of and the CSV plan build drafts with ContactDraft.of, which takes field names on
    # trust: each check's name must be one.
    assert set(CHECKS) <= {item.name for item in dataclasses.fields(ContactDraft)}


# Header names a CSV may use (duplicates and an unnamed column included), and cells to fill them.
NAMES = ["phone", "Phone", "email", "first_name", "LastName", "listNumber", "status", "tags"]
NAMES += ["plan", "tier", "", "Plan"]
CELLS = st.sampled_from(
    [
        "", " ", "(415) 555-2671", "+14155552672", "12", "ann@example.com", "not-an-email",
        " Ann ", "unsubscribed", "maybe", "vip; new ;;", ";", "gold", "é", "x" * 4096, "x" * 4097,
        "\t",
    ]
)  # fmt: skip


@settings(max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.lists(st.sampled_from(NAMES), min_size=1, max_size=6),
    data=st.data(),
)
def test_a_planned_row_is_judged_as_the_cell_by_cell_walk_judges_it(
    header: list[str], data: st.DataObject
) -> None:
    # The plan (one pass over the cells) against the walk it replaced: same draft or refusal,
    # same phone and email reported, same notes; where the plan declines (two columns filling
    # one value, a status naming no member), the walk is what judges the row.
    fields = data.draw(st.lists(CELLS, min_size=len(header), max_size=len(header)))
    walked = _judge_walked(fields, tuple(header), "US")
    plan = _plan(tuple(header))
    planned = None if plan is None else _judge_planned(fields, plan, "US")
    if planned is not None:
        assert planned == walked
    as_row = judge(InputRow(0, json.dumps(fields)), RowFormat.CSV, tuple(header), "US")
    assert as_row == walked
