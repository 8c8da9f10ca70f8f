"""Per-request cost of one bulkUpsertContacts document, limits on: built once vs per request.

Run: PYTHONPATH=. .venv/bin/python bench/validation_cache.py (the machine is shared: run it
twice; the ratio matters, not the absolute figure).
"""

import asyncio
import logging
import time

logging.disable(logging.CRITICAL)
import strawberry
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from gateway.schema import build_schema
from gateway.schema.context import GatewayContext
from gateway.schema.errors import ALL_MEMBERS
from gateway.schema.mutations import Mutation
from gateway.schema.query import Query
from gateway.schema.scalars import SCALAR_MAP
from gateway.service import ContactService
from tests.support import BULK

ours = build_schema()
docs_way = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=list(ALL_MEMBERS),
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
    extensions=[
        lambda: QueryDepthLimiter(max_depth=12),
        lambda: MaxAliasesLimiter(max_alias_count=30),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        MaskErrors,
    ],
)
ctx = {
    "gateway": GatewayContext(
        service=ContactService({}, deadline_seconds=1, max_bulk_contacts=10),
        region="US",
        sandbox=False,
    )
}
vars_ = {"provider": "HEYMARKET", "contacts": [{"phone": "+14155552671"}]}


async def run(schema: strawberry.Schema, n: int = 3000) -> float:
    r = await schema.execute(BULK, variable_values=vars_, context_value=ctx)
    assert r.errors is None, r.errors
    t = time.perf_counter()
    for _ in range(n):
        await schema.execute(BULK, variable_values=vars_, context_value=ctx)
    return (time.perf_counter() - t) / n * 1e3


async def main() -> None:
    for name, s in (
        ("limits built once (this gateway)", ours),
        ("limiters per request (strawberry docs, issue 4635)", docs_way),
    ):
        print(f"{name}: {await run(s):.3f} ms per request")


asyncio.run(main())
