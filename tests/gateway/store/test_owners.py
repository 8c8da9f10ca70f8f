"""OwnerLock: a process is alive exactly while it runs, SIGKILL included, as another process
sees it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from gateway.store.owners import OwnerLock

HOLDER = """
import sys, time
from gateway.store.owners import OwnerLock
owner = OwnerLock(sys.argv[1])
owner.acquire()
print(owner.token, flush=True)
time.sleep(60)
"""


def test_a_process_is_alive_while_it_runs_and_dead_once_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        token = holder.stdout.readline().strip()
        me = OwnerLock(tmp_path)
        me.acquire()
        assert me.alive(token)
        assert me.alive(token)  # asking does not take its lock away

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)

        assert not me.alive(token)
        assert not (tmp_path / "owners" / f"{token}.lock").exists()  # tidied
        assert me.alive(me.token)
        me.release()
        assert not me.alive(me.token)
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_released_or_unknown_token_is_not_alive(tmp_path: Path) -> None:
    first, second = OwnerLock(tmp_path), OwnerLock(tmp_path)
    first.acquire()
    second.acquire()
    assert second.alive(first.token)
    first.release()  # a clean shutdown
    assert not second.alive(first.token)
    assert not second.alive("0" * 24)
    assert not second.alive("../../etc/passwd")
    second.release()
