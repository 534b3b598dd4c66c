"""Fuzz of the streaming multipart reader: any body, cut anywhere, is read or refused
with a 4xx VitrinaError, never anything else."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitrina.api.multipart import read_file_field
from vitrina.errors import VitrinaError

BOUNDARY = b"xyzzy"
PIECES = st.sampled_from([
    b"--xyzzy\r\n", b"--xyzzy--\r\n", b"\r\n", b'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\n',
    b'Content-Disposition: form-data; name="other"\r\n', b"Content-Type: image/jpeg\r\n",
    b'Content-Disposition: form-data; name=file; filename*=UTF-8\'\'%ff\r\n', b"\xff\xd8\xff", b"data",
    b"--xyz", b"\r\n--xyzzy", b"\x00", b":", b";",
])
BODY = st.one_of(st.lists(PIECES, max_size=12).map(b"".join), st.binary(max_size=300))


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> None:
        self.data += chunk


async def _chunks(body: bytes, size: int):
    for i in range(0, len(body), size):
        yield body[i:i + size]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODY, st.integers(1, 64), st.sampled_from([BOUNDARY, b"a", b"-" * 70]))
def test_any_body_is_read_or_refused_with_a_4xx(body, chunk, boundary):
    try:
        name = asyncio.run(read_file_field(_chunks(body, chunk), boundary, Sink()))
    except VitrinaError as exc:
        assert 400 <= exc.status < 500, exc
        return
    assert name is None or isinstance(name, str)
