"""review40d: attack40's join ids (8 random bytes from ``secrets`` and 8 of
an HMAC of them and the code under the cluster's shared key, compared with
``hmac.compare_digest``), against someone who saw one on the wire (the
relay protocol is not encrypted: RELAY_INCOMING and the host's data
connection carry it in the clear).

Outcome (real relays, real redis-server): a join id replayed after its
pair was made is refused "no such pending viewer" at the relay that made
it, and, at another relay of the cluster, redirected to it (the MAC has no
expiry: a join id seen once stays a ticket to ask where its code lives,
which whoever saw it on the wire knew already); moved to another code, or
with one bit of its MAC or its nonce flipped, it is refused like a made-up
one ("no such pending viewer"): the MAC binds the code and the nonce.
"""

from __future__ import annotations

import asyncio

from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    encode_open,
)
from screencodec.transport.relay.protocol import RELAY_REDIRECT

from .cluster import RedisServer, relays, run

UNKNOWN = (RefuseCode.UNKNOWN_SESSION, b"no such pending viewer")


async def _open(port: int, role: int, code: str, token: bytes,
                ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_open(role, code, token))
    return reader, writer


async def _as_data(port: int, code: str, join_id: bytes) -> tuple[int, bytes]:
    reader, writer = await _open(port, ROLE_HOST_DATA, code, join_id)
    try:
        ftype, body = await read_frame(reader, 1024)
        return (body[0], body[1:]) if ftype == FrameType.REFUSE else (ftype, body)
    finally:
        writer.close()


def _flip(join_id: bytes, at: int) -> bytes:
    return join_id[:at] + bytes([join_id[at] ^ 1]) + join_id[at + 1:]


def test_a_join_id_seen_on_the_wire_opens_nothing_and_binds_its_code(
        redis_server: RedisServer) -> None:
    async def main() -> None:
        async with relays(redis_server, 2) as (a, b):
            code, other = "246246246", "135135135"
            opened = [await _open(a.port, ROLE_HOST_CONTROL, c, bytes([n]) * 16)
                      for n, c in ((1, code), (2, other))]
            try:
                for reader, _ in opened:
                    assert (await read_frame(reader, 1024))[0] == FrameType.RELAY_OK
                viewer = await _open(a.port, ROLE_VIEWER, code, bytes(16))
                opened.append(viewer)
                ftype, body = await read_frame(opened[0][0], 1024)
                assert ftype == FrameType.RELAY_INCOMING
                join_id = body[:16]
                data = await _open(a.port, ROLE_HOST_DATA, code, join_id)
                opened.append(data)
                assert (await read_frame(data[0], 1024))[0] == FrameType.RELAY_OK
                assert (await read_frame(viewer[0], 1024))[0] == FrameType.RELAY_OK
                # Replayed once its pair is made: nothing pending to take.
                assert await _as_data(a.port, code, join_id) == UNKNOWN
                # At another relay: sent to the one holding its code, no more.
                assert await _as_data(b.port, code, join_id) == (
                    RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                # Moved to another live code, or altered by one bit: refused.
                assert await _as_data(b.port, other, join_id) == UNKNOWN
                for at in (0, 7, 8, 15):
                    assert await _as_data(b.port, code, _flip(join_id, at)) == UNKNOWN
            finally:
                for _, writer in opened:
                    writer.close()

    run(main())
