"""Variable coercion compiled per input type, for the values graphql-core would accept as they are.

graphql-core's `coerce_input_value` is generic: for every contact of a bulk it walks all fifteen
fields of ContactInput, asking each type what it is, then walks the value again for nesting
depth: about 10 us a contact, two thirds of the budget for the whole gateway. Compiled once
per variable type, the same rules cost a dict scan and a type check per value given.

The compiled coercer yields exactly graphql-core's result (defaults from the same memo, out
names, leaf coercion by the type itself) or `Undefined` at the first doubt; then the caller
asks graphql-core, which also words the errors. Recursive input types are not compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
    Undefined,
    is_required_input_field,
)
from graphql.utilities.coerce_input_value import coerce_default_value

Coercer = Callable[[Any], Any]
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class NotCompiled(Exception):
    """A type this module leaves to graphql-core (recursive or one-of input objects)."""


def compile_coercer(type_: GraphQLInputType) -> Coercer:
    return _compile(type_, ())


def _compile(type_: GraphQLInputType, seen: tuple[str, ...]) -> Coercer:
    if isinstance(type_, GraphQLNonNull):
        inner = _compile(type_.of_type, seen)
        return lambda value: Undefined if value is None else inner(value)
    if isinstance(type_, GraphQLList):
        return _list(_compile(type_.of_type, seen))
    if isinstance(type_, GraphQLInputObjectType):
        if type_.name in seen or type_.is_one_of:
            raise NotCompiled(type_.name)
        return _input_object(type_, (*seen, type_.name))
    return _leaf(type_)


def _list(item: Coercer) -> Coercer:
    def coerce(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):  # a single value stands for a list of one
            single = item(value)
            return Undefined if single is Undefined else [single]
        coerced = []
        for given in value:
            result = item(given)
            if result is Undefined:
                return Undefined
            coerced.append(result)
        return coerced

    return coerce


_REQUIRED = object()  # no value given and no default: graphql-core refuses the object


def _input_object(type_: GraphQLInputObjectType, seen: tuple[str, ...]) -> Coercer:
    # (name, out name, coercer, default or Undefined or _REQUIRED), in the type's field order
    fields: list[tuple[str, str, Coercer, Any]] = []
    for name, field in type_.fields.items():
        if is_required_input_field(field):
            default: Any = _REQUIRED
        else:
            default = coerce_default_value(field)  # graphql-core's memo: the very same object
        fields.append((name, field.out_name or name, _compile(field.type, seen), default))
    known = frozenset(type_.fields)
    out_type = type_.out_type

    def coerce(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not dict or not known.issuperset(value):
            return Undefined
        coerced: dict[str, Any] = {}
        for name, out, coercer, default in fields:
            if name in value:
                result = coercer(value[name])
                if result is Undefined:
                    return Undefined
                coerced[out] = result
            elif default is _REQUIRED:
                return Undefined
            elif default is not Undefined:
                coerced[out] = default
        return out_type(coerced)

    return coerce


def _leaf(type_: Any) -> Coercer:
    generic = type_.coerce_input_value

    def coerce(value: Any) -> Any:
        if value is None:
            return None
        try:
            return generic(value)
        except Exception:  # graphql-core's own reading: any failure is "not valid"
            return Undefined

    # The built-in scalars' checks, inline: a value of the exact type is returned as it is.
    if type_ is GraphQLString or type_ is GraphQLID:
        return lambda value: value if type(value) is str else coerce(value)
    if type_ is GraphQLBoolean:
        return lambda value: value if type(value) is bool else coerce(value)
    if type_ is GraphQLInt:
        return lambda value: (
            value if type(value) is int and _INT_MIN <= value <= _INT_MAX else coerce(value)
        )
    return coerce
