"""Running a compiled plan: what strawberry's view and executor do for a planned document.

The same steps, in the same order, with the same libraries where they decide anything a client
can see: graphql-core coerces the variables and the arguments, strawberry converts them into the
input classes and runs the field's extensions and resolver, the type's own `serialize` turns
each leaf into JSON. What is left out is generic machinery the plan already settled (which
operation, which fields, which resolvers). Anything unusual before the resolver runs (bad
variables, an argument graphql-core refuses) returns None, and the caller hands the request to
strawberry untouched: its answers to bad input stay the reference.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial, reduce
from typing import Any

from graphql import (
    GraphQLError,
    Undefined,
    get_argument_values,
    get_variable_values,
    located_error,
)
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.pyutils import Path
from strawberry.extensions.field_extension import FieldExtension, build_field_extension_resolvers
from strawberry.schema.schema_converter import get_arguments
from strawberry.types import Info
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET
from strawberry.utils.await_maybe import await_maybe

from gateway.schema.compiled.plan import Plan
from gateway.schema.masking import is_unexpected

log = logging.getLogger("gateway.graphql")

UNEXPECTED = "Unexpected error."


@dataclass(slots=True)
class _RawInfo:
    """The parts of graphql-core's resolve info that strawberry's Info reads."""

    field_name: str
    field_nodes: list[Any]
    return_type: Any
    parent_type: Any
    path: Path
    schema: Any
    fragments: dict[str, Any]
    root_value: Any
    operation: Any
    variable_values: Any
    context: Any
    operation_extensions: dict[str, Any] = field(default_factory=dict)


Resolver = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Prepared:
    plan: Plan
    info: Info[Any, Any]
    path: Path
    args: list[Any]
    kwargs: dict[str, Any]
    wants_info: bool


class PlanRunner:
    def __init__(self, schema: Any) -> None:
        self.schema = schema  # strawberry.Schema
        self._chains: dict[int, Resolver] = {}
        self._lists: dict[int, dict[str, tuple[str, InputBuilder]]] = {}

    def prepare(
        self, plan: Plan, variables: Mapping[str, Any] | None, context: Any
    ) -> Prepared | None:
        """Coerce and convert the arguments; None when strawberry must answer instead.

        Nothing has run yet at this point, so declining costs the client nothing.
        """
        core = self.schema._schema
        inputs = dict(variables or {})
        coerced = _coerce_compiled(plan, inputs)
        if coerced is None:
            checked = get_variable_values(
                core,
                plan.variable_definitions,
                inputs,
                hide_suggestions=self.schema.config.disable_field_suggestions,
            )
            if isinstance(checked, list):  # refused: strawberry words the errors
                return None
            coerced = checked
        try:
            raw_args = get_argument_values(plan.field_def, plan.field_node, coerced)
        except GraphQLError:
            return None
        path = Path(None, plan.response_key, "Mutation")
        raw = _RawInfo(
            field_name=plan.field_name,
            field_nodes=list(plan.field_nodes),
            return_type=plan.field_def.type,
            parent_type=core.mutation_type,
            path=path,
            schema=core,
            fragments={},
            root_value=None,
            operation=None,
            variable_values=coerced,
            context=context,
        )
        info: Info[Any, Any] = Info(_raw_info=raw, _field=plan.strawberry_field)  # type: ignore[arg-type]
        config = self.schema.config
        registry = self.schema.schema_converter.scalar_registry
        lists = self._input_lists(plan.strawberry_field)
        try:
            built = {
                python_name: _build_list(raw_args.pop(name), name, build, info, config, registry)
                for name, (python_name, build) in lists.items()
                if name in raw_args
            }
            args, kwargs = get_arguments(
                field=plan.strawberry_field,
                source=None,
                info=info,
                kwargs=raw_args,
                config=config,
                scalar_registry=registry,
            )
        except Exception:  # conversion trouble: the generic path reports it
            return None
        kwargs.update(built)
        wants_info = kwargs.pop("info", None) is not None
        return Prepared(plan, info, path, args, kwargs, wants_info)

    async def execute(self, prepared: Prepared) -> bytes:
        """Run the resolver and serialize its answer; a bug becomes strawberry's masked error."""
        plan = prepared.plan
        try:
            call = self._chain(plan)
            answer = await await_maybe(
                call(None, prepared.info, prepared.args, prepared.wants_info, **prepared.kwargs)
            )
            data: Any = {plan.response_key: plan.serialize(answer)}
        except Exception as exc:  # a bug: masked, as strawberry masks it
            error = located_error(exc, list(plan.field_nodes), prepared.path.as_list())
            self.schema.process_errors([error])
            if is_unexpected(error):
                error = GraphQLError(UNEXPECTED, nodes=error.nodes, path=error.path)
            # Every root mutation field is non-null: its error nulls the whole answer.
            return _encode({"data": None, "errors": [error.formatted]})
        return _encode({"data": data})

    def _input_lists(self, field_: StrawberryField) -> dict[str, tuple[str, InputBuilder]]:
        lists = self._lists.get(id(field_))
        if lists is None:
            lists = self._lists[id(field_)] = _input_lists(field_, self.schema.config)
        return lists

    def _chain(self, plan: Plan) -> Resolver:
        """The field's extensions around its resolver, chained as strawberry chains them."""
        chain = self._chains.get(id(plan.strawberry_field))
        if chain is None:
            chain = self._chains[id(plan.strawberry_field)] = _chain_of(plan.strawberry_field)
        return chain


InputBuilder = Callable[[Any, InputContext], Any]


def _input_lists(field_: StrawberryField, config: Any) -> dict[str, tuple[str, InputBuilder]]:
    """Arguments that are lists of input objects building themselves (`from_input`), by
    GraphQL name: (python name, builder). A bulk's 10,000 contacts are built here, without
    strawberry's per-item type dispatch (6 us a contact); everything else is left to it."""
    if any(type(e).map_arguments is not FieldExtension.map_arguments for e in field_.extensions):
        return {}  # an extension reshapes the arguments: strawberry's order of things
    lists: dict[str, tuple[str, InputBuilder]] = {}
    for argument in field_.arguments:
        type_ = argument.type
        if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
            type_ = type_.of_type
        if not isinstance(type_, StrawberryList):
            continue
        cls = type_.of_type
        definition = getattr(cls, "__strawberry_definition__", None)
        if definition is None or not definition.is_input or definition.from_input is None:
            continue
        from_input = definition.from_input
        name = config.name_converter.from_argument(argument)
        lists[name] = (argument.python_name, partial(from_input, cls))
    return lists


def _build_list(
    values: Any, name: str, build: InputBuilder, info: Any, config: Any, registry: Any
) -> Any:
    """What strawberry's convert_argument makes of a list of such inputs."""
    if values is None or values is UNSET:
        return values
    return [
        None
        if value is None
        else build(
            value,
            InputContext(info=info, config=config, scalar_registry=registry, path=(name, index)),
        )
        for index, value in enumerate(values)
    ]


def _coerce_compiled(plan: Plan, inputs: dict[str, Any]) -> VariableValues | None:
    """graphql-core's VariableValues from the plan's compiled coercers; None at any doubt
    (a variable left out, a value they cannot take as it is)."""
    if plan.variables is None:
        return None
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for name, signature, coerce in plan.variables:
        given = inputs.get(name, Undefined)
        if given is Undefined:  # defaults and omissions: graphql-core's rules
            return None
        value = coerce(given)
        if value is Undefined:
            return None
        sources[name] = VariableValueSource(signature, given)
        coerced[name] = value
    return VariableValues(sources, coerced)


def _chain_of(field_: StrawberryField) -> Resolver:
    extensions = build_field_extension_resolvers(field_)

    def call(
        source: Any, info: Info[Any, Any], args: list[Any], wants_info: bool, **kwargs: Any
    ) -> Any:
        def resolve(source: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
            if wants_info:
                kwargs["info"] = info
            return field_.get_result(source, info=info, args=args, kwargs=kwargs)

        chained = reduce(lambda inner, outer: partial(outer, inner), extensions, resolve)
        return chained(source, info, **kwargs)

    return call


def _encode(body: object) -> bytes:
    # Byte for byte what strawberry's view writes (json.dumps with compact separators).
    return json.dumps(body, separators=(",", ":")).encode()
