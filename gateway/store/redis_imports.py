"""Import jobs in Redis, for a fleet (gateway/store/imports.py has the contract): every gateway
process on every host takes chunks of the same jobs.

The chunks travel on a saq queue (saq.queue.redis.RedisQueue: a maintained asyncio job queue;
docs/deployment.md says why saq and not arq). Each chunk of a job is one saq job keyed
`<namespace>/<job id>/<chunk>`; a process takes one with saq's `dequeue`, marks it ACTIVE and
renews saq's heartbeat while it sends the chunk. A process that dies stops renewing: saq's
`sweep` (run by every process, at most once a second for the fleet) finds the chunk stuck after
`lease_seconds` and puts it back on the queue, and the next claim takes it over. The queue only
hands work out; what is counted lives in the job's own keys, changed by Lua scripts (each one
atomic step):

    <ns>:imports:job:<id>            hash: the job's record, counts, how far its input is read
    <ns>:imports:jobs                zset: every job by creation time (listings, purge)
    <ns>:imports:active              set: the jobs still QUEUED or RUNNING
    <ns>:imports:reading             set: the jobs whose uploaded file is still to be read
    <ns>:imports:rows:<id>:<chunk>   list: the chunk's input rows, deleted once it is counted
    <ns>:imports:leases:<id>         hash: chunk -> the owner token sending it now
    <ns>:imports:done:<id>           set: the chunks counted
    <ns>:imports:failures:<id>       zset: failed rows by row index
    <ns>:imports:notes:<id>          hash: warning -> "seq|count|first indexes"
    <ns>:imports:owner:<token>       a live process (TTL `lease_seconds`, renewed)

A checkpoint counts a chunk only while its lease is still the caller's and the chunk is not in
`done` yet, and adds it to `done` in the same script: a chunk is counted once or not at all,
however often saq hands it out (a sweep of a slow but living process, a duplicate enqueue).
Only `max_in_flight` chunks of a job are on the queue at once (a window, topped up as chunks
are counted), so the plan's per-job concurrency holds for the fleet together, and a deferred
chunk (its provider said "not now") holds back only its own job.

Input rows are in Redis, so a chunk can be sent from any host. An uploaded file is read into
rows by a process that sees the file (the host that took the upload in, or any process sharing
its data_dir), `READ_BATCH` rows at a time; its chunks go out as soon as they are read.
Finished jobs are deleted by `purge` after `gateway.import_retention_days`, like the SQLite
store's; their rows go as soon as each chunk is counted.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.typing import EncodableT, FieldT
from saq import Job, Status
from saq.queue.redis import RedisQueue

from gateway.store.base import StoreUnavailable
from gateway.store.imports import (
    ChunkOutcome,
    ChunkWork,
    FailedRow,
    ImportStatus,
    InputRow,
    JobRecord,
    NewJob,
    ReadInput,
    RowBatch,
    RowFormat,
    Work,
    failed_row,
    failure_fields,
    warning_text,
)
from providers.model import ProviderName
from providers.resilience.redis_link import REDIS_ERRORS

__all__ = ["LEASE_SECONDS", "RedisImportStore"]

log = logging.getLogger("gateway.imports")

P = ParamSpec("P")
T = TypeVar("T")

LEASE_SECONDS = 10  # a chunk or a read whose process stopped renewing is taken over after this
SWEEP_EVERY = 1.0  # seconds between this process' looks for stuck chunks and due windows
TRIES = 8  # queue entries one claim looks at before it says: nothing for now
LISTED = 20  # row indexes a warning keeps (it counts the rest), as in the SQLite store
CHUNK_FUNCTION = "gateway-import-chunk"  # saq's name for the work; no saq Worker runs it
# saq retries a swept job only while attempts < retries; the gateway never counts attempts
# (a chunk is sent until it is counted), so any number above zero keeps it going.
SAQ_RETRIES = 1

# Helpers every script starts with. KEYS[1] is always the job's hash; the other keys of the
# job are made from ARGV[1], the job's key prefix `<ns>:imports:` .. `<id>`-independent parts.
_LIB = """
local job = KEYS[1]
local function active()
  local s = redis.call('HGET', job, 'status')
  return s == 'QUEUED' or s == 'RUNNING'
end
local function note(notes, text, indexes, listed)
  local found = redis.call('HGET', notes, text)
  local seq, count, kept = 0, 0, {}
  if found then
    local a, b, c = string.match(found, '^(%d+)|(%d+)|(.*)$')
    seq, count = tonumber(a), tonumber(b)
    for i in string.gmatch(c, '%d+') do kept[#kept + 1] = tonumber(i) end
  else
    seq = redis.call('HINCRBY', job, 'notes_seq', 1)
  end
  local seen = {}
  for _, i in ipairs(kept) do seen[i] = true end
  for _, i in ipairs(indexes) do
    if not seen[i] then seen[i] = true; kept[#kept + 1] = i end
  end
  table.sort(kept)
  local shown = {}
  for n = 1, math.min(#kept, listed) do shown[n] = kept[n] end
  redis.call('HSET', notes, text, seq .. '|' .. (count + #indexes) .. '|' ..
             table.concat(shown, ','))
end
local function finish_if_done(now, done_set, active_set, id)
  local f = redis.call('HMGET', job, 'status', 'total', 'chunk_size')
  local total, size = tonumber(f[2]), tonumber(f[3])
  if f[1] ~= 'RUNNING' or total < 0 then return end
  if redis.call('SCARD', done_set) >= math.ceil(total / size) then
    redis.call('HSET', job, 'status', 'SUCCEEDED', 'finished_at', now)
    redis.call('SREM', active_set, id)
  end
end
local function start(now, restarted)
  local f = redis.call('HMGET', job, 'status', 'started_at', 'processed')
  if f[2] == '' then redis.call('HSET', job, 'started_at', now) end
  if f[1] == 'QUEUED' or restarted then
    redis.call('HSET', job, 'run_started_at', now, 'run_processed', f[3])
  end
  redis.call('HSET', job, 'status', 'RUNNING')
  redis.call('HINCRBY', job, 'version', 1)
end
"""

# Take chunk ARGV[2] for owner ARGV[3] at ARGV[4]: 'taken', 'restarted' (taken over from
# another owner), 'skip' (counted already, or the job is over) or 'later' (not before).
# KEYS: job, leases, done.
_TAKE = (
    _LIB
    + """
if not active() or redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1 then return 'skip' end
if tonumber(redis.call('HGET', job, 'not_before')) > tonumber(ARGV[4]) then return 'later' end
local before = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local restarted = before ~= false and before ~= ARGV[3]
start(ARGV[4], restarted)
if restarted then return 'restarted' end
return 'taken'
"""
)

# The next chunk to put on the queue, or -1: within the job's window and read already.
# KEYS: job, done.
_NEXT = (
    _LIB
    + """
if not active() then return -1 end
local f = redis.call('HMGET', job, 'next_chunk', 'max_in_flight', 'chunk_size', 'rows_read',
                     'total')
local n, most, size = tonumber(f[1]), tonumber(f[2]), tonumber(f[3])
local read, total = tonumber(f[4]), tonumber(f[5])
if n - redis.call('SCARD', KEYS[2]) >= most then return -1 end
if total >= 0 then
  if n * size < total then return n end
elseif read >= (n + 1) * size then
  return n
end
return -1
"""
)

# Chunk ARGV[2] is on the queue: move the window on (only once, whoever enqueued it).
_ENQUEUED = """
if redis.call('HGET', KEYS[1], 'next_chunk') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'next_chunk', tonumber(ARGV[2]) + 1)
end
return 1
"""

# Take the job's input to read, for owner ARGV[2] at ARGV[3], if its reader is still ARGV[4].
# KEYS: job, the old reader's owner key (or the job again).
_TAKE_READ = (
    _LIB
    + """
if not active() or redis.call('HGET', job, 'source') == '' then return 0 end
local reader = redis.call('HGET', job, 'read_owner')
if reader ~= ARGV[4] then return 0 end
if reader ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', job, 'read_owner', ARGV[2])
start(ARGV[3], reader ~= '')
return 1
"""
)

# Rows read by owner ARGV[2], the first at index ARGV[3], the file read up to ARGV[4];
# ARGV[5] '1' when the input is done; ARGV[6] now; ARGV[7] the key prefix of the row lists;
# ARGV[8] the job id; rows from ARGV[9] on. KEYS: job, done, active, reading.
_ADD_ROWS = (
    _LIB
    + """
if not active() or redis.call('HGET', job, 'read_owner') ~= ARGV[2] then return 0 end
local f = redis.call('HMGET', job, 'rows_read', 'chunk_size')
local read, size = tonumber(f[1]), tonumber(f[2])
if read ~= tonumber(ARGV[3]) then return 0 end
for n = 9, #ARGV do
  local index = read + n - 9
  redis.call('RPUSH', ARGV[7] .. math.floor(index / size), ARGV[n])
end
read = read + #ARGV - 8
redis.call('HSET', job, 'rows_read', read, 'read_offset', ARGV[4])
redis.call('HINCRBY', job, 'version', 1)
if ARGV[5] == '1' then
  redis.call('HSET', job, 'total', read, 'source', '', 'read_owner', '')
  redis.call('SREM', KEYS[4], ARGV[8])
  finish_if_done(ARGV[6], KEYS[2], KEYS[3], ARGV[8])
end
return 1
"""
)

# Count chunk ARGV[2] of owner ARGV[3] at ARGV[4]: processed ARGV[5], failed ARGV[6],
# created ARGV[7], notes ARGV[8] (JSON [[note, [indexes]], ...], in order), ARGV[9] the job
# id, ARGV[10] the indexes a warning lists, failures (score, member) from ARGV[11] on.
# KEYS: job, leases, done, failures, notes, the chunk's rows, active.
_CHECKPOINT = (
    _LIB
    + """
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
if redis.call('SADD', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('DEL', KEYS[6])
local processed, failed = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('HINCRBY', job, 'processed', processed)
redis.call('HINCRBY', job, 'succeeded', processed - failed)
redis.call('HINCRBY', job, 'failed', failed)
redis.call('HINCRBY', job, 'created', tonumber(ARGV[7]))
for n = 11, #ARGV, 2 do redis.call('ZADD', KEYS[4], ARGV[n], ARGV[n + 1]) end
for _, pair in ipairs(cjson.decode(ARGV[8])) do
  note(KEYS[5], pair[1], pair[2], tonumber(ARGV[10]))
end
redis.call('HINCRBY', job, 'version', 1)
finish_if_done(ARGV[4], KEYS[3], KEYS[7], ARGV[9])
return 1
"""
)

# Give chunk ARGV[2] of owner ARGV[3] back, uncounted; ARGV[4] a note ('' for none), ARGV[5] a
# time before which no chunk of the job goes ('0': any time). 1 when the lease was the owner's.
# KEYS: job, leases, notes.
_GIVE_BACK = (
    _LIB
    + """
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
if ARGV[4] ~= '' then note(KEYS[3], ARGV[4], {}, 0) end
if tonumber(ARGV[5]) > tonumber(redis.call('HGET', job, 'not_before')) then
  redis.call('HSET', job, 'not_before', ARGV[5])
end
redis.call('HINCRBY', job, 'version', 1)
return 1
"""
)

# The job's read given back by owner ARGV[2]; ARGV[3] a note. KEYS: job, notes.
_RELEASE_READ = (
    _LIB
    + """
if redis.call('HGET', job, 'read_owner') == ARGV[2] then
  redis.call('HSET', job, 'read_owner', '')
end
if ARGV[3] ~= '' then note(KEYS[2], ARGV[3], {}, 0) end
redis.call('HINCRBY', job, 'version', 1)
return 1
"""
)

# End an active job: status ARGV[2] at ARGV[3], reason ARGV[4] ('' for none, else noted too),
# ARGV[5] the job id. KEYS: job, notes, active, reading.
_END = (
    _LIB
    + """
if redis.call('EXISTS', job) == 0 then return 0 end
if not active() then return 1 end
redis.call('HSET', job, 'status', ARGV[2], 'finished_at', ARGV[3], 'read_owner', '')
if ARGV[4] ~= '' then
  redis.call('HSET', job, 'reason', ARGV[4], 'source', '')
  note(KEYS[2], ARGV[4], {}, 0)
end
redis.call('SREM', KEYS[3], ARGV[5])
redis.call('SREM', KEYS[4], ARGV[5])
redis.call('HINCRBY', job, 'version', 1)
return 1
"""
)

_ACTIVE = frozenset({"QUEUED", "RUNNING"})


def _unavailable(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """A Redis that does not answer is StoreUnavailable, as a locked SQLite file is."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"Redis: {exc}") from exc

    return call


class RedisImportStore:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        namespace: str = "gateway",
        lease_seconds: int = LEASE_SECONDS,
        sweep_every: float = SWEEP_EVERY,
    ) -> None:
        self.redis = client
        self.namespace = namespace
        self.prefix = f"{namespace}:imports:"
        self.lease_seconds = max(1, lease_seconds)  # saq's heartbeat is whole seconds
        self.sweep_every = sweep_every
        self.queue = RedisQueue(client, name=f"{namespace}-imports")
        self._held: dict[tuple[str, int], Job] = {}  # the saq jobs this process is sending
        self._swept_at = float("-inf")
        self._scripts: dict[str, AsyncScript] = {}

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "gateway") -> RedisImportStore:
        # Its own connection pool, without the fleet link's short socket timeout: saq's
        # dequeue is a blocking pop.
        return cls(aioredis.Redis.from_url(url), namespace=namespace)

    # -- keys ----------------------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _job_keys(self, job_id: str) -> dict[str, str]:
        return {
            name: self._key(name, job_id) for name in ("job", "leases", "done", "failures", "notes")
        }

    def _chunk_key(self, job_id: str, chunk: int) -> str:
        # The namespace too: saq keeps an aborted job's mark under its key alone, for the
        # whole Redis (`saq:abort:<key>`).
        return f"{self.namespace}/{job_id}/{chunk}"

    def _chunk_of(self, key: str) -> tuple[str, int]:
        job_id, _, chunk = key.removeprefix(f"{self.namespace}/").rpartition("/")
        return job_id, int(chunk)

    def _rows_prefix(self, job_id: str) -> str:
        return self._key("rows", job_id) + ":"

    async def _run(self, name: str, source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self.redis.register_script(source)
        return await script(keys=list(keys), args=list(args))

    # -- jobs ----------------------------------------------------------------------------------

    @_unavailable
    async def create(self, job: NewJob, rows: Sequence[InputRow] = ()) -> JobRecord:
        # The rows first, the job last: a job is seen only with its whole inline input.
        rows_prefix = self._rows_prefix(job.id)
        for start in range(0, len(rows), 1_000):
            async with self.redis.pipeline(transaction=False) as pipe:
                for row in rows[start : start + 1_000]:
                    pipe.rpush(rows_prefix + str(row.index // job.chunk_size), _row_text(row))
                await pipe.execute()
        fields: dict[FieldT, EncodableT] = {
            "provider": job.provider.value,
            "status": "QUEUED",
            "row_format": job.row_format.value,
            "header": json.dumps(list(job.header)) if job.header is not None else "",
            "chunk_size": job.chunk_size,
            "max_in_flight": job.max_in_flight,
            "source": job.source or "",
            "read_offset": 0,
            "read_owner": "",
            "rows_read": len(rows),
            "total": -1 if job.source is not None else len(rows),
            "processed": 0,
            "succeeded": 0,
            "failed": 0,
            "created": 0,
            "created_at": job.created_at,
            "started_at": "",
            "finished_at": "",
            "run_started_at": "",
            "run_processed": 0,
            "version": 0,
            "reason": "",
            "not_before": 0,
            "next_chunk": 0,
            "notes_seq": 0,
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key("job", job.id), mapping=fields)
            pipe.zadd(self._key("jobs"), {job.id: job.created_at})
            pipe.sadd(self._key("active"), job.id)
            if job.source is not None:
                pipe.sadd(self._key("reading"), job.id)
            await pipe.execute()
        await self._fill(job.id)
        found = await self.get(job.id)
        assert found is not None
        return found

    @_unavailable
    async def get(self, job_id: str) -> JobRecord | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key("job", job_id))
            pipe.hgetall(self._key("notes", job_id))
            fields, notes = await pipe.execute()
        if not fields:
            return None
        return _record(job_id, _text(fields), _text(notes))

    @_unavailable
    async def recent(self, status: ImportStatus | None, first: int) -> list[JobRecord]:
        found: list[JobRecord] = []
        start, page = 0, max(first, 50)
        while len(found) < first:
            ids = await self.redis.zrevrange(self._key("jobs"), start, start + page - 1)
            if not ids:
                break
            start += page
            for raw in ids:
                job = await self.get(_str(raw))
                if job is not None and (status is None or job.status is status):
                    found.append(job)
                    if len(found) == first:
                        break
        # Ties in time: by id, as the SQLite store lists them.
        return sorted(found, key=lambda job: (-job.created_at, job.id))

    @_unavailable
    async def errors(self, job_id: str, first: int, after: int) -> list[FailedRow]:
        if first <= 0:
            return []
        members = await self.redis.zrangebyscore(
            self._key("failures", job_id), "-inf", "+inf", start=max(0, after), num=first
        )
        return [failed_row(json.loads(_str(member))) for member in members]

    # -- work ----------------------------------------------------------------------------------

    @_unavailable
    async def claim(self, owner: str, now: float) -> Work | None:
        await self.redis.set(self._key("owner", owner), "1", px=self.lease_seconds * 1_000)
        await self._maintain()
        return await self._claim_read(owner, now) or await self._claim_chunk(owner, now)

    async def _maintain(self) -> None:
        """Stuck chunks back on the queue (saq's sweep), and every active job's window full
        (a process that died between putting a chunk on the queue and noting it)."""
        clock = time.monotonic()
        if clock - self._swept_at < self.sweep_every:
            return
        self._swept_at = clock
        # abort: how long saq waits for a stuck job's worker to confirm an abort; ours are
        # dead (or will find their lease gone at the checkpoint): no wait.
        swept = await self.queue.sweep(lock=max(1, math.ceil(self.sweep_every)), abort=0.01)
        if swept:
            log.info("imports: %d chunks of stopped processes back on the queue", len(swept))
        for raw in await self.redis.smembers(self._key("active")):
            await self._fill(_str(raw))

    async def _claim_read(self, owner: str, now: float) -> ReadInput | None:
        for raw in sorted(await self.redis.smembers(self._key("reading"))):
            job_id = _str(raw)
            job_key = self._key("job", job_id)
            source, reader, offset, read = _text_list(
                await self.redis.hmget(job_key, "source", "read_owner", "read_offset", "rows_read")
            )
            if not source or reader == owner or not Path(source).exists():
                continue  # nothing to read, ours already, or on another host's disk
            owner_key = self._key("owner", reader) if reader else job_key
            keys = [job_key, owner_key]
            if await self._run("take_read", _TAKE_READ, keys, [self.prefix, owner, now, reader]):
                job = await self.get(job_id)
                assert job is not None
                return ReadInput(job, source, int(offset), int(read), owner)
        return None

    async def _claim_chunk(self, owner: str, now: float) -> ChunkWork | None:
        later: set[str] = set()  # chunks put back in this call: met again, the queue went round
        for _ in range(TRIES):
            # A short blocking pop: saq's dequeue with no timeout would wait for ever.
            queued = await self.queue.dequeue(timeout=0.01)
            if queued is None:
                return None
            if queued.key in later:
                await self.queue.retry(queued, "not before the provider's pause ends")
                return None
            job_id, chunk = self._chunk_of(queued.key)
            keys = self._job_keys(job_id)
            taken = await self._run(
                "take", _TAKE, [keys["job"], keys["leases"], keys["done"]],
                [self.prefix, chunk, owner, now],
            )  # fmt: skip
            taken = _str(taken)
            if taken == "skip":
                await self.queue.finish(queued, Status.COMPLETE)
                continue
            if taken == "later":
                later.add(queued.key)
                await self.queue.retry(queued, "not before the provider's pause ends")
                continue
            # The heartbeat starts: saq's sweep takes the chunk back once it stops.
            await self.queue.update(queued, status=Status.ACTIVE, started=int(time.time() * 1e3))
            self._held[(job_id, chunk)] = queued
            job = await self.get(job_id)
            assert job is not None
            first = chunk * job.chunk_size
            stored = await self.redis.lrange(self._rows_prefix(job_id) + str(chunk), 0, -1)
            rows = tuple(_row(first + n, raw) for n, raw in enumerate(stored))
            return ChunkWork(job, chunk, first, rows, owner)
        return None

    async def _fill(self, job_id: str) -> None:
        """Put the job's next chunks on the queue, up to its window."""
        keys = self._job_keys(job_id)
        while True:
            chunk = int(await self._run("next", _NEXT, [keys["job"], keys["done"]], [self.prefix]))
            if chunk < 0:
                return
            # Enqueued first, noted after: a process dying between the two leaves the chunk
            # to be enqueued again, which saq refuses while it is queued or in flight, and a
            # claim skips once it is counted.
            await self.queue.enqueue(
                Job(
                    function=CHUNK_FUNCTION,
                    key=self._chunk_key(job_id, chunk),
                    timeout=0,  # no limit: a Heymarket chunk waits on its budget
                    heartbeat=self.lease_seconds,
                    retries=SAQ_RETRIES,
                    ttl=-1,  # a finished chunk's saq record is deleted at once
                )
            )
            await self._run("enqueued", _ENQUEUED, [keys["job"]], [self.prefix, chunk])

    @_unavailable
    async def renew(self, owner: str, now: float) -> None:
        await self.redis.set(self._key("owner", owner), "1", px=self.lease_seconds * 1_000)
        for (job_id, chunk), queued in list(self._held.items()):
            holder = await self.redis.hget(self._key("leases", job_id), str(chunk))
            if holder is None or _str(holder) != owner:
                self._held.pop((job_id, chunk), None)  # taken over: not ours to renew
                continue
            await self.queue.update(queued)  # saq's heartbeat: `touched` is now

    @_unavailable
    async def add_rows(
        self, work: ReadInput, rows: RowBatch, offset: int, done: bool, now: float
    ) -> bool:
        keys = self._job_keys(work.job.id)
        first = rows.first if len(rows) else work.rows
        stored = await self._run(
            "add_rows",
            _ADD_ROWS,
            [keys["job"], keys["done"], self._key("active"), self._key("reading")],
            [
                self.prefix, work.owner, first, offset, "1" if done else "0", now,
                self._rows_prefix(work.job.id), work.job.id, *map(_row_text, rows.rows()),
            ],
        )  # fmt: skip
        if not stored:
            return False
        await self._fill(work.job.id)
        return True

    @_unavailable
    async def checkpoint(self, work: ChunkWork, outcome: ChunkOutcome, now: float) -> bool:
        job_id = work.job.id
        keys = self._job_keys(job_id)
        failures: list[str | int] = []
        for row in outcome.failed:
            failures += [row.index, json.dumps(failure_fields(row))]
        notes = [[note, list(indexes)] for note, indexes in outcome.notes.items()]
        counted = await self._run(
            "checkpoint",
            _CHECKPOINT,
            [
                keys["job"], keys["leases"], keys["done"], keys["failures"], keys["notes"],
                self._rows_prefix(job_id) + str(work.chunk), self._key("active"),
            ],
            [
                self.prefix, work.chunk, work.owner, now, outcome.processed,
                len(outcome.failed), outcome.created, json.dumps(notes),
                job_id, LISTED, *failures,
            ],
        )  # fmt: skip
        queued = self._held.pop((job_id, work.chunk), None)
        if not counted:
            return False  # taken over: the saq job is the new holder's now
        if queued is not None:
            await self.queue.finish(queued, Status.COMPLETE)
        await self._fill(job_id)
        return True

    @_unavailable
    async def release(self, work: Work, note: str | None = None) -> None:
        keys = self._job_keys(work.job.id)
        if isinstance(work, ReadInput):
            await self._run(
                "release_read", _RELEASE_READ, [keys["job"], keys["notes"]],
                [self.prefix, work.owner, note or ""],
            )  # fmt: skip
            return
        await self._give_back(work, note or "", 0.0)

    @_unavailable
    async def defer(self, work: ChunkWork, until: float, note: str) -> None:
        await self._give_back(work, note, until)

    async def _give_back(self, work: ChunkWork, note: str, not_before: float) -> None:
        keys = self._job_keys(work.job.id)
        ours = await self._run(
            "give_back", _GIVE_BACK, [keys["job"], keys["leases"], keys["notes"]],
            [self.prefix, work.chunk, work.owner, note, not_before],
        )  # fmt: skip
        queued = self._held.pop((work.job.id, work.chunk), None)
        if ours and queued is not None:
            # Back on the queue; a claim before `not_before` puts it back again.
            await self.queue.retry(queued, note or "given back")

    @_unavailable
    async def fail(self, job_id: str, reason: str, now: float) -> JobRecord | None:
        return await self._end(job_id, "FAILED", now, reason)

    @_unavailable
    async def cancel(self, job_id: str, now: float) -> JobRecord | None:
        return await self._end(job_id, "CANCELLED", now, "")

    async def _end(self, job_id: str, status: str, now: float, reason: str) -> JobRecord | None:
        keys = self._job_keys(job_id)
        found = await self._run(
            "end", _END, [keys["job"], keys["notes"], self._key("active"), self._key("reading")],
            [self.prefix, status, now, reason, job_id],
        )  # fmt: skip
        # Its chunks still on the queue are dropped as claims meet them ('skip').
        return await self.get(job_id) if found else None

    @_unavailable
    async def leases(self, job_id: str) -> int:
        holders = await self.redis.hvals(self._key("leases", job_id))
        if not holders:
            return 0
        # EXISTS counts a key once per mention: several chunks of one owner count each.
        return int(await self.redis.exists(*(self._key("owner", _str(h)) for h in holders)))

    @_unavailable
    async def cancelled(self, job_ids: Sequence[str]) -> set[str]:
        if not job_ids:
            return set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self._key("job", job_id), "status")
            statuses = await pipe.execute()
        return {
            job_id
            for job_id, status in zip(job_ids, statuses, strict=True)
            if status is None or _str(status) not in _ACTIVE
        }

    @_unavailable
    async def purge(self, finished_before: float) -> list[str]:
        purged: list[str] = []
        ids = [_str(raw) for raw in await self.redis.zrange(self._key("jobs"), 0, -1)]
        for job_id in ids:
            finished, size, read = _text_list(
                await self.redis.hmget(
                    self._key("job", job_id), "finished_at", "chunk_size", "rows_read"
                )
            )
            if size and (not finished or float(finished) >= finished_before):
                continue
            chunks = math.ceil(int(read or 0) / int(size or 1))
            rows = [self._rows_prefix(job_id) + str(n) for n in range(chunks)]
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(*self._job_keys(job_id).values())
                for start in range(0, len(rows), 1_000):
                    pipe.delete(*rows[start : start + 1_000])
                pipe.zrem(self._key("jobs"), job_id)
                pipe.srem(self._key("active"), job_id)
                pipe.srem(self._key("reading"), job_id)
                await pipe.execute()
            if size:  # a listing whose job hash was gone is tidied, not reported
                purged.append(job_id)
        return purged

    async def aclose(self) -> None:
        await self.queue.disconnect()


# -- values --------------------------------------------------------------------------------------


def _str(value: object) -> str:
    """A Redis answer as text (the client answers bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _text(mapping: Mapping[Any, Any]) -> dict[str, str]:
    return {_str(key): _str(value) for key, value in mapping.items()}


def _text_list(values: Sequence[object]) -> list[str]:
    return [_str(value) if value is not None else "" for value in values]


def _row_text(row: InputRow) -> str:
    return json.dumps([row.raw, row.problem], ensure_ascii=False)


def _row(index: int, stored: object) -> InputRow:
    raw, problem = json.loads(_str(stored))
    return InputRow(index, raw, problem)


def _optional(value: str) -> float | None:
    return float(value) if value else None


def _record(job_id: str, fields: dict[str, str], notes: dict[str, str]) -> JobRecord:
    total = int(fields["total"])
    ordered = sorted((int(value.split("|", 2)[0]), note, value) for note, value in notes.items())
    return JobRecord(
        id=job_id,
        provider=ProviderName(fields["provider"]),
        status=ImportStatus(fields["status"]),
        row_format=RowFormat(fields["row_format"]),
        header=tuple(json.loads(fields["header"])) if fields["header"] else None,
        chunk_size=int(fields["chunk_size"]),
        total=total if total >= 0 else None,
        processed=int(fields["processed"]),
        succeeded=int(fields["succeeded"]),
        failed=int(fields["failed"]),
        created=int(fields["created"]),
        created_at=float(fields["created_at"]),
        started_at=_optional(fields["started_at"]),
        finished_at=_optional(fields["finished_at"]),
        run_started_at=_optional(fields["run_started_at"]),
        run_processed=int(fields["run_processed"]),
        version=int(fields["version"]),
        warnings=tuple(_warning(note, value) for _, note, value in ordered),
        reason=fields["reason"] or None,
    )


def _warning(note: str, stored: str) -> str:
    _, count_text, listed_text = stored.split("|", 2)
    return warning_text(note, int(count_text), [int(i) for i in listed_text.split(",") if i])
