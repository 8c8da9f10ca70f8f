"""`extensions.code` of the GraphQL errors a response's top-level `errors` can carry.

Apollo Server's names where one exists, so clients switch on what they already know; the
gateway's own for each limit. Typed errors (the Error union inside `data`) have their own
`code` field and are not these.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # Apollo's
    PARSE_FAILED = "GRAPHQL_PARSE_FAILED"  # the document is not GraphQL
    VALIDATION = "GRAPHQL_VALIDATION_FAILED"  # not valid against the schema
    BAD_USER_INPUT = "BAD_USER_INPUT"  # variables graphql-core refused
    BAD_REQUEST = "BAD_REQUEST"  # the HTTP request carries no usable GraphQL request
    OPERATION_RESOLUTION = "OPERATION_RESOLUTION_FAILURE"  # which operation to run is unclear
    INTERNAL = "INTERNAL_SERVER_ERROR"  # a bug, masked as "Unexpected error."
    # the gateway's limits (gateway/schema/limits.py)
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    QUERY_TOO_LONG = "QUERY_TOO_LONG"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_FIELDS = "TOO_MANY_FIELDS"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    NESTING_TOO_DEEP = "NESTING_TOO_DEEP"
    TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"  # a batch over max_batch
    NOT_FOUND = "NOT_FOUND"  # what the request names does not exist (an import's id, a path)
    # the edge's HTTP refusals, before any GraphQL: one naming scheme with the rest
    UNAUTHENTICATED = "UNAUTHENTICATED"  # 401, Apollo's name: no or an unknown API key
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"  # 405: a mutation over GET, a wrong method
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"  # 413: a body or an upload over its limit
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"  # 408: headers or body did not arrive in time
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"  # 431
    CORS_REFUSED = "CORS_REFUSED"  # 403: a preflight from an origin, method or header not allowed
    OVERLOADED = "OVERLOADED"  # 503 with Retry-After: the gateway is at max_connections
    PLAYGROUND_NOT_BUILT = "PLAYGROUND_NOT_BUILT"  # 503: the bundle was never built
    HTTP_ERROR = "HTTP_ERROR"  # any other HTTP refusal starlette raises
