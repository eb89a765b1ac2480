"""Attacks on the orderly close by a hostile peer.

While our close lingers (reading on, discarding, until the peer ends) the
peer never reads nor closes, or stops in the middle of a record. Our close
must stay within ``linger`` + 1 s and deliver nothing from the moment it was
called. The peer is the host end of a real pair, driven below its API, on
asyncio and uvloop. (Peers that keep sending through our linger are not here
yet: on Python <= 3.11 a flood can hold the linger past its limit; see the
review-close report for the fix and those tests.)
"""

from __future__ import annotations

import asyncio

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.framing import HEADER, FrameType
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel

from .secure_fixtures import both_loops, direct_pair, run
from .test_attack_close_channel import assert_finished, socket_of

#: Short, so a peer that holds the linger open costs little test time.
HOSTILE = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None, linger=0.5)
BOUND = 0.5 + 1.0


async def close_silently(viewer: SecureChannel) -> None:
    """Close the viewer while a recv waits and the peer sends nothing; check
    the bound and that nothing was delivered."""
    sock = socket_of(viewer)
    reading = asyncio.ensure_future(viewer.recv())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.wait_for(viewer.close(), BOUND + 2)
    assert loop.time() - start <= BOUND
    with pytest.raises(SessionClosedError):
        await asyncio.wait_for(reading, 1)
    with pytest.raises(SessionClosedError):
        await viewer.recv()
    assert_finished(viewer, sock)


@both_loops
def test_a_peer_that_never_reads_nor_closes_ends_our_close_after_the_quiet(
    loop_kind: str,
) -> None:
    async def main() -> None:
        async with direct_pair(timeouts=HOSTILE) as (viewer, _host, _):
            await close_silently(viewer)

    run(main(), loop_kind=loop_kind)


@both_loops
def test_a_peer_that_stops_inside_a_record_cannot_hold_our_close(loop_kind: str) -> None:
    """A recv is inside a record whose rest never comes: it holds the lock
    the linger needs; the close still ends within the bound."""

    async def main() -> None:
        async with direct_pair(timeouts=HOSTILE) as (viewer, host, _):
            sock = socket_of(viewer)
            host._writer.write(HEADER.pack(1001, FrameType.RECORD_DATA) + b"\0" * 10)
            reading = asyncio.ensure_future(viewer.recv())
            await asyncio.sleep(0.05)
            assert viewer._pending_header is not None  # it is inside the body
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            await asyncio.wait_for(viewer.close(), BOUND + 2)
            assert loop.time() - t0 <= BOUND
            with pytest.raises(SessionClosedError):
                await reading
            assert_finished(viewer, sock)

    run(main(), loop_kind=loop_kind)
