"""An import row judged exactly as a contact of bulkUpsertContacts is.

A stored row (a CSV record or a JSON object) becomes the `ContactInput` variables a client
would send; graphql-core coerces it against the schema's own ContactInput type (so a wrong type
or an unknown status is refused with GraphQL's words), strawberry builds the ContactInput, and
`to_draft` applies the gateway's checks. The service then applies the provider's, as for a bulk.
Inline contacts (startContactImport's `contacts`) are stored as the same JSON objects.

A CSV row skips the GraphQL coercion when it cannot change anything: its cells are text, so each
column is a String, a list of Strings (tags), the CustomFields object (whose parse_value keeps
it as it is) or a status, and coercing such values is the identity but for a status name (its
enum member). The row's values then go straight to the checks `to_draft` would apply to the
ContactInput coercion would have built (`draft_of`: the given values in the input's field
order, without building it); a status that names no member takes the GraphQL path, for
GraphQL's words. Coercing and converting every row was about a third of an import's CPU
(bench/profile.py, `make bench` 7). A header is worked out once (`_plan`: each value's column
and check, in field order), so a row is one pass over its cells into the draft (judging a
row 8.8 -> 3.5 us, with the changes around it: docs/benchmarks.md); a header naming one input
twice takes the cell-by-cell walk. The differential tests (tests/gateway/imports/test_rows.py,
a property test among them) hold the paths to the same drafts and refusals.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
import strawberry
from graphql import GraphQLError, GraphQLInputType, Undefined
from graphql.utilities import coerce_input_value, validate_input_value
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import convert_argument
from strawberry.types.base import get_object_definition

from gateway.imports.formats import COLUMNS
from gateway.input import validation as check
from gateway.schema.enums import SubscriptionStatus
from gateway.schema.inputs import ContactInput
from gateway.schema.scalars import SCALAR_MAP
from gateway.schema.translate import CHECKS, draft_of, to_draft
from gateway.store.imports import InputRow, RowFormat
from providers.errors import ErrorCode, Failure, ProviderError
from providers.model import ContactDraft

__all__ = ["Judged", "contact_json", "judge"]

UNNAMED = "a column without a name in the CSV header was not sent"


@strawberry.type
class _Rows:
    """A schema holding ContactInput alone: the same GraphQL type the API coerces."""

    @strawberry.field
    def row(self, contact: ContactInput) -> int:
        return 0


_SCHEMA = strawberry.Schema(query=_Rows, config=StrawberryConfig(scalar_map=SCALAR_MAP))
_CONTACT_TYPE: GraphQLInputType = _SCHEMA._schema.get_type("ContactInput")  # type: ignore[assignment]


class Judged(NamedTuple):  # a tuple: one is made per row sent (`make bench` 7 (a))
    item: ContactDraft | Failure
    phone: str | None  # as given, for the failed item's report
    email: str | None
    notes: tuple[str, ...] = ()


Judge = Callable[[InputRow], Judged]


def judge(
    row: InputRow, row_format: RowFormat, header: tuple[str, ...] | None, region: str
) -> Judged:
    return judger(row_format, header, region)(row)


@functools.lru_cache(maxsize=64)
def judger(row_format: RowFormat, header: tuple[str, ...] | None, region: str) -> Judge:
    """How to judge a row of a job: its format, header and region worked out once, not per
    row (the import runner judges a chunk's rows with one)."""
    if row_format is RowFormat.NDJSON:
        return functools.partial(_judge_ndjson, region=region)
    assert header is not None
    # orjson reads the arrays formats.py wrote with it, in a third of json.loads' time.
    plan, width, loads = _plan(header), len(header), orjson.loads

    def judge_csv(row: InputRow) -> Judged:
        if row.problem is not None:
            return Judged(_invalid(row.problem), None, None)
        try:
            fields = loads(row.raw)
        except orjson.JSONDecodeError:  # what orjson refuses and json reads: an escaped surrogate
            fields = json.loads(row.raw)
        if len(fields) != width:
            message = f"this row has {len(fields)} fields; the header has {width}"
            return Judged(_invalid(message), None, None)
        if plan is not None:
            planned = _judge_planned(fields, plan, region)
            if planned is not None:
                return planned
        assert header is not None
        return _judge_walked(fields, header, region)

    return judge_csv


def _judge_walked(fields: list[str], header: tuple[str, ...], region: str) -> Judged:
    """A CSV row cell by cell (a header naming one input twice; a status naming no member)."""
    variables, notes = _from_csv(fields, _columns(header))
    values = _csv_values(variables)
    if values is not None:
        phone, email = variables.get("phone"), variables.get("email")
        return Judged(_checked(values, region), phone, email, notes)
    phone, email = _given(variables.get("phone")), _given(variables.get("email"))
    return Judged(_draft(variables, region), phone, email, notes)


def _judge_ndjson(row: InputRow, region: str) -> Judged:
    if row.problem is not None:
        return Judged(_invalid(row.problem), None, None)
    try:
        variables = json.loads(row.raw)
    except ValueError as exc:
        return Judged(_invalid(f"this line is not valid JSON: {exc}"), None, None)
    if not isinstance(variables, dict):
        return Judged(_invalid("this line is not a JSON object"), None, None)
    phone, email = _given(variables.get("phone")), _given(variables.get("email"))
    return Judged(_draft(variables, region), phone, email)


@functools.lru_cache(maxsize=64)
def _columns(header: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    """Each header name with the ContactInput field it fills (None: a custom field), worked
    out once per header rather than once per cell."""
    return tuple((name, COLUMNS.get(name.lower())) for name in header)


class _Plan(NamedTuple):
    """A CSV header worked out once: each ContactInput value's column and check, in the input's
    field order (which bad value is reported first follows it)."""

    steps: tuple[tuple[str, int, Callable[[Any, str], Any]], ...]  # column -1: customFields
    custom: tuple[tuple[int, str], ...]  # (column, custom field name), in column order
    status: int | None
    phone: int | None
    email: int | None
    unnamed: tuple[int, ...]


@functools.lru_cache(maxsize=64)
def _plan(header: tuple[str, ...]) -> _Plan | None:
    """The plan of a header whose every column fills its own value; None when two columns fill
    the same one (the last non-empty cell wins: _from_csv's walk, cell by cell, says which)."""
    found: dict[str, int] = {}
    custom: list[tuple[int, str]] = []
    unnamed: list[int] = []
    for column, (name, key) in enumerate(_columns(header)):
        if key is not None:
            if key in found:
                return None
            found[key] = column
        elif name:
            if name in (other for _, other in custom):
                return None
            custom.append((column, name))
        else:
            unnamed.append(column)
    steps: list[tuple[str, int, Callable[[Any, str], Any]]] = [
        (_CSV_FIELDS[key], column, _CSV_CHECKS.get(key) or CHECKS[_CSV_FIELDS[key]])
        for key, column in found.items()
    ]
    if custom:
        steps.append(("custom_fields", -1, _custom_check([name for _, name in custom])))
    steps.sort(key=lambda step: _FIELD_ORDER[step[0]])
    return _Plan(
        tuple(steps),
        tuple(custom),
        found.get("status"),
        found.get("phone"),
        found.get("email"),
        tuple(unnamed),
    )


def _custom_check(names: list[str]) -> Callable[[Any, str], Any]:
    """A row's custom fields' check: its keys are the header's, so when they pass once, only
    the values are left to check, row by row; else the whole check, for its words."""
    try:
        check.custom_fields(dict.fromkeys(names, ""))
    except ProviderError:
        return CHECKS["custom_fields"]

    def values_only(custom: dict[str, str], region: str) -> dict[str, str]:
        for key, value in custom.items():
            check.custom_field_text(key, value)
        return custom

    return values_only


def _judge_planned(fields: list[str], plan: _Plan, region: str) -> Judged | None:
    """What _from_csv, _csv_values and draft_of make of the row, in one pass over its cells;
    None when its status names no member (GraphQL's words are then wanted)."""
    if plan.status is not None:
        status = fields[plan.status].strip()
        if status and status.upper() not in _STATUSES:
            return None
    draft: dict[str, Any] = {}
    try:
        for name, column, check in plan.steps:
            if column < 0:
                custom = {key: value for at, key in plan.custom if (value := fields[at].strip())}
                if custom:
                    draft[name] = check(custom, region)
            elif value := fields[column].strip():
                draft[name] = check(value, region)
        item: ContactDraft | Failure = ContactDraft.of(draft)
    except ProviderError as error:
        item = error.failure
    unnamed = plan.unnamed and any(fields[at].strip() for at in plan.unnamed)
    notes = (UNNAMED,) if unnamed else ()
    phone = None if plan.phone is None else fields[plan.phone].strip() or None
    email = None if plan.email is None else fields[plan.email].strip() or None
    return Judged(item, phone, email, notes)


def _from_csv(
    fields: list[str], columns: tuple[tuple[str, str | None], ...]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    contact: dict[str, Any] = {}
    custom: dict[str, str] = {}
    notes: tuple[str, ...] = ()
    for (name, key), cell in zip(columns, fields, strict=True):
        value = cell.strip()
        if not value:
            continue
        if key == "tags":
            contact["tags"] = [tag.strip() for tag in value.split(";") if tag.strip()]
        elif key == "status":
            contact["status"] = value.upper()
        elif key is not None:
            contact[key] = value
        elif name:
            custom[name] = value
        else:
            notes = (UNNAMED,)
    if custom:
        contact["customFields"] = custom
    return contact, notes


def _draft(variables: dict[str, Any], region: str) -> ContactDraft | Failure:
    coerced = coerce_input_value(variables, _CONTACT_TYPE)
    if coerced is Undefined:  # graphql-core says why, as it would for a bulk's variables
        problems: list[Failure] = []

        def on_error(error: GraphQLError, path: list[str | int]) -> None:
            where = ".".join(str(part) for part in path) or None
            status = path[:1] == ["status"]
            code = ErrorCode.INVALID_STATUS if status else ErrorCode.INVALID_REQUEST
            problems.append(Failure(code, error.message, field=where))

        validate_input_value(variables, _CONTACT_TYPE, on_error, hide_suggestions=True)
        return problems[0] if problems else _invalid("this contact is not a ContactInput")
    contact = convert_argument(
        coerced, ContactInput, _SCHEMA.schema_converter.scalar_registry, _SCHEMA.config
    )
    assert isinstance(contact, ContactInput)
    return _checked(contact, region)


# A CSV column's GraphQL name (formats.COLUMNS' values, and customFields) -> ContactInput's.
_CSV_FIELDS = {
    "phone": "phone",
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "listNumber": "list_number",
    "tags": "tags",
    "customFields": "custom_fields",
    "status": "status",
}
_STATUSES: dict[str, Any] = {member.name: member for member in SubscriptionStatus}
# A CSV cell -> the draft's value, where the cell is not yet what ContactInput holds (as
# _from_csv then _csv_values turn it): tags are `;`-separated names, a status a member's name.
_CSV_CHECKS: dict[str, Callable[[str, str], Any]] = {
    "tags": lambda cell, region: CHECKS["tags"](
        [tag.strip() for tag in cell.split(";") if tag.strip()], region
    ),
    "status": lambda cell, region: CHECKS["status"](_STATUSES[cell.upper()], region),
}


# ContactInput's fields in order: which bad value is reported first follows it.
_FIELD_ORDER = {name: n for n, name in enumerate(vars(ContactInput()))}


def _csv_values(variables: dict[str, Any]) -> dict[str, Any] | None:
    """What to_draft reads of the ContactInput GraphQL would coerce a CSV row's values into,
    without building it: the given values in field order (the fields left out are UNSET, or
    a default whose draft value is the draft's default: fieldMode MERGE, enrollInJourneys
    false); None when a value needs GraphQL's own judgement (a status naming no member)."""
    values: dict[str, Any] = {}
    for key, value in variables.items():
        if key == "status":
            member = _STATUSES.get(value)
            if member is None:
                return None
            values["status"] = member
        else:
            values[_CSV_FIELDS[key]] = value
    if len(values) > 1:
        values = dict(sorted(values.items(), key=lambda item: _FIELD_ORDER[item[0]]))
    return values


def _checked(contact: ContactInput | dict[str, Any], region: str) -> ContactDraft | Failure:
    try:
        if isinstance(contact, dict):
            return draft_of(contact, region)
        return to_draft(contact, region)
    except ProviderError as error:
        return error.failure


def contact_json(contact: ContactInput) -> str:
    """An inline contact as the JSON object a client would have sent."""
    return json.dumps(_plain(contact), ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    definition = get_object_definition(type(value))
    if definition is not None and dataclasses.is_dataclass(value):
        found: dict[str, Any] = {}
        for field in definition.fields:
            item = getattr(value, field.python_name)
            if item is not strawberry.UNSET:
                found[_SCHEMA.config.name_converter.from_field(field)] = _plain(item)
        return found
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _given(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _invalid(message: str) -> Failure:
    return Failure(ErrorCode.INVALID_REQUEST, message)
