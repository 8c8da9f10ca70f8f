"""ASGI request bodies, read whole and handed on again: written once for the gateway's edge
(body limit, the GraphQL view) and the providers' simulators (fault injection)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import Message, Receive

__all__ = ["BodyTooLarge", "BodyTooSlow", "read_body", "replay"]


class BodyTooLarge(Exception):
    """The body grew past the limit; what was read so far is dropped."""


class BodyTooSlow(Exception):
    """The body did not arrive by its deadline; what was read so far is dropped."""


async def read_body(
    receive: Receive,
    limit: int | None = None,
    deadline: Callable[[int], float] | None = None,
) -> bytes | None:
    """The whole request body; None when the client left before sending all of it.

    `deadline(bytes received so far)` is the event-loop time by which the next chunk must
    have come, else BodyTooSlow.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline is None:
            message = await receive()
        else:
            try:
                async with asyncio.timeout_at(deadline(size)):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(size) from None
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` again, the body already read handed out first, in one message."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
