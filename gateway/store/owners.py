"""Which gateway processes of this host are alive, told by the operating system, not a timer.

Each process that takes import work holds an exclusive `flock` on a file of its own,
`<data_dir>/owners/<token>.lock`, for as long as it runs. The kernel drops the lock when the
process ends, however it ends (SIGKILL included). So another process tells whether a lease's
owner still runs by trying to take the owner's lock: it can only if the owner is gone. Unlike a
lease that expires after a while, this never hands a chunk to a second process while the first
still works on it, and a restarted gateway resumes at once instead of waiting for a timeout.
It holds across PID namespaces (containers sharing a data_dir on one kernel), and PIDs being
reused does not fool it. It needs a local file system (as SQLite does).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path

__all__ = ["OwnerLock"]

OWNERS_DIR = "owners"


class OwnerLock:
    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.directory = Path(data_dir) / OWNERS_DIR
        self.token = secrets.token_hex(12)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Hold this process' lock from now on (blocking I/O: call it from a thread)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(self.token), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self._path(self.token).unlink()
        os.close(self._fd)
        self._fd = None

    def alive(self, token: str) -> bool:
        """Whether the process that holds `token` still runs (blocking I/O)."""
        if token == self.token:
            return self._fd is not None
        if not _is_token(token):
            return False
        path = self._path(token)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False  # released on a clean shutdown, or never made
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the lock we may have taken
        with contextlib.suppress(OSError):
            path.unlink()  # the owner is gone: tidy its file
        return False

    def _path(self, token: str) -> Path:
        return self.directory / f"{token}.lock"


def _is_token(token: str) -> bool:
    return len(token) == 24 and all(c in "0123456789abcdef" for c in token)
