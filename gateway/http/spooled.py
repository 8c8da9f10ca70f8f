"""A multipart request body held for the idempotency layer without holding it in memory.

A keyed upload must be fingerprinted before it runs, so its whole body is read first. It goes
to a temporary file (in memory up to `IN_MEMORY` bytes, on disk past that) while its digest is
taken, then is handed to the app again from the file. The digest is the one
`keyed_request.fingerprint_of` gives a whole multipart body: the body with its boundary
replaced, so a retry with a new random boundary is the same request.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from typing import IO

from starlette.types import Message, Receive

__all__ = ["SpooledBody"]

IN_MEMORY = 1024 * 1024
BLOCK = 1024 * 1024
PLACEHOLDER = b"BOUNDARY"


class SpooledBody:
    def __init__(self, file: IO[bytes], digest: str) -> None:
        self.file = file
        self.digest = digest

    @classmethod
    async def read(cls, receive: Receive, boundary: bytes | None) -> SpooledBody | None:
        """The whole body, spooled and hashed; None when the client left before sending it."""
        # Closed by close(), once the request it is replayed to has ended.
        file = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        hashed = _CanonicalHash(boundary)
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    file.close()
                    return None
                chunk = message.get("body", b"")
                if chunk:
                    hashed.update(chunk)
                    await asyncio.to_thread(file.write, chunk)
                if not message.get("more_body"):
                    break
        except BaseException:
            file.close()
            raise
        file.seek(0)
        return cls(file, hashed.hexdigest())

    def replay(self, receive: Receive) -> Receive:
        """`receive` again: the spooled body first, a block at a time."""
        done = False

        async def replayed() -> Message:
            nonlocal done
            if done:
                return await receive()
            block = await asyncio.to_thread(self.file.read, BLOCK)
            more = len(block) == BLOCK
            done = not more
            return {"type": "http.request", "body": block, "more_body": more}

        return replayed

    def close(self) -> None:
        self.file.close()


class _CanonicalHash:
    """SHA-256 of b"multipart\\n" + body.replace(boundary, PLACEHOLDER), fed in pieces: the
    tail that could begin a boundary waits for the next piece."""

    def __init__(self, boundary: bytes | None) -> None:
        self.boundary = boundary
        self.hash = hashlib.sha256(b"multipart\n")
        self.pending = b""

    def update(self, chunk: bytes) -> None:
        if not self.boundary:
            self.hash.update(chunk)
            return
        data = self.pending + chunk
        keep = len(self.boundary) - 1
        cut = len(data) - keep
        last = data.rfind(self.boundary)
        if last != -1:
            cut = max(cut, last + len(self.boundary))
        cut = max(cut, 0)
        self.hash.update(data[:cut].replace(self.boundary, PLACEHOLDER))
        self.pending = data[cut:]

    def hexdigest(self) -> str:
        tail = self.pending.replace(self.boundary, PLACEHOLDER) if self.boundary else self.pending
        self.hash.update(tail)
        self.pending = b""
        return self.hash.hexdigest()
