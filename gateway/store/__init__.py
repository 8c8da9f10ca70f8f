"""The gateway's own state: idempotency keys today (and, later, import jobs).

base.py    the IdempotencyStore protocol and its records; StoreUnavailable
sqlite.py  the embedded store: one SQLite file under gateway.data_dir, migrations, WAL
redis.py   idempotency keys in Redis, when gateway.redis_url is set (every process of a fleet)
"""

from __future__ import annotations

from gateway.store.base import (
    Claim,
    Claimed,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    StoredAnswer,
    StoreUnavailable,
)
from gateway.store.redis import RedisIdempotencyStore
from gateway.store.sqlite import SqliteDatabase, SqliteIdempotencyStore

__all__ = [
    "Claim",
    "Claimed",
    "IdempotencyStore",
    "InFlight",
    "Mismatch",
    "RedisIdempotencyStore",
    "Replay",
    "SqliteDatabase",
    "SqliteIdempotencyStore",
    "StoreUnavailable",
    "StoredAnswer",
]
