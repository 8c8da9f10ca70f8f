"""The compiled coercers give graphql-core's result, or Undefined where graphql-core fails."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedInputType,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)
from graphql.utilities import coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.schema import build_schema
from gateway.schema.compiled.coerce import compile_coercer

CORE = build_schema()._schema
CONTACT = CORE.type_map["ContactInput"]
assert isinstance(CONTACT, GraphQLInputObjectType)


def named(name: str) -> GraphQLNamedInputType:
    found = CORE.type_map[name]
    assert isinstance(found, GraphQLScalarType | GraphQLEnumType | GraphQLInputObjectType)
    return found


TYPES: list[GraphQLInputType] = [
    GraphQLNonNull(GraphQLList(GraphQLNonNull(CONTACT))),  # bulkUpsertContacts' contacts
    GraphQLNonNull(CONTACT),
    CONTACT,
    GraphQLNonNull(named("ContactRefInput")),
    named("FieldUpdateMode"),
    GraphQLNonNull(named("CustomFields")),
    GraphQLList(named("Int")),
]
FIELDS = [*CONTACT.fields, "id", "unknown", "displayName", "adNetworkSource", "assigneeId"]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**33), max_value=2**33),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x", "MERGE", "REPLACE", "SUBSCRIBED", "415-555-2671", "TRACKLY"]),
)
values: st.SearchStrategy[Any] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6),
    ),
    max_leaves=20,
)


def _agree(type_: GraphQLInputType, value: Any) -> None:
    expected = coerce_input_value(value, type_)
    got = compile_coercer(type_)(value)
    if expected is Undefined:
        assert got is Undefined
    else:
        assert repr(got) == repr(expected)  # repr: nan equals nan, and types show
        assert type(got) is type(expected)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(TYPES), values)
def test_compiled_coercion_never_differs_from_graphql_core(
    type_: GraphQLInputType, value: Any
) -> None:
    _agree(type_, value)


def test_everyday_contacts_are_coerced_without_graphql_core() -> None:
    contacts = [
        {"phone": "(415) 555-2671", "customFields": {"plan": "gold", "visits": 3}},
        {
            "email": "a@example.com",
            "tags": "vip",  # one value for a list
            "status": "SUBSCRIBED",
            "fieldMode": "REPLACE",
            "enrollInJourneys": True,
            "trackly": {"adNetworkSource": "meta"},
            "heymarket": {"assigneeId": -1, "displayName": None},
        },
    ]
    type_ = TYPES[0]
    got = compile_coercer(type_)(contacts)
    assert got is not Undefined
    assert got == coerce_input_value(contacts, type_)
    # Defaults are graphql-core's own objects, as strawberry would receive them.
    assert got[0]["fieldMode"] is coerce_input_value(contacts, type_)[0]["fieldMode"]
    assert compile_coercer(type_)([{"phone": "1", "bogus": 1}]) is Undefined
    assert compile_coercer(type_)([{"phone": 1}]) is Undefined
    assert compile_coercer(type_)(None) is Undefined
