"""Compiled plans for the documents clients send again and again.

A client sends the same few mutation documents all day. strawberry and graphql-core parse
(cached), validate (cached) and then execute each one generically: per request they build an
execution context, run every extension's hooks, resolve each field of the answer through its
own resolver call. For one upsert that is ~0.4 ms of CPU, the biggest single cost after the
provider's own round trip.

A plan is made once per document, from a document strawberry has just parsed, validated and
executed without error (so it has passed every rule and limit, exactly as configured). It holds
what execution needs: the mutation field, its argument nodes, and a serializer compiled from the
selection set for every concrete type the answer can have. Only plain documents get a plan: a
single mutation field, no directives; anything else keeps the generic path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
    visit,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.language import DirectiveNode, Visitor
from strawberry.extensions import SchemaExtension
from strawberry.types.field import StrawberryField

from gateway.schema.compiled.coerce import Coercer, NotCompiled, compile_coercer

Serializer = Callable[[Any], Any]
MAX_PLANS = 512


class NotPlannable(Exception):
    """The document needs the generic executor (directives, several root fields, ...)."""


class AnswerError(Exception):
    """The resolver's answer does not fit the schema (a bug): the generic path would mask it."""


@dataclass(slots=True)
class Plan:
    operation_name: str | None
    response_key: str
    field_name: str
    field_def: GraphQLField
    field_node: FieldNode
    field_nodes: tuple[FieldNode, ...]
    strawberry_field: StrawberryField
    variable_definitions: tuple[Any, ...]
    # (name, graphql-core's signature, compiled coercer) per variable; None: graphql-core's
    variables: tuple[tuple[str, Any, Coercer], ...] | None
    serialize: Serializer


@dataclass(slots=True)
class DocumentPlans:
    sole: Plan | None = None  # the plan when the document has one operation
    by_name: dict[str, Plan] = field(default_factory=dict)


class PlanBook:
    """The plans of one schema, by query text; bounded, oldest dropped first."""

    def __init__(self, maxsize: int = MAX_PLANS) -> None:
        # The strawberry.Schema, set once built: the book's recorder is one of its extensions.
        self.schema: Any = None
        self.maxsize = maxsize
        self._documents: dict[str, DocumentPlans] = {}

    def __len__(self) -> int:
        return len(self._documents)

    def find(self, query: str, operation_name: str | None) -> Plan | None:
        plans = self._documents.get(query)
        if plans is None:
            return None
        return plans.sole if operation_name is None else plans.by_name.get(operation_name)

    def learn(self, query: str, operation_name: str | None, document: Any) -> None:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            chosen = operations if len(operations) == 1 else []
        else:
            chosen = [o for o in operations if o.name and o.name.value == operation_name]
        if len(chosen) != 1:
            return
        try:
            plan = compile_plan(self.schema, document, chosen[0])
        except NotPlannable:
            return
        plans = self._documents.get(query)
        if plans is None:
            if len(self._documents) >= self.maxsize:
                del self._documents[next(iter(self._documents))]
            plans = self._documents[query] = DocumentPlans()
        if len(operations) == 1:
            plans.sole = plan
        if plan.operation_name is not None:
            plans.by_name[plan.operation_name] = plan

    def recorder(self) -> SchemaExtension:
        return PlanRecorder(self)


class PlanRecorder(SchemaExtension):
    """Learns a plan from each document strawberry has executed without an error."""

    def __init__(self, book: PlanBook) -> None:
        super().__init__()
        self.book = book

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context
        result = context.result
        if context.graphql_document is None or getattr(result, "errors", None):
            return
        if context.query is None or self.book.find(context.query, context.operation_name):
            return
        self.book.learn(context.query, context.operation_name, context.graphql_document)


def compile_plan(schema: Any, document: Any, operation: OperationDefinitionNode) -> Plan:
    if operation.operation is not OperationType.MUTATION or _has_directives(document):
        raise NotPlannable("only plain mutations")
    core: GraphQLSchema = schema._schema
    root = core.mutation_type
    assert root is not None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    unions = _unions_of(core)
    grouped = _collect(root, [operation.selection_set], fragments, unions)
    if len(grouped) != 1:
        raise NotPlannable("one root field only")
    ((key, nodes),) = grouped.items()
    name = nodes[0].name.value
    field_def = root.fields.get(name)
    strawberry_field = _strawberry_field(schema, name)
    if field_def is None or strawberry_field is None:
        raise NotPlannable(f"{name} is not one of the schema's mutations")
    compiler = _Compiler(core, fragments, unions)
    return Plan(
        operation_name=operation.name.value if operation.name else None,
        response_key=key,
        field_name=name,
        field_def=field_def,
        field_node=nodes[0],
        field_nodes=tuple(nodes),
        strawberry_field=strawberry_field,
        variable_definitions=tuple(operation.variable_definitions or ()),
        variables=_variables(core, operation),
        serialize=compiler.compile(field_def.type, nodes),
    )


def _variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> tuple[tuple[str, Any, Coercer], ...] | None:
    compiled = []
    for definition in operation.variable_definitions or ():
        signature = get_variable_signature(schema, definition)
        if isinstance(signature, GraphQLError):
            return None
        try:
            compiled.append((signature.name, signature, compile_coercer(signature.type)))
        except NotCompiled:
            return None
    return tuple(compiled)


def _strawberry_field(schema: Any, name: str) -> StrawberryField | None:
    definition = schema.get_type_by_name("Mutation")
    for candidate in getattr(definition, "fields", ()):
        if schema.config.name_converter.get_graphql_name(candidate) == name:
            return candidate  # type: ignore[no-any-return]
    return None


class _DirectiveFinder(Visitor):
    found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.found = True


def _has_directives(document: Any) -> bool:
    finder = _DirectiveFinder()
    visit(document, finder)
    return finder.found


def _collect(
    runtime: GraphQLObjectType,
    selection_sets: list[SelectionSetNode],
    fragments: dict[str, FragmentDefinitionNode],
    unions: dict[str, set[str]],
) -> dict[str, list[FieldNode]]:
    """graphql-core's field collection, for documents without directives (checked above)."""
    grouped: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or _applies(condition.name.value, runtime, unions):
                    walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if _applies(fragment.type_condition.name.value, runtime, unions):
                    walk(fragment.selection_set)

    for selection_set in selection_sets:
        walk(selection_set)
    return grouped


def _applies(condition: str, runtime: GraphQLObjectType, unions: dict[str, set[str]]) -> bool:
    if condition == runtime.name:
        return True
    return any(interface.name == condition for interface in runtime.interfaces) or (
        condition in unions.get(runtime.name, ())
    )


def _unions_of(schema: GraphQLSchema) -> dict[str, set[str]]:
    """Object type name -> the unions it belongs to."""
    unions: dict[str, set[str]] = {}
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLUnionType):
            for member in type_.types:
                unions.setdefault(member.name, set()).add(type_.name)
    return unions


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        unions: dict[str, set[str]],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.unions = unions

    def compile(self, type_: GraphQLOutputType, nodes: list[FieldNode]) -> Serializer:
        if isinstance(type_, GraphQLNonNull):
            inner = self.compile(type_.of_type, nodes)

            def non_null(value: Any) -> Any:
                if value is None:
                    raise AnswerError("null for a non-null field")
                return inner(value)

            return non_null
        if isinstance(type_, GraphQLList):
            item = self.compile(type_.of_type, nodes)
            return lambda value: None if value is None else [item(v) for v in value]
        if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
            return _leaf(type_)
        if isinstance(type_, GraphQLObjectType):
            return self._object(type_, nodes)
        assert is_abstract_type(type_)
        return self._abstract(type_, nodes)

    def _object(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> Serializer:
        selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        fields: list[tuple[str, str | None, Serializer | None]] = []
        collected = _collect(type_, selection_sets, self.fragments, self.unions)
        for key, subnodes in collected.items():
            name = subnodes[0].name.value
            if name == "__typename":
                fields.append((key, None, None))
                continue
            field_def = type_.fields[name]
            if any(n.arguments for n in subnodes) or field_def.args:
                raise NotPlannable("fields with arguments need their resolver")
            attribute = _python_name(field_def, name)
            fields.append((key, attribute, self.compile(field_def.type, subnodes)))
        type_name = type_.name

        def serialize(value: Any) -> Any:
            if value is None:
                return None
            return {
                key: type_name if attribute is None else serializer(getattr(value, attribute))  # type: ignore[misc]
                for key, attribute, serializer in fields
            }

        return serialize

    def _abstract(self, type_: GraphQLAbstractType, nodes: list[FieldNode]) -> Serializer:
        by_class: dict[type, Serializer] = {}
        possible = {t.name: t for t in self.schema.get_possible_types(type_)}

        def serialize(value: Any) -> Any:
            if value is None:
                return None
            serializer = by_class.get(type(value))
            if serializer is None:
                definition = getattr(type(value), "__strawberry_definition__", None)
                runtime = possible.get(getattr(definition, "name", ""))
                if runtime is None:
                    raise AnswerError(f"{type(value).__name__} is not a {type_.name}")
                serializer = by_class[type(value)] = self._object(runtime, nodes)
            return serializer(value)

        return serialize


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Serializer:
    serialize = type_.serialize

    def leaf(value: Any) -> Any:
        if value is None:
            return None
        serialized = serialize(value)
        if serialized is None:
            raise AnswerError(f"{type_.name} cannot represent {value!r}")
        return serialized

    return leaf


def _python_name(field_def: GraphQLField, graphql_name: str) -> str:
    """The attribute strawberry reads for a field without a resolver of its own."""
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if definition is None:
        raise NotPlannable(f"{graphql_name} is not a strawberry field")
    if getattr(definition, "base_resolver", None) is not None:
        raise NotPlannable(f"{graphql_name} has a resolver")
    return str(definition.python_name)
