"""The compiled path (gateway/schema/compiled) answers byte for byte what strawberry answers.

Two gateways over two identical sandboxes get the same requests in the same order: one with
`fast_path = false` (strawberry for everything, the reference), one with the fast path on. The
sandboxes are stateful (a contact is created, then updated), so the pair is fed one sequence
and compared request by request: status, content type and body. Every document is sent twice,
because a document gets its plan from its first error-free run; for the valid mutations the
second send must have been answered from the plan.

Documents and variables are drawn by hypothesis: valid mutations for the three providers,
with selections drawn from the schema itself (fragments, aliases, __typename, every type of
each union; a field added to the schema is drawn too) and random inputs (bad phones, phones of
every region, custom fields, tags, statuses); plus tests/gateway/test_fuzz.py's generators (any
operation of the schema, operations with a schema violation, any variables). Derandomized and
bounded: the same cases on every run, about 2,000 of them in well under a minute.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import graphql
import httpx
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.sandbox import Sandbox
from gateway.schema.compiled.view import FastPath
from providers.campaignlark.sandbox import CampaignLarkSimulator
from providers.heymarket.sandbox import HeymarketSimulator
from tests.gateway.test_fuzz import OPERATIONS, SCHEMA, VARIABLES


def _cases(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


class Pair:
    """The reference gateway and the fast one, lifespans open, on an event loop of their own
    (hypothesis is sync)."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.stack: list[Any] = []
        self.clients: list[httpx.AsyncClient] = []
        self.planned = 0  # requests the fast gateway answered from a plan
        self.cases = 0

    def __enter__(self) -> Pair:
        for fast in (False, True):
            # Rate limits off: they count wall-clock windows, which the two sandboxes would
            # see at slightly different times.
            sandbox = Sandbox(
                heymarket=HeymarketSimulator(rate_limit=10**9),
                campaignlark=CampaignLarkSimulator(rate_limit=10**9),
            )
            app = create_app(sandbox.config(GatewaySettings(fast_path=fast)), sandbox=sandbox)
            lifespan = app.router.lifespan_context(app)
            self.runner.run(lifespan.__aenter__())
            self.stack.append(lifespan)
            transport = httpx.ASGITransport(app=app)
            self.clients.append(httpx.AsyncClient(transport=transport, base_url="http://gw.test"))
            if fast:
                self._count(_fast_path(app))
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients:
            self.runner.run(client.aclose())
        for lifespan in self.stack:
            self.runner.run(lifespan.__aexit__(None, None, None))
        self.runner.close()

    def _count(self, fast: FastPath) -> None:
        execute = fast.runner.execute

        async def counted(prepared: Any) -> bytes:
            self.planned += 1
            return await execute(prepared)

        fast.runner.execute = counted  # type: ignore[method-assign]

    def agree(self, body: dict[str, Any]) -> bytes:
        """Send `body` to both; assert the answers are the same bytes; return them."""
        # json.dumps escapes lone surrogates (httpx's json= would fail to encode them)
        content = json.dumps(body).encode()
        headers = {"content-type": "application/json"}
        reference, fast = (
            self.runner.run(client.post("/graphql", content=content, headers=headers))
            for client in self.clients
        )
        assert fast.status_code == reference.status_code
        assert fast.headers.get("content-type") == reference.headers.get("content-type")
        assert fast.content == reference.content
        return reference.content

    def twice(self, body: dict[str, Any]) -> tuple[bytes, bool]:
        """Send `body` twice (the first may teach the fast side a plan); the first answer, and
        whether the second was answered from a plan."""
        self.cases += 1
        first = self.agree(body)
        before = self.planned
        self.agree(body)
        return first, self.planned == before + 1


def _fast_path(app: Any) -> FastPath:
    for route in app.routes:
        if getattr(route, "path", None) == "/graphql":
            endpoint = route.endpoint
            while not hasattr(endpoint, "graphql"):  # layers in front of the playground's
                endpoint = endpoint.app
            fast = endpoint.graphql._fast
            assert isinstance(fast, FastPath)
            return fast
    raise AssertionError("no /graphql route")


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with Pair() as live:
        yield live
    print(f"\ndifferential: {live.cases} cases, {live.planned} answered from a plan")
    assert live.planned >= 1_000  # the compiled path was exercised, not just declined


# -- inputs -----------------------------------------------------------------------------------


def _example_numbers() -> list[str]:
    """An example number of every region phonenumbers knows, in E.164 and as typed nationally."""
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number(region)
        if example is not None:
            numbers.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
            numbers.append(
                phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            )
    return numbers


PHONES = st.one_of(
    st.sampled_from(
        [
            "(415) 555-2671",
            "+1 415 555 2672",
            "415.555.2673",
            "1-415-555-2674",
            "4155550123",  # a VOIP line: Trackly refuses it
            "12",
            "nope",
            "",
            "+",
            "٤١٥٥٥٥٢٦٧١",
            "(415) 555-2671 x12",
            "+44 7911 123456",
            "07911 123456",
        ]
    ),
    st.sampled_from(_example_numbers()),
    st.from_regex(r"\+?[0-9 ().-]{3,16}", fullmatch=True),
)
EMAILS = st.sampled_from(
    ["ann@example.com", "Bob@Example.org", "not-an-email", "", "a@b", "a\ud800@example.com"]
)
# Lone surrogates too: refused as inputs, the same way on both paths.
TEXT = st.text(max_size=12) | st.sampled_from(["\ud800", "gold\udfff", "\U0001f600"])
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
CUSTOM_FIELDS = st.dictionaries(
    st.sampled_from(["plan", "tier", "visits", "vip", "score", "note", ""]) | st.text(max_size=8),
    JSON_LEAF | st.lists(JSON_LEAF, max_size=2) | st.dictionaries(st.text(max_size=3), JSON_LEAF),
    max_size=4,
)
# Values by argument or input field name; the others are drawn from their type (_value).
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "phone": PHONES,
    "listNumber": st.sampled_from(["+18005551234", "8005551234", "12", "+447911123456"]),
    "email": EMAILS,
    "customFields": CUSTOM_FIELDS,
    "tags": st.lists(st.sampled_from(["vip", "new", "VIP", "", "a b"]), max_size=3),
    "signupDate": st.sampled_from(["2024-01-31", "2025-03-15T14:30:00Z", "yesterday", ""]),
    "ipAddress": st.sampled_from(["203.0.113.7", "::1", "999.1.1.1", ""]),
    "signupUrl": st.sampled_from(["https://example.com/join", "not a url", ""]),
    "id": st.sampled_from(
        [
            "98765",
            "98766",
            "1",
            "64f1a2b3c4d5e6f7a8b90000",
            "2f1c8a4e-9b7d-4c3a-8e6f-1a2b3c4d5e6f",
            "not-an-id",
            "",
        ]
    ),
    "assigneeId": st.integers(-2, 5),
}


def _value(type_: graphql.GraphQLInputType, name: str = "") -> st.SearchStrategy[Any]:
    """A valid value of `type_` (graphql-core accepts it), drawn from the schema."""
    if isinstance(type_, graphql.GraphQLNonNull):
        return _value_of(type_.of_type, name)
    return st.none() | _value_of(type_, name)


def _value_of(type_: Any, name: str) -> st.SearchStrategy[Any]:
    if name in BY_NAME:
        return BY_NAME[name]
    if isinstance(type_, graphql.GraphQLList):
        return st.lists(_value(type_.of_type), max_size=3)
    if isinstance(type_, graphql.GraphQLEnumType):
        return st.sampled_from(sorted(type_.values))
    if isinstance(type_, graphql.GraphQLInputObjectType):
        required = {n: _value(f.type, n) for n, f in type_.fields.items() if _required(f)}
        optional = {n: _value(f.type, n) for n, f in type_.fields.items() if not _required(f)}
        return st.fixed_dictionaries(required, optional=optional)
    scalars: dict[str, st.SearchStrategy[Any]] = {
        "String": TEXT,
        "ID": st.text(max_size=8),
        "Int": st.integers(-(2**31), 2**31 - 1),
        "Float": st.floats(allow_nan=False, allow_infinity=False),
        "Boolean": st.booleans(),
        "CustomFields": CUSTOM_FIELDS,
    }
    return scalars[type_.name]


def _required(field: graphql.GraphQLInputField) -> bool:
    return graphql.is_required_input_field(field)


# -- documents --------------------------------------------------------------------------------

CORE = SCHEMA  # graphql-core's schema, built from the exported SDL
_MUTATION = CORE.mutation_type
assert _MUTATION is not None
MUTATION: graphql.GraphQLObjectType = _MUTATION
# A started import is a new job on each gateway, with its own id and timestamps: the two answers
# cannot be the same bytes. It is compared with those taken out, below.
APART = frozenset({"startContactImport"})
# Which import jobs exist, and how far each has got, depends on each gateway's background
# worker: the two answers to a listing cannot be the same bytes either.
_QUERY = CORE.query_type
assert _QUERY is not None
ROOT_FIELDS = sorted(
    (set(_QUERY.fields) | set(MUTATION.fields)) - APART - {"contactImport", "contactImports"}
)


class _Document:
    """One document being drawn: its fragments and a counter for unique names and aliases."""

    def __init__(self, draw: Callable[..., Any]) -> None:
        self.draw = draw
        self.fragments: list[str] = []
        self.names = itertools.count()

    def selection(self, type_: graphql.GraphQLOutputType, depth: int = 0) -> str:
        named = graphql.get_named_type(type_)
        if graphql.is_leaf_type(named):
            return ""
        parts: list[str] = []
        if isinstance(named, graphql.GraphQLObjectType):
            parts.append(self.fields(named, depth))
        else:
            assert isinstance(named, (graphql.GraphQLUnionType, graphql.GraphQLInterfaceType))
            possible = list(CORE.get_possible_types(named))
            interfaces = sorted(
                {i.name: i for t in possible for i in t.interfaces}.values(), key=lambda i: i.name
            )
            chosen = self.draw(
                st.lists(st.sampled_from(possible + interfaces), max_size=4, unique_by=str)
            )
            parts += [self.fragment(t, self.fields(t, depth)) for t in chosen]
            if not parts or self.draw(st.booleans()):
                parts.append(self.typename())
        return "{ " + " ".join(parts) + " }"

    def fields(
        self, type_: graphql.GraphQLObjectType | graphql.GraphQLInterfaceType, depth: int
    ) -> str:
        names = sorted(n for n, f in type_.fields.items() if not f.args)
        chosen = self.draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
        parts = []
        for name in chosen:
            sub = self.selection(type_.fields[name].type, depth + 1) if depth < 4 else None
            if sub is None and not graphql.is_leaf_type(
                graphql.get_named_type(type_.fields[name].type)
            ):
                continue  # too deep: left out
            parts.append(f"{self.alias()}{name} {sub or ''}".strip())
        if not parts or self.draw(st.booleans()):
            parts.append(self.typename())
        return " ".join(parts)

    def alias(self) -> str:
        return f"a{next(self.names)}: " if self.draw(st.booleans()) else ""

    def typename(self) -> str:
        return f"{self.alias()}__typename"

    def fragment(self, on: graphql.GraphQLNamedType, body: str) -> str:
        if self.draw(st.booleans()):
            return f"... on {on.name} {{ {body} }}"
        name = f"F{next(self.names)}"
        self.fragments.append(f"fragment {name} on {on.name} {{ {body} }}")
        return f"...{name}"


def _mutation(
    draw: Callable[..., Any], document: _Document, head: str, prefix: str = ""
) -> tuple[str, dict[str, Any]]:
    """One valid mutation operation (`head`: "mutation", "mutation Name") and its variables,
    each variable named with `prefix` so that several operations can share one document."""
    field_name = draw(st.sampled_from(sorted(set(MUTATION.fields) - APART)))
    field = MUTATION.fields[field_name]
    definitions, arguments, variables = [], [], {}
    for name, argument in field.args.items():
        value = draw(_value(argument.type, name))
        if draw(st.integers(0, 4)) == 0 and name == "provider":  # a literal now and then
            arguments.append(f"{name}: {value}")
            continue
        if not graphql.is_non_null_type(argument.type) and draw(st.booleans()):
            continue  # left out: the argument's default (and graphql-core's coercion)
        definitions.append(f"${prefix}{name}: {argument.type}")
        arguments.append(f"{name}: ${prefix}{name}")
        variables[prefix + name] = value
    selection = document.selection(field.type)
    if definitions:
        head += "(" + ", ".join(definitions) + ")"
    alias = document.alias()
    call = f"{alias}{field_name}({', '.join(arguments)})" if arguments else field_name
    return f"{head} {{ {call} {selection} }}", variables


@st.composite
def valid_mutations(draw: Callable[..., Any]) -> dict[str, Any]:
    """A body with a valid mutation of the schema and valid variables for it."""
    document = _Document(draw)
    head = draw(st.sampled_from(["mutation", "mutation Named", "mutation Other"]))
    operation, variables = _mutation(draw, document, head)
    query = " ".join([operation, *document.fragments])
    body: dict[str, Any] = {"query": query, "variables": variables}
    if " " in head and draw(st.booleans()):
        body["operationName"] = head.split()[1]
    return body


@st.composite
def several_operations(draw: Callable[..., Any]) -> dict[str, Any]:
    """A document of two or three named operations (valid mutations, and now and then a
    query) sharing fragments and one variables object; operationName naming one of them,
    none of them, or left out."""
    document = _Document(draw)
    names = [f"Op{i}" for i in range(draw(st.integers(2, 3)))]
    operations, variables = [], {}
    for name in names:
        if draw(st.integers(0, 3)) == 0:
            operations.append(f"query {name} {{ providers {{ provider }} }}")
            continue
        operation, own = _mutation(draw, document, f"mutation {name}", prefix=f"{name}_")
        operations.append(operation)
        variables.update(own)
    body: dict[str, Any] = {
        "query": " ".join([*draw(st.permutations(operations)), *document.fragments]),
        "variables": variables,
    }
    chosen = draw(st.sampled_from([None, *names, "Missing"]))
    if chosen is not None:
        body["operationName"] = chosen
    return body


# -- the tests --------------------------------------------------------------------------------


@_cases(1_000)
@given(body=valid_mutations())
def test_valid_mutations_agree_and_run_from_their_plan(pair: Pair, body: dict[str, Any]) -> None:
    first, planned = pair.twice(body)
    assert "errors" not in json.loads(first), first[:300]  # valid: no GraphQL error
    assert planned, "the second send of a valid mutation was not answered from its plan"


@_cases(500)
@given(case=VARIABLES)
def test_any_variables_agree(pair: Pair, case: tuple[str, Any]) -> None:
    query, variables = case
    pair.twice({"query": query, "variables": variables})


@_cases(300)
@given(query=from_schema(SCHEMA, fields=ROOT_FIELDS, custom_scalars=OPERATIONS))
def test_any_operation_agrees(pair: Pair, query: str) -> None:
    pair.twice({"query": query})


@_cases(200)
@given(
    query=mutations(
        SCHEMA,
        fields=sorted(set(MUTATION.fields) - APART),
        custom_scalars=OPERATIONS,
        mode=Mode.NEGATIVE,
    )
)
def test_operations_with_a_schema_violation_agree(pair: Pair, query: str) -> None:
    pair.twice({"query": query})


@_cases(300)
@given(body=several_operations())
def test_documents_of_several_operations_agree_on_which_runs(
    pair: Pair, body: dict[str, Any]
) -> None:
    first, planned = pair.twice(body)
    answer = json.loads(first)
    name = body.get("operationName")
    if name is None or name == "Missing":  # the spec: a request error, never the first one
        [error] = answer["errors"]
        assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE", answer
    elif f"mutation {name}" in body["query"]:
        assert "errors" not in answer, first[:300]
        assert planned, "the second send of a named valid mutation was not answered from its plan"
    else:
        assert answer == {"data": {"providers": EVERY_PROVIDER}}


EVERY_PROVIDER = [{"provider": "TRACKLY"}, {"provider": "HEYMARKET"}, {"provider": "CAMPAIGNLARK"}]


START_IMPORT = """
mutation Start($provider: Provider!, $contacts: [ContactInput!]) {
  startContactImport(provider: $provider, contacts: $contacts) {
    __typename
    ... on ContactImportStarted {
      contactImport { id provider status total processed succeeded failed contactsCreated
                      createdAt startedAt finishedAt warnings errors { index } }
    }
    ... on Error { code message field retryable origin }
  }
}
"""


@pytest.mark.parametrize(
    "variables",
    [
        {"provider": "TRACKLY", "contacts": [{"phone": "+14155552671"}, {"phone": "12"}]},
        {"provider": "HEYMARKET", "contacts": []},
        {"provider": "CAMPAIGNLARK", "contacts": None},
    ],
    ids=["started", "empty", "neither"],
)
def test_a_started_import_agrees_but_for_its_id_and_timestamps(
    pair: Pair, variables: dict[str, Any]
) -> None:
    body = {"query": START_IMPORT, "variables": variables}
    for _ in range(2):  # the second send is answered from the plan
        reference, fast = (
            pair.runner.run(client.post("/graphql", json=body)) for client in pair.clients
        )
        assert fast.status_code == reference.status_code == 200
        assert _without_job_identity(fast.json()) == _without_job_identity(reference.json())


def _without_job_identity(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {
            key: "*" if key in ("id", "createdAt") else _without_job_identity(value)
            for key, value in answer.items()
        }
    if isinstance(answer, list):
        return [_without_job_identity(item) for item in answer]
    return answer
