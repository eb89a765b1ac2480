"""Attacks on a sealed channel's close after closeorder (review33b): the
last message written ahead of sends still waiting (close_with), a close
cancelled mid-wait, the send queue of a closed connection, and a peer that
reads slowly from a full receive buffer (its TCP shows no progress)."""

from __future__ import annotations

import asyncio
import time

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import STALL
from screencodec.transport.channel.sendqueue import queued

from .secure_fixtures import both_loops, direct_pair, run

_TIMEOUTS = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None, linger=2.0)
_CHUNK = 60_000  # a file chunk's size, about


def _numbered(i: int) -> bytes:
    return b"c" * (_CHUNK - 4) + i.to_bytes(4, "big")


@both_loops
def test_close_with_goes_after_what_was_handed_and_before_nothing_else(loop_kind: str) -> None:
    """200 chunks wait behind a viewer that stopped reading; the Bye is
    written then. The viewer, reading again, gets exactly the chunks whose
    send said they went (returned, or SessionClosedError handed=True), in
    order, then the Bye, then the close; the others raise handed=False."""

    async def main() -> None:
        async with direct_pair(timeouts=_TIMEOUTS) as (viewer, host, _):
            viewer._writer.transport.pause_reading()
            outcome: dict[int, str] = {}

            async def send(i: int) -> None:
                try:
                    await host.send(_numbered(i))
                    outcome[i] = "sent"
                except SessionClosedError as exc:
                    outcome[i] = "handed" if exc.handed else "not handed"

            sends = [asyncio.ensure_future(send(i)) for i in range(200)]
            loop = asyncio.get_running_loop()
            until = loop.time() + 5
            while host._writer.transport.get_write_buffer_size() == 0 and loop.time() < until:
                await asyncio.sleep(0.01)
            closing = asyncio.ensure_future(host.close_with(b"BYE"))
            await asyncio.sleep(0.05)
            viewer._writer.transport.resume_reading()
            got: list[int | str] = []

            async def read_to_the_end() -> None:
                while True:
                    message = await viewer.recv()
                    got.append("BYE" if message == b"BYE" else int.from_bytes(message[-4:], "big"))

            with pytest.raises(SessionClosedError, match="closed by peer"):
                await read_to_the_end()
            await asyncio.wait_for(closing, 15)
            await asyncio.gather(*sends)
            went = [i for i in range(200) if outcome[i] != "not handed"]
            assert 0 < len(went) < 200
            assert got == [*went, "BYE"]

    run(main(), timeout=30, loop_kind=loop_kind)


@both_loops
def test_a_close_cancelled_mid_wait_still_closes_and_a_second_close_returns(
        loop_kind: str) -> None:  # fmt: skip
    """Cancelled while it waits for a viewer that stopped reading, the close
    still ends closed (keys wiped, listeners told); a close after it returns
    at once and the send that was waiting raises SessionClosedError."""

    async def main() -> None:
        async with direct_pair(timeouts=_TIMEOUTS) as (viewer, host, _):
            viewer._writer.transport.pause_reading()
            told: list[str] = []
            host.add_close_listener(lambda ch: told.append(ch.close_reason))

            async def flood() -> None:
                while True:
                    await host.send(_numbered(0))

            flooding = asyncio.ensure_future(flood())
            await asyncio.sleep(0.5)
            closing = asyncio.ensure_future(host.close_with(b"BYE"))
            await asyncio.sleep(0.3)
            closing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await closing
            assert host.closed and told == ["closed locally"]
            # At once: done within the loop's next turn, before anything (a
            # wait on the stalled viewer: STALL, 1 s) could be waited for. Not
            # a clock bound (< 0.5 s), which a loaded machine can exceed.
            second = asyncio.ensure_future(host.close())
            await asyncio.sleep(0)
            assert second.done()
            await second
            with pytest.raises(SessionClosedError):
                await flooding
            viewer._writer.transport.resume_reading()

    run(main(), timeout=30, loop_kind=loop_kind)


@both_loops
def test_the_send_queue_of_a_closed_connection_is_a_number(loop_kind: str) -> None:
    async def main() -> None:
        async with direct_pair(timeouts=_TIMEOUTS) as (viewer, host, _):
            transport = host._writer.transport
            await host.close()
            assert host._writer.transport.is_closing()
            assert queued(transport) >= 0
            transport.abort()
            assert queued(transport) >= 0
            await viewer.close()

    run(main(), timeout=30, loop_kind=loop_kind)


# Not strict: fresh144 (a full run, 2 cores busy) saw it pass once. Whether
# the viewer's window stays shut past STALL depends on how far its kernel
# grew the receive buffer, which the load moves; the found case is the
# quiet machine's (8 runs of 8 here).
@pytest.mark.xfail(strict=False, reason=(
    "found: a viewer whose own reading is slow (120 KB/s, about 1 Mbit/s, "
    "from a full receive buffer) reads 'stream truncated inside a frame', "
    "the close aborted after STALL (1.0 s); its TCP advertises no window "
    "until about a 16th of its buffer is free (Linux; the buffer autotunes "
    "to megabytes), so the host sees no progress for seconds while the "
    "viewer reads. expected: the Bye (the close waits while the peer reads)"))
@both_loops
def test_a_viewer_reading_slowly_from_a_full_buffer_gets_the_bye(loop_kind: str) -> None:
    async def main() -> None:
        async with direct_pair(timeouts=_TIMEOUTS) as (viewer, host, _):
            closed = asyncio.Event()
            ends: list[str] = []

            async def read_slowly_until_closed_then_fast() -> None:
                try:
                    while True:
                        if await viewer.recv() == b"BYE":
                            ends.append("BYE")
                        if not closed.is_set():
                            await asyncio.sleep(0.5)  # 120 KB/s of 60 KB chunks
                except SessionClosedError as exc:
                    ends.append(str(exc))

            reading = asyncio.ensure_future(read_slowly_until_closed_then_fast())

            async def flood() -> None:
                while True:
                    await host.send(_numbered(0))

            flooding = asyncio.ensure_future(flood())
            await asyncio.sleep(3.0)  # the buffers fill: megabytes queued
            began = time.monotonic()
            await host.close_with(b"BYE")
            took = time.monotonic() - began
            closed.set()
            await asyncio.wait_for(reading, 20)
            await asyncio.gather(flooding, return_exceptions=True)
            assert ends == ["BYE", "closed by peer: closed locally"], (ends, took, STALL)

    run(main(), timeout=40, loop_kind=loop_kind)
