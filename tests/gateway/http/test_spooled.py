"""A keyed upload's fingerprint, taken piece by piece as it is spooled, is the one the whole
body gives, wherever the pieces cut its boundary."""

from __future__ import annotations

from starlette.types import Message

from gateway.http.keyed_request import fingerprint_of
from gateway.http.spooled import SpooledBody

BOUNDARY = b"----WebKitFormBoundaryAbCdEf"
BODY = (
    b"--" + BOUNDARY + b'\r\ncontent-disposition: form-data; name="operations"\r\n\r\n{}\r\n'
    b"--"
    + BOUNDARY
    + b'\r\ncontent-disposition: form-data; name="0"; filename="a.csv"\r\n\r\n'
    + b"phone\n+14155552671\n" * 50
    + b"\r\n--"
    + BOUNDARY
    + b"--\r\n"
)
SCOPE = {
    "type": "http",
    "headers": [(b"content-type", b"multipart/form-data; boundary=" + BOUNDARY)],
}


async def test_the_streamed_digest_is_the_whole_bodys_wherever_it_is_cut() -> None:
    whole = fingerprint_of(SCOPE, BODY)
    for size in (1, 7, len(BOUNDARY) - 1, len(BOUNDARY), 64, len(BODY)):
        pieces = [BODY[i : i + size] for i in range(0, len(BODY), size)]
        messages: list[Message] = [
            {"type": "http.request", "body": p, "more_body": n < len(pieces) - 1}
            for n, p in enumerate(pieces)
        ]

        async def receive(queue: list[Message] = messages) -> Message:
            return queue.pop(0)

        spooled = await SpooledBody.read(receive, BOUNDARY)
        assert spooled is not None
        assert spooled.digest == whole, size
        replayed = spooled.replay(receive)
        again = b""
        while True:
            message = await replayed()
            again += message["body"]
            if not message["more_body"]:
                break
        assert again == BODY
        spooled.close()


async def test_a_new_boundary_is_the_same_request() -> None:
    other = b"xyz123"
    body = BODY.replace(BOUNDARY, other)
    scope = {
        "type": "http",
        "headers": [(b"content-type", b"multipart/form-data; boundary=xyz123")],
    }
    assert fingerprint_of(scope, body) == fingerprint_of(SCOPE, BODY)
