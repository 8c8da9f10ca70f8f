"""What one document asks of the gateway, measured in one pass, before validation.

Every limit (depth, fields, aliases, complexity, and the nesting the validators and the
executor recurse on) comes from one walk of the document in which each fragment is measured
once and remembered: a spread adds its fragment's remembered measure, so `...F ...F` counts F's
fields twice, as executing it would, without walking F twice. The cost is linear in the size of
the document, whatever its fragments multiply to (22 levels of `...F1 ...F1` measure 4 million
fields in a few microseconds instead of walking them). The walk keeps its own stack, so no
document can exhaust Python's: a fragment chain of any length, or a cycle, is refused with a
typed error.

How each figure is counted:
- depth: fields nested in an operation, as strawberry's QueryDepthLimiter counted it (a field
  with a selection set is 1 + its deepest child; fragments are transparent; introspection
  fields count 0, graphql-core's MaxIntrospectionDepthRule bounds them);
- fields and aliases: selections as executed, every spread expanded; for the whole document;
- complexity: the work an operation can cause: 1 per field as executed, a list field's
  selection counted LIST_SIZE times, and MUTATION_COST more for each mutation field, which
  calls a provider; introspection fields count 1 each, their selections nothing;
- nesting: selection sets inside each other (fields, inline fragments and spreads alike): what
  graphql-core's rules and executor recurse on, refused past MAX_NESTING.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from gateway.schema.codes import Code

LIST_SIZE = 10  # the length a list field is assumed to have when weighing complexity
MUTATION_COST = 10  # a mutation field's weight on top of 1: it calls a provider
MAX_NESTING = 64  # legitimate documents nest under 20; graphql-core recurses on each level
CEILING = 1 << 62  # counts saturate here: fragments can multiply them past any use
_INTROSPECTION = frozenset(("__schema", "__type"))


class Measure(NamedTuple):
    depth: int = 0
    fields: int = 0
    aliases: int = 0
    complexity: int = 0
    nesting: int = 0

    def plus(self, other: Measure) -> Measure:
        """Siblings: depths and nestings take the larger, counts add up."""
        return Measure(
            max(self.depth, other.depth),
            min(CEILING, self.fields + other.fields),
            min(CEILING, self.aliases + other.aliases),
            min(CEILING, self.complexity + other.complexity),
            max(self.nesting, other.nesting),
        )


ZERO = Measure()


@dataclass(frozen=True, slots=True)
class Budget:
    max_depth: int
    max_fields: int
    max_aliases: int
    max_complexity: int


class CycleFound(Exception):
    def __init__(self, path: Sequence[str]) -> None:
        super().__init__(path)
        self.path = list(path)


def judge(document: DocumentNode, schema: GraphQLSchema, budget: Budget) -> list[GraphQLError]:
    """The limits `document` breaks, each as a typed GraphQL error; [] when it keeps them."""
    meter = Meter(document, schema)
    try:
        fragments = meter.measure_fragments()
    except CycleFound as cycle:
        name, via = cycle.path[0], cycle.path[1:]
        detail = f" via {', '.join(repr(n) for n in via)}" if via else ""
        return [_error(f"Cannot spread fragment '{name}' within itself{detail}.", Code.VALIDATION)]
    operations = [(operation, meter.measure_operation(operation)) for operation in meter.operations]
    # Fragments no operation spreads are refused by validation; counted here all the same,
    # so what validation walks is bounded too.
    total = ZERO
    for _operation, measure in operations:
        total = total.plus(measure)
    for name in meter.unused(operations):
        total = total.plus(fragments[name])
    errors: list[GraphQLError] = []
    if total.nesting > MAX_NESTING:
        errors.append(
            _error(
                f"Selections are nested {_shown(total.nesting)} deep through fragments. "
                f"Allowed: {MAX_NESTING}",
                Code.NESTING_TOO_DEEP,
            )
        )
        return errors  # the other figures of such a document mean little
    for operation, measure in operations:
        name = operation.name.value if operation.name else "anonymous"
        if measure.depth > budget.max_depth:
            errors.append(
                _error(
                    f"'{name}' exceeds maximum operation depth of {budget.max_depth}",
                    Code.QUERY_TOO_DEEP,
                )
            )
        if measure.complexity > budget.max_complexity:
            errors.append(
                _error(
                    f"'{name}' has a complexity of {_shown(measure.complexity)}. "
                    f"Allowed: {budget.max_complexity}",
                    Code.QUERY_TOO_COMPLEX,
                )
            )
    if total.fields > budget.max_fields:
        errors.append(
            _error(
                f"{_shown(total.fields)} fields found. Allowed: {budget.max_fields}",
                Code.TOO_MANY_FIELDS,
            )
        )
    if total.aliases > budget.max_aliases:
        errors.append(
            _error(
                f"{_shown(total.aliases)} aliases found. Allowed: {budget.max_aliases}",
                Code.TOO_MANY_ALIASES,
            )
        )
    return errors


class Meter:
    """Measures of one document's fragments (each once) and operations."""

    def __init__(self, document: DocumentNode, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.operations: list[OperationDefinitionNode] = []
        self.definitions: dict[str, FragmentDefinitionNode] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
            elif isinstance(definition, FragmentDefinitionNode):
                # A second definition of a name is refused by validation; the first is measured.
                self.definitions.setdefault(definition.name.value, definition)
        self.measures: dict[str, Measure] = {}

    def measure_fragments(self) -> dict[str, Measure]:
        """Every fragment's measure, each computed once its spreads' are known."""
        for name in self._dependency_order():
            fragment = self.definitions[name]
            parent = self.schema.get_type(fragment.type_condition.name.value)
            self.measures[name] = self._measure(fragment.selection_set, parent)
        return self.measures

    def measure_operation(self, operation: OperationDefinitionNode) -> Measure:
        return self._measure(
            operation.selection_set, self.schema.get_root_type(operation.operation)
        )

    def unused(self, operations: list[tuple[OperationDefinitionNode, Measure]]) -> list[str]:
        used: set[str] = set()
        pending = [name for operation, _ in operations for name in _spreads(operation)]
        while pending:
            name = pending.pop()
            if name in used or name not in self.definitions:
                continue
            used.add(name)
            pending.extend(_spreads(self.definitions[name]))
        return [name for name in self.definitions if name not in used]

    def _dependency_order(self) -> list[str]:
        """Fragment names, each after every fragment it spreads; CycleFound on a cycle."""
        order: list[str] = []
        done: set[str] = set()
        for root in self.definitions:
            if root in done:
                continue
            path = [root]
            on_path = {root}
            stack: list[Iterator[str]] = [iter(_spreads(self.definitions[root]))]
            while stack:
                for name in stack[-1]:
                    if name not in self.definitions or name in done:
                        continue  # unknown: validation says so
                    if name in on_path:
                        raise CycleFound(path[path.index(name) :])
                    path.append(name)
                    on_path.add(name)
                    stack.append(iter(_spreads(self.definitions[name])))
                    break
                else:
                    stack.pop()
                    finished = path.pop()
                    on_path.discard(finished)
                    done.add(finished)
                    order.append(finished)
        return order

    def _measure(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Measure:
        """The measure of one selection set, walked with a stack of its own: the spreads' come
        from self.measures, so each fragment is walked once, wherever it is spread."""
        mutation = self.schema.mutation_type
        root = _Frame(selection_set.selections, parent, None)
        stack = [root]
        while True:
            frame = stack[-1]
            if frame.index < len(frame.selections):
                selection = frame.selections[frame.index]
                frame.index += 1
                child = self._visit(selection, frame, mutation)
                if child is not None:
                    stack.append(child)
                continue
            stack.pop()
            if not stack:
                return frame.total
            stack[-1].total = stack[-1].total.plus(frame.finish())

    def _visit(
        self, selection: SelectionNode, frame: _Frame, mutation: GraphQLNamedType | None
    ) -> _Frame | None:
        """Add a leaf or a spread to `frame`; the frame for a nested selection set."""
        if isinstance(selection, FragmentSpreadNode):
            measure = self.measures.get(selection.name.value, ZERO)
            frame.total = frame.total.plus(measure._replace(nesting=measure.nesting + 1))
            return None
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            parent = self.schema.get_type(condition.name.value) if condition else frame.parent
            return _Frame(selection.selection_set.selections, parent, _Inline())
        assert isinstance(selection, FieldNode)
        name = selection.name.value
        introspection = name in _INTROSPECTION
        fields = getattr(frame.parent, "fields", None)
        definition = fields.get(name) if isinstance(fields, dict) else None
        weight = 1 + (MUTATION_COST if frame.parent is mutation and mutation is not None else 0)
        alias = 1 if selection.alias else 0
        if selection.selection_set is None:
            frame.total = frame.total.plus(Measure(0, 1, alias, weight, 0))
            return None
        field_type = definition.type if definition is not None else None
        many = field_type is not None and is_list_type(get_nullable_type(field_type))
        parent = get_named_type(field_type) if field_type is not None else None
        return _Frame(
            selection.selection_set.selections,
            parent,
            _Field(alias, weight, LIST_SIZE if many else 1, introspection),
        )


@dataclass(slots=True)
class _Field:
    alias: int
    weight: int
    multiplier: int
    introspection: bool


class _Inline:
    pass


@dataclass(slots=True)
class _Frame:
    selections: Sequence[SelectionNode]
    parent: GraphQLNamedType | None
    owner: _Field | _Inline | None  # what the selection set belongs to (None: the definition)
    index: int = 0
    total: Measure = ZERO

    def finish(self) -> Measure:
        """This selection set's measure as its owner adds it to the enclosing one."""
        inner, owner = self.total, self.owner
        if isinstance(owner, _Inline):
            return Measure(
                inner.depth, inner.fields, inner.aliases, inner.complexity, inner.nesting + 1
            )
        assert owner is not None
        if owner.introspection:  # bounded by MaxIntrospectionDepthRule and the field budget
            return Measure(0, 1 + inner.fields, owner.alias + inner.aliases, 1, inner.nesting + 1)
        return Measure(
            1 + inner.depth,
            min(CEILING, 1 + inner.fields),
            min(CEILING, owner.alias + inner.aliases),
            min(CEILING, owner.weight + inner.complexity * owner.multiplier),
            inner.nesting + 1,
        )


def _spreads(definition: OperationDefinitionNode | FragmentDefinitionNode) -> list[str]:
    """The fragment names spread in a definition, in order (its own nesting walked with a list)."""
    names: list[str] = []
    pending: list[SelectionSetNode] = [definition.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)
    return names


def _shown(count: int) -> str:
    return f"more than {CEILING:,}" if count >= CEILING else str(count)


def _error(message: str, code: Code) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})
