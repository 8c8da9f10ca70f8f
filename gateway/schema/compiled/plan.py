"""Plans for the documents clients send again and again.

A client sends the same few mutation documents all day. strawberry's view and `Schema.execute`
handle each one generically: per request they parse the HTTP body again, build an execution
context and eight extension objects, run every extension's hooks, look the document up in the
parser and validation caches, let graphql-core coerce every variable and complete the answer
field by field. For one upsert that is about 280 us of CPU, more than everything the gateway
itself does.

A plan is made once per document, from a document strawberry has just parsed, validated and
executed without error (so it has passed every rule and limit, exactly as configured). It keeps
what graphql-core's `Executor.build` (public) works out for that request: the operation, the
fragments and each variable's signature; plus a coercer compiled for each variable's type
(coerce.py) and a serializer for the root field's answer (serialize.py). Only plain documents
get a plan: a mutation with a single root field and no directives; anything else keeps the
generic path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    Visitor,
    parse,
    specified_rules,
    type_from_ast,
    validate,
    visit,
)
from strawberry.extensions import SchemaExtension

from gateway.schema.compiled.coerce import Coercer, NotCompiled, compile_coercer
from gateway.schema.compiled.serialize import (
    NotSerializable,
    Serializer,
    collect,
    compile_serializer,
    unions_of,
)
from gateway.schema.validation_cache import charge

MAX_PLANS = 512
# What the plans' documents may take, estimated as the parse cache estimates it
# (gateway.schema.validation_cache): a client's few documents are a few KB each.
MAX_PLAN_BYTES = 8 * 1024 * 1024


class NotPlannable(Exception):
    """The document needs the generic path (directives, several root fields, ...)."""


@dataclass(slots=True)
class Plan:
    operation_name: str | None
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]  # graphql-core's, from Executor.build
    response_key: str
    field_def: GraphQLField  # the one root field, with strawberry's resolver and definition
    field_nodes: tuple[FieldNode, ...]
    # (name, graphql-core's VariableValueSource for it, compiled coercer) per variable;
    # None: graphql-core coerces them every time
    variables: tuple[tuple[str, Any, Coercer], ...] | None
    serialize: Serializer  # the answer as graphql-core completes it (serialize.py)


@dataclass(slots=True)
class DocumentPlans:
    sole: Plan | None = None  # the plan when the document has one operation
    by_name: dict[str, Plan] = field(default_factory=dict)


class PlanBook:
    """The plans of one schema, by query text; bounded by count and by the memory their
    documents take, oldest dropped first."""

    def __init__(self, maxsize: int = MAX_PLANS, max_bytes: int = MAX_PLAN_BYTES) -> None:
        # The strawberry.Schema, set once built: the book's recorder is one of its extensions.
        self.schema: Any = None
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.bytes = 0
        self._documents: dict[str, DocumentPlans] = {}
        self._middleware: bool | None = None

    def __len__(self) -> int:
        return len(self._documents)

    def find(self, query: str, operation_name: str | None) -> Plan | None:
        plans = self._documents.get(query)
        if plans is None:
            return None
        return plans.sole if operation_name is None else plans.by_name.get(operation_name)

    def learn(
        self,
        query: str,
        operation_name: str | None,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        """Plan `document` from a request strawberry executed without error (`variables`)."""
        size = charge(len(query))
        if self._has_middleware() or size > self.max_bytes // 8:
            return  # a huge document (a long literal, say) is not worth keeping for a plan
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        try:
            plan = compile_plan(self.schema, document, operation_name, variables)
        except NotPlannable:
            return
        plans = self._documents.get(query)
        if plans is None:
            while self._documents and (
                len(self._documents) >= self.maxsize or self.bytes + size > self.max_bytes
            ):
                self.bytes -= charge(len(next(iter(self._documents))))
                del self._documents[next(iter(self._documents))]
            plans = self._documents[query] = DocumentPlans()
            self.bytes += size
        if len(operations) == 1:
            plans.sole = plan
        if plan.operation_name is not None:
            plans.by_name[plan.operation_name] = plan

    def plans_of(self, query: str) -> list[Plan]:
        """The plans a document has (one per operation planned)."""
        found = self._documents.get(query)
        if found is None:
            return []
        plans = list(found.by_name.values())
        if found.sole is not None and found.sole not in plans:
            plans.append(found.sole)
        return plans

    def recorder(self) -> SchemaExtension:
        return PlanRecorder(self)

    def plan_ahead(self, query: str, rules: Sequence[type[ASTValidationRule]]) -> str | None:
        """Plan every mutation of a document no request has sent yet (a persisted operations
        manifest's, at start-up); what is wrong with it, if it cannot run at all."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return f"does not parse: {exc.message}"
        errors = validate(self.schema._schema, document, [*specified_rules, *rules])
        if errors:
            return f"is not valid against the schema: {errors[0].message}"
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        for operation in operations:
            if operation.operation is not OperationType.MUTATION:
                continue  # only mutations have plans; queries are cached by strawberry
            name = operation.name.value if operation.name else None
            # Placeholder variables: graphql-core's executor set-up needs values that coerce;
            # the plan keeps only their types, never the values.
            variables = {
                d.variable.name.value: _placeholder(type_from_ast(self.schema._schema, d.type))
                for d in operation.variable_definitions or ()
            }
            self.learn(query, name if len(operations) > 1 else None, document, variables)
        return None

    def _has_middleware(self) -> bool:
        """Whether an extension resolves fields (graphql-core middleware): plans run none."""
        if self._middleware is None:
            self._middleware = any(
                type(extension).resolve is not SchemaExtension.resolve
                for extension in self.schema.get_extensions()
            )
        return self._middleware


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
        self.book.learn(
            context.query, context.operation_name, context.graphql_document, context.variables
        )


def compile_plan(
    schema: Any,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> Plan:
    """graphql-core's own executor set-up for `document`, kept; the variables' coercers."""
    # The executor class strawberry runs (its subclass of graphql-core's), built as strawberry
    # builds it, with the variables of a request that has just gone through without error.
    built = schema.execution_context_class.build(
        schema._schema,
        document,
        raw_variable_values=dict(variables or {}),
        operation_name=operation_name,
        hide_suggestions=schema.config.disable_field_suggestions,
    )
    if isinstance(built, list):
        raise NotPlannable("graphql-core refused it")
    operation: OperationDefinitionNode = built.operation
    if operation.operation is not OperationType.MUTATION or _has_directives(document):
        raise NotPlannable("only plain mutations")
    core: GraphQLSchema = schema._schema
    root = core.mutation_type
    assert root is not None
    fragments = built.fragment_definitions
    grouped = collect(root, [operation.selection_set], fragments, unions_of(core))
    if len(grouped) != 1:
        raise NotPlannable("one root field only")
    ((key, nodes),) = grouped.items()
    field_def = root.fields[nodes[0].name.value]
    try:
        serialize = compile_serializer(core, field_def.type, nodes, fragments)
    except NotSerializable as exc:
        raise NotPlannable(str(exc)) from exc
    return Plan(
        operation_name=operation.name.value if operation.name else None,
        operation=operation,
        fragments=fragments,
        response_key=key,
        field_def=field_def,
        field_nodes=tuple(nodes),
        variables=_variables(built.variable_values.sources),
        serialize=serialize,
    )


def _variables(sources: Mapping[str, Any]) -> tuple[tuple[str, Any, Coercer], ...] | None:
    compiled = []
    for name, source in sources.items():
        try:
            compiled.append((name, source, compile_coercer(source.signature.type)))
        except NotCompiled:
            return None
    return tuple(compiled)


class _DirectiveFinder(Visitor):
    found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.found = True


def _has_directives(document: DocumentNode) -> bool:
    finder = _DirectiveFinder()
    visit(document, finder)
    return finder.found


def _placeholder(type_: Any) -> Any:
    """The smallest value a variable of `type_` accepts (required input fields filled in)."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            return []
        if isinstance(type_, GraphQLEnumType):
            return next(iter(type_.values))
        if isinstance(type_, GraphQLInputObjectType):
            return {
                name: _placeholder(field.type)
                for name, field in type_.fields.items()
                if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
            }
        if isinstance(type_, GraphQLScalarType):
            return {"Int": 0, "Float": 0.0, "Boolean": False}.get(type_.name, "")
    return None
