"""An orderly close loses nothing the closer said last, even to a peer that
was still sending.

A socket closed with unread data makes TCP reset the connection. A peer whose
next write meets that reset has its transport torn down by asyncio, and the
records it had not read yet (the closer's goodbye) are lost with it. These
tests stage exactly that order: the peer's loop is blocked while the closer
says goodbye and closes, then the peer writes before it reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.relay import Relay

from .secure_fixtures import FAST, direct_pair, run
from .test_relay import hosted


async def _busy_peer(closer: SecureChannel, peer: SecureChannel) -> None:
    await asyncio.sleep(0.1)  # the close runs as far as it can without the peer
    time.sleep(0.1)  # the peer's loop is busy: goodbye, close (and a reset) arrive unread


async def _goodbye_then_peer_writes_first(
    closer: SecureChannel,
    peer: SecureChannel,
    meanwhile: Callable[[SecureChannel, SecureChannel], Awaitable[None]] = _busy_peer,
) -> None:
    # Unread data at the closer: closing would reset the connection.
    await peer.send(b"update" * 1000)
    await closer.send(b"bye")
    closing = asyncio.ensure_future(closer.close("done here"))
    await meanwhile(closer, peer)
    await peer.send(b"one more update")  # written before the peer reads anything
    assert await peer.recv() == b"bye"
    with pytest.raises(SessionClosedError, match="closed by peer: done here"):
        await peer.recv()
    await peer.close()
    await asyncio.wait_for(closing, 5)


@pytest.mark.parametrize("closer_side", ["viewer", "host"])
def test_a_goodbye_reaches_a_peer_that_writes_before_it_reads(closer_side: str) -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            closer, peer = (viewer, host) if closer_side == "viewer" else (host, viewer)
            await _goodbye_then_peer_writes_first(closer, peer)

    run(main())


@pytest.mark.parametrize("closer_side", ["viewer", "host"])
def test_a_goodbye_through_a_relay_reaches_a_peer_that_writes_before_it_reads(
    closer_side: str,
) -> None:
    """The relay passes the closer's end on after its data and keeps the
    other direction open, instead of closing both (a reset for the peer)."""

    async def main() -> None:
        creds = SessionCredentials()
        async with Relay() as relay, hosted(relay, creds) as (_, accepted):
            viewer = await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                             creds.password, timeouts=FAST)
            host = await asyncio.wait_for(accepted.get(), 5)
            closer, peer = (viewer, host) if closer_side == "viewer" else (host, viewer)
            await _goodbye_then_peer_writes_first(closer, peer)

    run(main())


def test_the_closer_delivers_nothing_after_close_while_it_lingers() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            reading = asyncio.ensure_future(viewer.recv())
            await asyncio.sleep(0)
            closing = asyncio.ensure_future(viewer.close())
            await asyncio.sleep(0.05)
            await host.send(b"sent after the viewer closed")
            with pytest.raises(SessionClosedError):
                await reading
            with pytest.raises(SessionClosedError):
                await viewer.recv()
            with pytest.raises(SessionClosedError, match="closed by peer"):
                await host.recv()
            await host.close()
            await asyncio.wait_for(closing, 5)

    run(main())


def test_a_peer_that_never_answers_holds_the_close_only_briefly() -> None:
    """A peer that keeps sending and never reads: the close gives up after
    ``timeouts.linger`` instead of waiting for it, and a second close waits
    for the first."""

    async def main() -> None:
        timeouts = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None,
                            linger=0.3)
        async with direct_pair(timeouts=timeouts) as (viewer, host, _):
            flooding = asyncio.Event()

            async def flood() -> None:
                while True:
                    await host.send(b"x" * 1000)
                    flooding.set()
                    await asyncio.sleep(0.01)

            flooder = asyncio.ensure_future(flood())
            await flooding.wait()
            first = asyncio.ensure_future(viewer.close())
            second = asyncio.ensure_future(viewer.close())
            await asyncio.wait_for(asyncio.gather(first, second), 5)
            assert first.done() and second.done()
            assert viewer.closed
            flooder.cancel()
            await asyncio.gather(flooder, return_exceptions=True)

    run(main())


def test_without_linger_a_close_is_immediate() -> None:
    async def main() -> None:
        timeouts = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None,
                            linger=None)
        async with direct_pair(timeouts=timeouts) as (viewer, host, _):
            await viewer.close()
            with pytest.raises(SessionClosedError, match="closed by peer"):
                await host.recv()

    run(main())


assert FAST.linger is not None  # the fixtures' channels linger like real ones


@pytest.mark.parametrize("closer_side", ["viewer", "host"])
def test_a_goodbye_reaches_a_peer_that_was_sending_then_stalled(closer_side: str) -> None:
    """The peer sends while the closer lingers, then goes quiet for longer
    than the close's quiet spell (a stalled process on a loaded machine), then
    writes before it reads. The closer must not take the stall for the end:
    the peer's write would meet a reset and lose the goodbye."""

    async def sending_then_stalled(closer: SecureChannel, peer: SecureChannel) -> None:
        await asyncio.sleep(0.05)
        await peer.send(b"an update sent as the close lingers")
        await asyncio.sleep(0.6)  # quiet for over twice the quiet spell

    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            closer, peer = (viewer, host) if closer_side == "viewer" else (host, viewer)
            await _goodbye_then_peer_writes_first(closer, peer, sending_then_stalled)

    run(main())
