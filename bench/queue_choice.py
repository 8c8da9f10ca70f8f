"""Which Redis job queue carries the fleet's import chunks: saq or arq, measured on what matters
to gateway/store/redis_imports.py.

1. Queue overhead per chunk: enqueue, then take and finish, one job at a time (the import
   worker's path: a chunk is taken, sent, checkpointed, finished), and each library's own
   worker draining the same jobs with a no-op function.
2. How long a chunk held by a SIGKILLed worker waits before another worker runs it: saq with a
   heartbeat of 2 s (renewed by the job) and a sweep every second; arq with a 2 s job timeout
   (arq has no heartbeat: its in-progress key lives the job's timeout + 10 s, so a dead worker
   is told only by the longest a chunk may take; a Heymarket chunk paced by its budget takes
   minutes).

arq cannot go in the project's lock (arq 0.28 requires redis<6, the gateway has redis>=6), so
this runs in a scratch virtualenv with both, against a throwaway redis-server:

    python3 -m venv /tmp/qbench && /tmp/qbench/bin/pip install saq==0.26.4 arq==0.28.0
    redis-server --port 6390 --save "" --daemonize yes
    /tmp/qbench/bin/python bench/queue_choice.py --redis redis://127.0.0.1:6390/0
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

HEARTBEAT = 2  # seconds: saq's heartbeat, and arq's job timeout, in the dead-worker run


async def saq_store_path(url: str, jobs: int) -> tuple[float, float]:
    """µs per enqueue, µs per take (dequeue + ACTIVE) and finish: what the import store does."""
    saq = importlib.import_module("saq")
    redis_queue = importlib.import_module("saq.queue.redis")
    queue = redis_queue.RedisQueue.from_url(url, name=f"bench-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    for n in range(jobs):
        job = saq.Job(function="chunk", key=f"j/{n}", timeout=0, heartbeat=10, ttl=-1)
        await queue.enqueue(job)
    enqueue = (time.perf_counter() - started) / jobs * 1e6
    started = time.perf_counter()
    for _ in range(jobs):
        job = await queue.dequeue(timeout=0.01)
        await queue.update(job, status=saq.Status.ACTIVE, started=int(time.time() * 1e3))
        await queue.finish(job, saq.Status.COMPLETE)
    take = (time.perf_counter() - started) / jobs * 1e6
    await queue.disconnect()
    return enqueue, take


async def saq_worker(url: str, jobs: int) -> float:
    """µs per job, saq's own Worker draining `jobs` no-op jobs (concurrency 10)."""
    saq = importlib.import_module("saq")
    redis_queue = importlib.import_module("saq.queue.redis")
    queue = redis_queue.RedisQueue.from_url(url, name=f"bench-{uuid.uuid4().hex[:8]}")

    async def noop(ctx: dict[str, Any]) -> None:
        return None

    for n in range(jobs):
        await queue.enqueue("noop", key=f"w/{n}", ttl=-1)
    worker = saq.Worker(
        queue, functions=[("noop", noop)], concurrency=10, burst=True, dequeue_timeout=0.01
    )
    started = time.perf_counter()
    await worker.start()
    took = (time.perf_counter() - started) / jobs * 1e6
    await queue.disconnect()
    return took


async def arq_paths(url: str, jobs: int) -> tuple[float, float]:
    """µs per enqueue, and per job for arq's Worker draining them (max_jobs 10)."""
    arq = importlib.import_module("arq")
    connections = importlib.import_module("arq.connections")
    settings = connections.RedisSettings.from_dsn(url)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    pool = await arq.create_pool(settings, default_queue_name=name)
    started = time.perf_counter()
    for n in range(jobs):
        await pool.enqueue_job("noop", _job_id=f"{name}-{n}")
    enqueue = (time.perf_counter() - started) / jobs * 1e6

    async def noop(ctx: dict[str, Any]) -> None:
        return None

    worker = arq.Worker(
        functions=[arq.func(noop, name="noop")],
        redis_pool=pool,
        queue_name=name,
        burst=True,
        max_jobs=10,
        poll_delay=0.01,
        handle_signals=False,
        keep_result=0,
    )
    started = time.perf_counter()
    await worker.main()
    took = (time.perf_counter() - started) / jobs * 1e6
    await worker.close()
    return enqueue, took


# -- a worker killed while it holds a job --------------------------------------------------------


async def victim(kind: str, url: str, name: str) -> None:
    """Take the one job and hold it for ever (renewing saq's heartbeat): the parent kills us."""
    if kind == "saq-store":  # as the import store takes a chunk: dequeue, ACTIVE, heartbeat
        saq = importlib.import_module("saq")
        redis_queue = importlib.import_module("saq.queue.redis")
        queue = redis_queue.RedisQueue.from_url(url, name=name)
        job = await queue.dequeue(timeout=10)
        await queue.update(job, status=saq.Status.ACTIVE, started=int(time.time() * 1e3))
        print("taken", flush=True)
        while True:
            await queue.update(job)
            await asyncio.sleep(0.5)
    elif kind == "saq":
        saq = importlib.import_module("saq")
        redis_queue = importlib.import_module("saq.queue.redis")
        queue = redis_queue.RedisQueue.from_url(url, name=name)

        async def hold(ctx: dict[str, Any]) -> None:
            print("taken", flush=True)
            while True:
                await ctx["job"].update()  # the heartbeat
                await asyncio.sleep(0.5)

        await saq.Worker(queue, functions=[("hold", hold)], dequeue_timeout=0.1).start()
    else:
        arq = importlib.import_module("arq")
        connections = importlib.import_module("arq.connections")

        async def hold_arq(ctx: dict[str, Any]) -> None:
            print("taken", flush=True)
            await asyncio.sleep(3_600)

        worker = arq.Worker(
            functions=[arq.func(hold_arq, name="hold", timeout=HEARTBEAT)],
            redis_settings=connections.RedisSettings.from_dsn(url),
            queue_name=name,
            poll_delay=0.05,
            handle_signals=False,
        )
        await worker.main()


async def rescue(kind: str, url: str, store_sweep: bool = False) -> float:
    """Seconds from the SIGKILL of the job's worker to the job run by another worker.
    saq's Worker sweeps with a 60 s lock; `store_sweep`: sweep as the import store does
    instead (every second, a 1 s lock, no wait for the dead worker to confirm)."""
    name = f"dead-{uuid.uuid4().hex[:8]}"
    done = asyncio.Event()
    if kind == "saq":
        saq = importlib.import_module("saq")
        redis_queue = importlib.import_module("saq.queue.redis")
        queue = redis_queue.RedisQueue.from_url(url, name=name)
        await queue.enqueue("hold", key=name, heartbeat=HEARTBEAT, timeout=0, retries=5)
    else:
        arq = importlib.import_module("arq")
        connections = importlib.import_module("arq.connections")
        pool = await arq.create_pool(connections.RedisSettings.from_dsn(url))
        await pool.enqueue_job("hold", _job_id=name, _queue_name=name)
    role = "saq-store" if store_sweep else kind
    process = subprocess.Popen(
        [sys.executable, __file__, "--redis", url, "--victim", role, "--queue", name],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "taken"
    await asyncio.sleep(0.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed = time.monotonic()

    async def hold(ctx: dict[str, Any]) -> None:
        done.set()

    if kind == "saq" and store_sweep:

        async def take() -> None:  # the import store's claim: sweep (due once a second), take
            while True:
                await queue.sweep(lock=1, abort=0.01)
                job = await queue.dequeue(timeout=1)
                if job is not None:
                    await hold({"job": job})
                    await queue.finish(job, saq.Status.COMPLETE)
                    return

        running = asyncio.create_task(take())
    elif kind == "saq":
        # saq's Worker sweeps at start and then every `timers["sweep"]` seconds, each sweep
        # holding a 60 s lock (sweep's default): the first one, made while the job is not
        # stuck yet, keeps every process from sweeping for a minute.
        worker: Any = saq.Worker(
            queue,
            functions=[("hold", hold)],
            dequeue_timeout=0.1,
            timers={"sweep": 1, "schedule": 1},
        )
        running = asyncio.create_task(worker.start())
    else:
        worker = arq.Worker(
            functions=[arq.func(hold, name="hold", timeout=HEARTBEAT)],
            redis_pool=pool,
            queue_name=name,
            poll_delay=0.05,
            handle_signals=False,
        )
        running = asyncio.create_task(worker.main())
    await asyncio.wait_for(done.wait(), 120)
    took = time.monotonic() - killed
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    return took


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--jobs", type=int, default=2_000)
    parser.add_argument("--victim", choices=["saq", "saq-store", "arq"])
    parser.add_argument("--queue")
    args = parser.parse_args()
    if args.victim:
        await victim(args.victim, args.redis, args.queue)
        return
    saq_version = importlib.import_module("saq").__version__
    arq_version = importlib.import_module("arq.version").VERSION
    print(f"saq {saq_version}, arq {arq_version}, {args.jobs} jobs, one at a time")
    enqueue, take = await saq_store_path(args.redis, args.jobs)
    print(f"saq  enqueue {enqueue:7.0f} µs/job   dequeue+ACTIVE+finish {take:7.0f} µs/job")
    drained = await saq_worker(args.redis, args.jobs)
    print(f"saq  Worker drains no-op jobs        {drained:7.0f} µs/job")
    enqueue, drained = await arq_paths(args.redis, args.jobs)
    print(f"arq  enqueue {enqueue:7.0f} µs/job")
    print(f"arq  Worker drains no-op jobs        {drained:7.0f} µs/job")
    runs = [
        ("saq", True, f"heartbeat {HEARTBEAT}s, swept as the import store does: every 1s"),
        ("saq", False, f"heartbeat {HEARTBEAT}s, saq Worker's own sweep: 60s lock"),
        ("arq", False, f"job timeout {HEARTBEAT}s, and the 10s arq adds"),
    ]
    for kind, store_sweep, what in runs:
        took = await rescue(kind, args.redis, store_sweep)
        print(f"{kind}  SIGKILLed worker's job run elsewhere after {took:5.1f} s ({what})")


if __name__ == "__main__":
    asyncio.run(main())
