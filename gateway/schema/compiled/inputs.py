"""Input objects built straight from graphql-core's coerced values: bulk lists of them are big.

strawberry converts an input object field by field, working out each field's GraphQL name and
type again for every value: for 10,000 contacts that is 150,000 name conversions, about 40% of
a bulk mutation's CPU. A type definition's `from_input` hook lets a type build itself; this
one works the plan out once per type, copies leaf values (scalars, enums, lists of them) as
they are, and hands anything else (a nested input object) back to strawberry's own conversion.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

T = TypeVar("T", bound=type)

LEAF, LEAF_LIST, NESTED = "leaf", "leaf list", "nested"


@dataclass(frozen=True, slots=True)
class _Field:
    graphql_name: str
    python_name: str
    kind: str
    type_: Any


_plans: dict[tuple[type, int], tuple[dict[str, _Field], dict[str, None]]] = {}


def fast_input(cls: T) -> T:
    """Class decorator, above @strawberry.input: build this input through `_build`."""
    definition = get_object_definition(cls, strict=True)
    definition.from_input = _build
    return cls


def _build(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    key = (cls, id(context.config.name_converter))
    plan = _plans.get(key) or _plans.setdefault(key, _plan(cls, context))
    fields, required = plan
    kwargs: dict[str, Any] = dict(required)
    # The given values only (coercion leaves out what the client left out, defaults aside).
    for graphql_name, item in value.items():
        field = fields.get(graphql_name)
        if field is None:
            continue
        if item is None or field.kind == LEAF:
            kwargs[field.python_name] = item
        elif field.kind == LEAF_LIST:
            # Copied, as strawberry does: graphql-core shares default values between requests.
            kwargs[field.python_name] = list(item)
        else:
            kwargs[field.python_name] = context.convert(item, field.type_, field.graphql_name)
    return cls(**kwargs)


def _plan(cls: type, context: InputContext) -> tuple[dict[str, _Field], dict[str, None]]:
    definition = get_object_definition(cls, strict=True)
    fields: list[_Field] = []
    # Like strawberry: a field without a default is None unless the value carries it.
    required: dict[str, None] = {}
    for field in definition.fields:
        type_ = field.resolve_type(type_definition=definition)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required[field.python_name] = None
        inner = _unwrap(type_)
        if _is_leaf(inner, context):
            kind = LEAF
        elif isinstance(inner, StrawberryList) and _is_leaf(_unwrap(inner.of_type), context):
            kind = LEAF_LIST
        else:
            kind = NESTED
        name = context.config.name_converter.from_field(field)
        fields.append(_Field(name, field.python_name, kind, type_))
    return {field.graphql_name: field for field in fields}, required


def _unwrap(type_: Any) -> Any:
    while isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    return type_


def _is_leaf(type_: Any, context: InputContext) -> bool:
    return (
        is_scalar(type_, context.scalar_registry)
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    )
