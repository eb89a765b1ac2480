"""Defects a review found attacking the orderly close, each fixed: a close on
a peer that stopped reading returns instead of raising CancelledError (it
came out of close_writer's second wait_closed), a blocked send does not stop
the close, and the relay counts a pair it cut after a half-close."""

from __future__ import annotations

import asyncio
import logging

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.framing import close_writer
from screencodec.transport.relay import splice as splice_module

from .secure_fixtures import both_loops, direct_pair, run
from .test_attack_close_channel import BOUND, assert_finished, socket_of, until
from .test_attack_close_relay import SHORT_HALF_CLOSE, read_to_end, relayed


@both_loops
def test_close_writer_on_a_peer_that_stopped_reading_returns_without_raising(
    loop_kind: str,
) -> None:
    """close_writer's first wait_for times out and cancels wait_closed, which
    cancels the protocol's shared close future; its second wait (after
    abort) then raises CancelledError, which `suppress(Exception)` lets out."""

    async def main() -> None:
        stalled = asyncio.Event()

        async def on(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await stalled.wait()  # never reads
            w.close()

        server = await asyncio.start_server(on, "127.0.0.1", 0)
        _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        while writer.transport.get_write_buffer_size() < 1 << 20:
            writer.write(b"x" * (1 << 20))
            await asyncio.sleep(0.01)
        await close_writer(writer, 0.2)  # raises CancelledError today
        assert writer.transport.is_closing()
        stalled.set()
        server.close()
        await server.wait_closed()

    run(main(), loop_kind=loop_kind)


@both_loops
def test_close_while_a_send_is_blocked_on_a_full_buffer_finishes_in_bound(loop_kind: str) -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, _host, _):
            sock = socket_of(viewer)

            async def flood() -> None:
                while True:
                    await viewer.send(b"p" * 60_000)

            sending = asyncio.ensure_future(flood())
            await until(lambda: viewer._writer.transport.get_write_buffer_size() > 64_000)
            assert not sending.done()
            loop = asyncio.get_running_loop()
            start = loop.time()
            await asyncio.wait_for(viewer.close(), BOUND + 2)  # raises CancelledError today
            assert loop.time() - start <= BOUND
            with pytest.raises(SessionClosedError):
                await asyncio.wait_for(sending, 2)
            assert_finished(viewer, sock)

    run(main(), loop_kind=loop_kind)


@both_loops
def test_the_relay_counts_a_pair_cut_after_a_half_close(
    loop_kind: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """Cut at the half-close limit: today logged as why=closed, like a clean
    end of both sides, and counted nowhere."""
    monkeypatch.setattr(splice_module, "_HALF_CLOSED_FOR", SHORT_HALF_CLOSE)

    async def main() -> None:
        async with relayed() as (relay, [(viewer, host)]):
            viewer._writer.write_eof()
            await asyncio.wait_for(read_to_end(viewer), 5)
            await until(lambda: relay.pairs == 0)
            assert getattr(relay.stats, "half_closed_cuts", 0) == 1
            assert any("event=pair_end" in r.getMessage() and "why=half-closed" in r.getMessage()
                       for r in caplog.records)
            await asyncio.gather(viewer.close(), host.close())

    with caplog.at_level(logging.INFO):
        run(main(), loop_kind=loop_kind)
