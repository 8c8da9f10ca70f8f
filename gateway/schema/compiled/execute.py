"""Running a plan: the plan's one root field, resolved as strawberry resolves it, without
strawberry's Schema.execute and graphql-core's executor around it.

The same steps, in the same order, with the same libraries where they decide anything a client
can see: graphql-core coerces the arguments, strawberry converts them into the input classes
and runs the field's extensions and resolver, each leaf type's own `coerce_output_value` turns
the answer into JSON. What is left out is generic machinery the plan already settled (which
operation, which fields, which resolvers). Bad variables, or an argument graphql-core refuses,
return None before anything has run, and the caller hands the request to strawberry untouched:
its answers to bad input stay the reference.

This is the part of the package that leans on strawberry's internals (README.md lists them):
the public way, graphql-core's Executor running strawberry's own resolver wrapper, costs an
upsert 35 us of CPU more (+23%) and a bulk 3 us more per contact (+25%).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial, reduce
from typing import Any

from graphql import (
    GraphQLError,
    Undefined,
    VariableValues,
    get_argument_values,
    get_variable_values,
    located_error,
)
from graphql.pyutils import Path
from strawberry.extensions.field_extension import FieldExtension, build_field_extension_resolvers
from strawberry.schema.schema_converter import get_arguments
from strawberry.types import Info
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField

from gateway.schema.compiled.plan import Plan
from gateway.schema.masking import anonymised, coded, is_unexpected, released


@dataclass(slots=True)
class _RawInfo:
    """graphql-core's resolve info as strawberry's executor builds it for a root field (its
    `build_resolve_info`), for what strawberry's Info reads. No executor runs here, so the
    executor's own helpers (is_awaitable, abort_signal, async_helpers) are left out."""

    field_name: str
    field_nodes: list[Any]
    return_type: Any
    parent_type: Any
    path: Path
    schema: Any
    fragments: dict[str, Any]
    root_value: Any
    operation: Any
    variable_values: dict[str, Any]  # the coerced values, as strawberry's executor gives them
    context: Any
    operation_extensions: Any


Resolver = Callable[..., Any]
InputBuilder = Callable[[Any, InputContext], Any]


@dataclass(frozen=True, slots=True)
class Prepared:
    plan: Plan
    info: Info[Any, Any]
    args: list[Any]
    kwargs: dict[str, Any]
    wants_info: bool


class PlanRunner:
    def __init__(self, schema: Any) -> None:
        self.schema = schema  # strawberry.Schema
        self._chains: dict[int, Resolver] = {}
        self._lists: dict[int, dict[str, tuple[str, InputBuilder]]] = {}

    def prepare(
        self,
        plan: Plan,
        variables: Mapping[str, Any] | None,
        context: Any,
        extensions: Mapping[str, Any] | None = None,
    ) -> Prepared | None:
        """Coerce and convert the arguments; None when strawberry must answer instead.

        Nothing has run yet at this point, so declining costs the client nothing.
        """
        schema = self.schema
        core = schema._schema
        coerced = _coerce_compiled(plan, variables or {})
        if coerced is None:
            checked = get_variable_values(
                core,
                plan.operation.variable_definitions or (),
                dict(variables or {}),
                hide_suggestions=schema.config.disable_field_suggestions,
            )
            if isinstance(checked, list):  # refused: strawberry words the errors
                return None
            coerced = checked
        field_def = plan.field_def
        try:
            raw_args = get_argument_values(field_def, plan.field_nodes[0], coerced)
        except GraphQLError:
            return None
        raw = _RawInfo(
            field_name=plan.field_nodes[0].name.value,
            field_nodes=list(plan.field_nodes),
            return_type=field_def.type,
            parent_type=core.mutation_type,
            path=Path(None, plan.response_key, "Mutation"),
            schema=core,
            fragments=plan.fragments,
            root_value=None,  # the gateway's view gives none
            operation=plan.operation,
            variable_values=coerced.coerced,
            context=context,
            operation_extensions=extensions,
        )
        field_ = _strawberry_field(plan)
        info: Info[Any, Any] = schema.config.info_class(_raw_info=raw, _field=field_)
        config = schema.config
        registry = schema.schema_converter.scalar_registry
        lists = self._input_lists(field_)
        try:
            built = {
                python_name: _build_list(raw_args.pop(name), name, build, info, config, registry)
                for name, (python_name, build) in lists.items()
                if name in raw_args
            }
            args, kwargs = get_arguments(
                field=field_,
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
        return Prepared(plan, info, args, kwargs, wants_info)

    async def execute(self, prepared: Prepared) -> bytes:
        """Run the resolver and serialize its answer; a bug becomes strawberry's masked error."""
        plan = prepared.plan
        try:
            call = self._chain(_strawberry_field(plan))
            info, args = prepared.info, prepared.args
            answer = call(None, info, args, prepared.wants_info, **prepared.kwargs)
            if hasattr(answer, "__await__"):
                answer = await answer
            data: Any = {plan.response_key: plan.serialize(answer)}
        except Exception as exc:  # a bug: processed and masked, as on strawberry's path
            path = prepared.info._raw_info.path.as_list()
            error = located_error(exc, list(plan.field_nodes), path)
            self.schema.process_errors([error])
            # As the schema's GatewayErrors does: bugs masked, every error with its code, the
            # logged traceback let go.
            released(error)
            error = anonymised(error) if is_unexpected(error) else coded(error)
            # Every root mutation field is non-null: its error nulls the whole answer.
            return _encode({"data": None, "errors": [error.formatted]})
        return _encode({"data": data})

    def warm(self, plan: Plan) -> None:
        """Build now what the first request of `plan` would build (its field's extension
        chain, its input list builders): a plan made at start-up answers its first request
        as fast as any later one."""
        field_ = _strawberry_field(plan)
        self._input_lists(field_)
        self._chain(field_)

    def _input_lists(self, field_: StrawberryField) -> dict[str, tuple[str, InputBuilder]]:
        lists = self._lists.get(id(field_))
        if lists is None:
            lists = self._lists[id(field_)] = _input_lists(field_, self.schema.config)
        return lists

    def _chain(self, field_: StrawberryField) -> Resolver:
        """The field's extensions around its resolver, chained as strawberry chains them."""
        chain = self._chains.get(id(field_))
        if chain is None:
            chain = self._chains[id(field_)] = _chain_of(field_)
        return chain


def _strawberry_field(plan: Plan) -> StrawberryField:
    # strawberry's back reference from the GraphQL field to its own definition
    return plan.field_def.extensions["strawberry-definition"]  # type: ignore[no-any-return]


def _input_lists(field_: StrawberryField, config: Any) -> dict[str, tuple[str, InputBuilder]]:
    """Arguments that are lists of input objects building themselves (`from_input`), by
    GraphQL name: (python name, builder). A bulk's 10,000 contacts are built here, without
    strawberry's per-item type dispatch (3 us a contact); everything else is left to it."""
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
        name = config.name_converter.from_argument(argument)
        lists[name] = (argument.python_name, partial(definition.from_input, cls))
    return lists


def _build_list(
    values: Any, name: str, build: InputBuilder, info: Any, config: Any, registry: Any
) -> Any:
    """What strawberry's convert_argument makes of a list of such inputs."""
    if values is None:
        return None
    return [
        None
        if value is None
        else build(
            value,
            InputContext(info=info, config=config, scalar_registry=registry, path=(name, index)),
        )
        for index, value in enumerate(values)
    ]


def _coerce_compiled(plan: Plan, inputs: Mapping[str, Any]) -> VariableValues | None:
    """graphql-core's VariableValues from the plan's compiled coercers; None at any doubt
    (a variable left out, a value they cannot take as it is)."""
    if plan.variables is None:
        return None
    sources: dict[str, Any] = {}
    coerced: dict[str, Any] = {}
    for name, source, coerce in plan.variables:
        given = inputs.get(name, Undefined)
        if given is Undefined:  # defaults and omissions: graphql-core's rules
            return None
        value = coerce(given)
        if value is Undefined:
            return None
        sources[name] = source._replace(value=given)  # graphql-core's VariableValueSource
        coerced[name] = value
    return VariableValues(sources, coerced)


def _chain_of(field_: StrawberryField) -> Resolver:
    """strawberry's from_resolver (schema_converter.py), with the chain built once."""
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
