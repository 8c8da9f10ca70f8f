"""The CustomFields scalar: any JSON on the way in (checked by the gateway, so a bad value is a
typed INVALID_CUSTOM_FIELDS answer rather than a transport error), an object on the way out."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import ValueNode, value_from_ast_untyped
from strawberry.types.scalar import ScalarDefinition

CustomFields = NewType("CustomFields", object)


def _parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, variables)


CUSTOM_FIELDS = strawberry.scalar(
    name="CustomFields",
    description=(
        "A JSON object: keys are field names, values are String, Int, Float or Boolean only."
    ),
    serialize=dict,
    parse_value=lambda value: value,
    parse_literal=_parse_literal,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {CustomFields: CUSTOM_FIELDS}
