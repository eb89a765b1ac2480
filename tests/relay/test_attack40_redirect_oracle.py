"""Someone enumerating session codes at a relay cluster (a code and a guessed
password are a way in; the join limit, 20 a minute per address across the
cluster, is what makes trying codes slow).

A join is counted where it is decided, never at a relay that only redirects
it (docs/relay.md). Found: so a relay redirected a join even from an address
past its join limit: past the limit, every code tried at a relay that does
not hold it answered RELAY_REDIRECT if another relay of the cluster held it
and RATE_LIMITED if nobody did, an oracle of which codes are live, unlimited
(measured past the limit: a live code redirected 100 of 100 tries, free
codes refused 100 of 100, 200 tries in 0.13 s from one address).
Expected: an address past its join limit is refused RATE_LIMITED at the
redirecting relay too, unless it names the pair tag of
the registration that holds the code (an agent coming back, whose joins
count against its joins back to it, ``rejoins_per_minute``): the agent is
still redirected, and pairs.

Real relays sharing a real redis-server, a real host registration on
loopback; the prober from 127.0.0.3, the agent from 127.0.0.4.
"""

from __future__ import annotations

import asyncio

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    RelayLimits,
    encode_open,
)
from screencodec.transport.relay.protocol import RELAY_REDIRECT, parse_viewer_ok

from .cluster import RedisServer, relays, run

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


async def _join(port: int, code: str, source: str, tag: bytes = bytes(16)) -> tuple[int, bytes]:
    """A viewer's opening frame from ``source``; (frame type or refusal
    code, the rest of the answer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(encode_open(ROLE_VIEWER, code, tag))
        ftype, body = await read_frame(reader, 1024)
        return (body[0], body[1:]) if ftype == FrameType.REFUSE else (ftype, body)
    finally:
        writer.close()


def test_an_address_past_its_join_limit_learns_nothing_from_redirects() -> None:
    limits = RelayLimits(joins_per_minute=3)

    async def main(redis: RedisServer) -> None:
        async with relays(redis, 2, limits) as (a, b):
            creds = SessionCredentials()
            async with await host_via_relay("127.0.0.1", a.port, creds, lambda ch: None,
                                            timeouts=FAST) as reg:
                await reg.wait_registered(5)
                # The agent pairs once at the host's relay: it learns its pair tag.
                got, body = await _join(a.port, creds.code, "127.0.0.4")
                assert got == FrameType.RELAY_OK
                tag, _ = parse_viewer_ok(body)
                assert tag is not None
                # The prober spends its joins on codes nobody holds ...
                free = [f"{900_000_000 + i}" for i in range(4)]
                answers = [(await _join(b.port, code, "127.0.0.3"))[0] for code in free]
                assert answers[:3] == [RefuseCode.UNKNOWN_SESSION] * 3
                assert answers[3] == RefuseCode.RATE_LIMITED
                # ... and past its limit the live code looks like any other.
                live, _ = await _join(b.port, creds.code, "127.0.0.3")
                assert live != RELAY_REDIRECT
                assert live == RefuseCode.RATE_LIMITED  # as a free code is
                # The agent, past its own address's limit, names its tag: redirected.
                for code in free:
                    await _join(b.port, code, "127.0.0.4")
                got, body = await _join(b.port, creds.code, "127.0.0.4", tag)
                assert (got, body) == (RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                got, _ = await _join(a.port, creds.code, "127.0.0.4", tag)
                assert got == FrameType.RELAY_OK

    server = RedisServer()
    server.start()
    try:
        run(main(server), timeout=30)
    finally:
        server.stop()


async def _open_raw(port: int, role: int, code: str, token: bytes,
                    source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(encode_open(role, code, token))
    return reader, writer


def test_a_host_data_connection_is_redirected_only_for_a_join_the_cluster_made() -> None:
    """The same oracle through the host's data role (3), which no join limit
    counts: a data connection naming any join id for a code that another
    relay held was redirected, for a free code refused "no such pending
    viewer" (found: unlimited, from any address). Expected: a relay
    redirects a data connection only for a join id a relay of its cluster
    made for that code (a MAC under the cluster's shared key); anything else
    is told "no such pending viewer", as at a free code. The host's real
    data connection, landing at a relay that does not hold its code (a
    balancer), is still redirected and paired."""

    async def main(redis: RedisServer) -> None:
        async with relays(redis, 2) as (a, b):
            code = "123123123"
            control = await _open_raw(a.port, ROLE_HOST_CONTROL, code, bytes(range(16)))
            viewer = None
            opened = [control]
            try:
                assert (await read_frame(control[0], 1024))[0] == FrameType.RELAY_OK
                for guess in (bytes(16), bytes(range(16))):  # any id, a live and a free code
                    for probe in (code, "999999999"):
                        got = await _join_as_data(b.port, probe, guess)
                        assert got == (RefuseCode.UNKNOWN_SESSION, b"no such pending viewer")
                viewer = await _open_raw(a.port, ROLE_VIEWER, code, bytes(16), "127.0.0.4")
                opened.append(viewer)
                ftype, body = await read_frame(control[0], 1024)
                assert ftype == FrameType.RELAY_INCOMING
                join_id = body[:16]
                # The host's data connection reached the other relay: sent on, paired.
                got = await _join_as_data(b.port, code, join_id)
                assert got == (RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                data = await _open_raw(a.port, ROLE_HOST_DATA, code, join_id)
                opened.append(data)
                assert (await read_frame(data[0], 1024))[0] == FrameType.RELAY_OK
                assert (await read_frame(viewer[0], 1024))[0] == FrameType.RELAY_OK
            finally:
                for _, writer in opened:
                    writer.close()

    server = RedisServer()
    server.start()
    try:
        run(main(server), timeout=30)
    finally:
        server.stop()


async def _join_as_data(port: int, code: str, join_id: bytes) -> tuple[int, bytes]:
    reader, writer = await _open_raw(port, ROLE_HOST_DATA, code, join_id, "127.0.0.3")
    try:
        ftype, body = await read_frame(reader, 1024)
        return (body[0], body[1:].decode().encode()) if ftype == FrameType.REFUSE else (
            ftype, body)
    finally:
        writer.close()
