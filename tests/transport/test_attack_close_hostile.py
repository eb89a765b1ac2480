"""Attacks on the orderly close by a hostile peer.

While our close lingers (reading on, discarding, until the peer ends) the
peer keeps sending garbage or valid records, never closes, sends its close
record and goes on sending, stops reading and floods, or stops in the middle
of a record. Our close must stay within ``linger`` + 1 s and deliver nothing
from the moment it was called. The peer is the host end of a real pair,
driven below its API (its sealer and socket), on asyncio and uvloop.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

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


def valid_record(peer: SecureChannel, body: bytes = b"after your close") -> None:
    peer._write_record(FrameType.RECORD_DATA, body)


def garbage(peer: SecureChannel) -> None:
    peer._writer.write(os.urandom(3000))


async def keep_sending(peer: SecureChannel, send: Callable[[SecureChannel], None],
                       started: asyncio.Event) -> None:
    """Send until the line breaks (our close ends it), ignoring the peer's own
    state: a hostile peer does not honour a close."""
    try:
        while True:
            send(peer)
            started.set()
            await peer._writer.drain()
            await asyncio.sleep(0.002)
    except Exception:  # the line is gone: the attack is over
        return


async def close_under_attack(viewer: SecureChannel, host: SecureChannel,
                             send: Callable[[SecureChannel], None] | None) -> None:
    """Close the viewer while a recv waits; from the moment close() was
    called the host sends with ``send`` until the line breaks. Checks the
    bound and that nothing was delivered."""
    sock = socket_of(viewer)
    reading = asyncio.ensure_future(viewer.recv())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    closing = asyncio.ensure_future(viewer.close())
    await asyncio.sleep(0)
    assert viewer.closed
    started = asyncio.Event()
    attack = asyncio.ensure_future(keep_sending(host, send, started) if send else asyncio.sleep(0))
    await asyncio.wait_for(closing, BOUND + 2)
    assert loop.time() - start <= BOUND
    with pytest.raises(SessionClosedError):  # not a message the attack sent
        await asyncio.wait_for(reading, 1)
    with pytest.raises(SessionClosedError):
        await viewer.recv()
    assert_finished(viewer, sock)
    await asyncio.wait_for(attack, 2)
    assert started.is_set() or send is None


def attack_test(send: Callable[[SecureChannel], None] | None, loop_kind: str,
                prepare: Callable[[SecureChannel], None] | None = None) -> None:
    async def main() -> None:
        async with direct_pair(timeouts=HOSTILE) as (viewer, host, _):
            if prepare is not None:
                prepare(host)
            await close_under_attack(viewer, host, send)

    run(main(), loop_kind=loop_kind)


@both_loops
def test_a_peer_that_never_reads_nor_closes_ends_our_close_after_the_quiet(
    loop_kind: str,
) -> None:
    attack_test(None, loop_kind)


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


@both_loops
def test_a_peer_sending_valid_records_through_our_linger_is_cut_at_linger(
    loop_kind: str,
) -> None:
    attack_test(valid_record, loop_kind)


@both_loops
def test_a_peer_sending_garbage_through_our_linger_is_cut_at_linger(loop_kind: str) -> None:
    attack_test(garbage, loop_kind)


@both_loops
def test_a_peer_that_says_close_and_keeps_sending_is_cut_at_linger(loop_kind: str) -> None:
    said = False

    def close_then_data(host: SecureChannel) -> None:
        nonlocal said
        if not said:
            host._write_record(FrameType.RECORD_CLOSE, b"bye (not really)")
            said = True
        valid_record(host)

    attack_test(close_then_data, loop_kind)


@both_loops
def test_a_peer_that_stops_reading_and_floods_is_cut_at_linger(loop_kind: str) -> None:
    """The peer shuts its receiving half (our close record and FIN go
    nowhere) and floods us with valid records."""

    def stop_reading(host: SecureChannel) -> None:
        fd = host._writer.transport.get_extra_info("socket").fileno()
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RD)
        finally:
            sock.close()

    attack_test(valid_record, loop_kind, stop_reading)


