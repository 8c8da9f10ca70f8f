"""No 500 on any input: property-based fuzzing through the real ASGI app and the sandbox.

Operations come from hypothesis-graphql (valid ones, and ones with one schema violation each),
variables from JSON strategies, raw bodies from bytes and near-JSON. A crash is an HTTP 5xx, a
non-JSON error body, a masked "Unexpected error." (an exception escaped a resolver), or a
transport-level error without its extensions.code.
Derandomized and bounded, so the suite stays fast and the same on every run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, nodes

from gateway.app import create_app
from gateway.playground.page import NOT_BUILT
from gateway.sandbox import Sandbox
from gateway.schema import export_sdl
from tests.support import BULK, UPDATE, UPSERT

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class LiveGateway:
    """The sandbox gateway, lifespan open, on an event loop of its own (hypothesis is sync)."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.tried = 0

    def __enter__(self) -> LiveGateway:
        sandbox = Sandbox()
        self.app = create_app(sandbox.config(), sandbox=sandbox)
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.runner.run(self.lifespan.__aenter__())
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://gateway.test"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.run(self.http.aclose())
        self.runner.run(self.lifespan.__aexit__(None, None, None))
        self.runner.close()

    def send(self, method: str, **kwargs: Any) -> None:
        """Send one case; a crash fails the example, so hypothesis shrinks it to the smallest."""
        response = self.runner.run(self.http.request(method, "/graphql", **kwargs))
        self.tried += 1
        problem = crash_in(response)
        assert problem is None, f"{problem}: {kwargs!r:.300}"


def crash_in(response: httpx.Response) -> str | None:
    if response.status_code == 503 and NOT_BUILT in response.text:
        return None  # the playground's page before `make playground`: a state, not a crash
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    if "text/html" in response.headers.get("content-type", ""):
        return None  # GraphiQL's page
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"HTTP {response.status_code} with a body that is not JSON"
    answers = body if isinstance(body, list) else [body]
    for answer in answers:
        for error in answer.get("errors") or []:
            if error.get("message") == "Unexpected error.":
                return "masked exception"
            if not isinstance((error.get("extensions") or {}).get("code"), str):
                return f"an error without extensions.code: {error.get('message')!r:.100}"
    return None


@pytest.fixture(scope="module")
def gateway() -> Iterator[LiveGateway]:
    with LiveGateway() as live:
        yield live
    print(f"\nfuzz: {live.tried} cases tried, no crash")


SCHEMA = graphql.build_schema(export_sdl())
SCALAR = st.one_of(
    st.text(max_size=40).map(nodes.String),
    st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
    st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    st.booleans().map(nodes.Boolean),
)
FIELD_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
CUSTOM_FIELDS = st.lists(
    st.builds(
        lambda name, value: graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value),
        FIELD_NAMES,
        SCALAR,
    ),
    max_size=4,
    unique_by=lambda f: f.name.value,
).map(nodes.Object)
OPERATIONS = {"CustomFields": CUSTOM_FIELDS}


@FUZZ
@given(query=from_schema(SCHEMA, custom_scalars=OPERATIONS))
def test_valid_operations_never_crash(gateway: LiveGateway, query: str) -> None:
    gateway.send("POST", json={"query": query})


@FUZZ
@given(query=mutations(SCHEMA, custom_scalars=OPERATIONS, mode=Mode.NEGATIVE))  # Query has no args
def test_operations_with_a_schema_violation_never_crash(gateway: LiveGateway, query: str) -> None:
    gateway.send("POST", json={"query": query})


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)  # httpx refuses them; raw bodies send
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
PHONES = st.sampled_from(["+14155552671", "(415) 555-2671", "12", "", "+", "٤١٥٥٥٥٢٦٧١"])
CONTACT = st.fixed_dictionaries(
    {},
    optional={
        "phone": PHONES | st.text(max_size=20) | JSON,
        "email": st.sampled_from(["a@b.co", "not-an-email", ""]) | JSON,
        "customFields": st.dictionaries(st.text(max_size=10), JSON, max_size=4) | JSON,
        "fieldMode": st.sampled_from(["MERGE", "REPLACE", "SIDEWAYS"]),
        "tags": st.lists(st.text(max_size=10), max_size=3) | JSON,
        "status": st.sampled_from(["SUBSCRIBED", "COMPLAINED", "nope"]),
        "listNumber": PHONES,
        "signupDate": st.sampled_from(["2024-01-31", "yesterday", ""]),
        "trackly": st.fixed_dictionaries({}, optional={"adNetworkSource": JSON}),
        "heymarket": st.fixed_dictionaries({}, optional={"assigneeId": JSON}),
    },
)
PROVIDER = st.sampled_from(["TRACKLY", "HEYMARKET", "CAMPAIGNLARK", "trackly", 1])
VARIABLES = st.one_of(
    st.tuples(st.just(UPSERT), st.fixed_dictionaries({"provider": PROVIDER, "contact": CONTACT})),
    st.tuples(
        st.just(BULK),
        st.fixed_dictionaries(
            {"provider": PROVIDER, "contacts": st.lists(CONTACT, max_size=5) | JSON}
        ),
    ),
    st.tuples(
        st.just(UPDATE),
        st.fixed_dictionaries(
            {
                "provider": PROVIDER,
                "contact": CONTACT | st.fixed_dictionaries({"id": JSON}),
                "fields": JSON,
                "mode": st.sampled_from(["MERGE", "REPLACE", None, 3]),
            }
        ),
    ),
)


@FUZZ
@given(case=VARIABLES)
def test_any_variables_never_crash(gateway: LiveGateway, case: tuple[str, Any]) -> None:
    query, variables = case
    gateway.send("POST", json={"query": query, "variables": variables})


def nested(depth: int, open_: str, close: str) -> bytes:
    return (open_ * depth + close * depth).encode()


def with_custom_fields(fields: bytes) -> bytes:
    head = json.dumps({"query": UPSERT})[:-1].encode()
    contact = b'{"phone": "+14155552671", "customFields": ' + fields + b"}"
    return head + b', "variables": {"provider": "TRACKLY", "contact": ' + contact + b"}}"


def deep_custom_fields(depth: int) -> bytes:
    return with_custom_fields(nested_object(depth))


def nested_object(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


BODIES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b'{"query": null}',
            b'{"query": 1}',
            b'{"query": "{ __typename }", "variables": []}',
            b'{"query": "{ __typename }", "operationName": "Nope"}',
            b'{"query": "{ __typename }", "operationName": "\\ud800"}',
            b'{"query": "{ __typename }", "operationName": "\xed\xa0\x80"}',
            b'{"query": "{ __typename }", "extensions": {"a": "\\udfff"}}',
            b'{"query": "query A { __typename } query B { __typename }"}',
            b'{"query": "mutation { upsertContact }"}',
            b"\xff\xfe\x00{",
            b'{"query": "\xc3\x28"}',
            nested(100_000, "[", "]"),
            b'{"query": "{ __typename }", "variables": {"a": ' + nested(50_000, "[", "]") + b"}}",
            b'{"query": "' + b"{" * 20_000 + b'"}',
            b'{"query": "{ __typename }", "extensions": {"persistedQuery": {}}}',
            json.dumps(
                {
                    "query": UPSERT,
                    "variables": {
                        "provider": "TRACKLY",
                        "contact": {
                            "phone": "+14155552671",
                            "customFields": {"a": "x" * 1_000_000},
                        },
                    },
                }
            ).encode(),
            deep_custom_fields(400),
            with_custom_fields(b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999}'),
            with_custom_fields(b'{"a": 123456789012345678901234567890, "b": "\\ud800"}'),
            deep_custom_fields(5_000),
        ]
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/graphql",
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "",
    ]
)


@FUZZ
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_raw_bodies_never_crash(gateway: LiveGateway, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    gateway.send("POST", content=body, headers=headers)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions", "x"]),
        st.text(max_size=60),
        max_size=3,
    ),
    accept=st.sampled_from(["application/json", "text/html", "*/*", ""]),
)
def test_get_requests_never_crash(
    gateway: LiveGateway, params: dict[str, str], accept: str
) -> None:
    gateway.send("GET", params=params, headers={"Accept": accept} if accept else {})
