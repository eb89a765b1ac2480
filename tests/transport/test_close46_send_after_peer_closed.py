"""close46: a peer's orderly close is not lost to our own send's error.

Found in a fresh clone's ``make test`` at load 15-18 (walk46's record-folder
test): the agent's view said "the connection broke: Connection lost" where
the host had said "the host failed to start the session". The host's channel
closed with that reason (RECORD_CLOSE, its side shut, a quiet linger, then
closed); the viewer, starved, wrote its next message only after that. The
host's kernel answered with a reset, asyncio tore the viewer's transport down
(its StreamReader then raises the reset, before the bytes it holds), and
``send`` closed the channel as a broken line while the host's RECORD_CLOSE
sat unread in that buffer. Ordered here by events, not by sleeps racing
load: the host's close has completed and the viewer's reader holds its
bytes before the viewer writes.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.sealed import SecureChannel

from .secure_fixtures import FAST, both_loops, direct_pair, run

REASON = "the host failed to start the session"


async def _until_heard_end(viewer: SecureChannel) -> None:
    """Until the viewer's loop has read the host's last bytes and its end
    (nothing of the viewer's reads them: nobody calls recv)."""
    reader = viewer._reader
    while not reader.at_eof() and not (reader._eof or reader.exception()):  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)


async def _send_until_it_fails(viewer: SecureChannel) -> SessionClosedError:
    """Send until the host's reset reaches us: the first write goes into our
    kernel, the reset it draws fails a later one."""
    for n in range(200):
        try:
            await viewer.send(b"an update %d" % n)
        except SessionClosedError as exc:
            return exc
        await asyncio.sleep(0.01)
    raise AssertionError("sends went on after the host closed")


@both_loops
def test_a_send_after_the_peers_close_says_the_peers_reason(loop_kind: str) -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            # The host closes in order and lingers until it gives up on a
            # viewer that neither reads nor writes: its socket is closed.
            await asyncio.wait_for(host.close(REASON), 10)
            await asyncio.wait_for(_until_heard_end(viewer), 10)
            error = await _send_until_it_fails(viewer)
            # Found: "the connection broke: Connection lost" (asyncio) and a
            # link taken for lost (broken: resume would try again).
            assert str(error) == f"closed by peer: {REASON}"
            assert viewer.close_reason == f"closed by peer: {REASON}"
            assert not viewer.broken and not viewer.closed_here
            with pytest.raises(SessionClosedError, match=f"^closed by peer: {REASON}$"):
                await viewer.recv()

    run(main(), loop_kind=loop_kind)


@both_loops
def test_a_recv_after_a_keepalive_met_the_peers_reset_says_the_peers_reason(
    loop_kind: str,
) -> None:
    """The same race with the watchdog's write: a keepalive (written, never
    drained) draws the reset, and the next recv met the reader's reset
    ahead of the host's close record."""
    chatty = dataclasses.replace(FAST, keepalive=0.05)

    async def main() -> None:
        async with direct_pair(viewer_timeouts=chatty) as (viewer, host, _):
            await asyncio.wait_for(host.close(REASON), 10)
            reader = viewer._reader
            while reader.exception() is None:  # a keepalive met the host's reset
                await asyncio.sleep(0.01)
            # Found: "the connection broke: [Errno 32] Broken pipe" (both loops).
            with pytest.raises(SessionClosedError, match=f"^closed by peer: {REASON}$"):
                await asyncio.wait_for(viewer.recv(), 10)
            assert not viewer.broken and not viewer.closed_here

    run(main(), loop_kind=loop_kind)


@both_loops
def test_a_send_before_the_loop_read_the_peers_close_says_the_peers_reason(
    loop_kind: str,
) -> None:
    """The walk46 case under load: the viewer's loop had not even read the
    host's close from its socket (a long step: a handshake's CPU, imports)
    when it wrote twice (a send does not yield while the link takes its
    bytes): the second write failed, and asyncio closed the socket with the
    host's close record still in the kernel's receive queue."""

    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            viewer.transport.pause_reading()  # type: ignore[attr-defined]  # the loop reads nothing of it
            await asyncio.wait_for(host.close(REASON), 10)
            error = await _send_until_it_fails(viewer)
            # Found: "the connection broke: Connection lost" even with the
            # reader's buffer read (walk46 failed 1 of 6 runs at load 10-30).
            assert str(error) == f"closed by peer: {REASON}"
            assert not viewer.broken and not viewer.closed_here

    run(main(), loop_kind=loop_kind)


@both_loops
def test_what_a_reset_left_in_the_kernel_is_not_read_as_heard(loop_kind: str) -> None:
    """close46b: what our kernel still held when our write met the reset is
    looked through for the peer's close only. Found with it fed to the
    reader: a recv waiting on a paused transport (a silent link) read it,
    the host counted its agent heard after a silent release, and did not
    tell the words again when the agent resumed (input44's and keys44's
    resume tests, 2 of 2 runs)."""

    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            viewer.transport.pause_reading()  # type: ignore[attr-defined]  # a silent link
            heard = viewer.last_heard
            reading = asyncio.ensure_future(viewer.recv())
            await host.send(b"words the viewer never read")
            await asyncio.wait_for(host.close(REASON), 10)
            error = await _send_until_it_fails(viewer)
            assert str(error) == f"closed by peer: {REASON}"
            with pytest.raises(SessionClosedError, match=f"closed by peer: {REASON}"):
                await asyncio.wait_for(reading, 10)
            assert viewer.last_heard == heard

    run(main(), loop_kind=loop_kind)
