"""review43 attack on flowa43's SocketBound (session/receipt_bound.py): the
host's send loop now waits while bytes wait unsent in its own socket. A
viewer that stops reading (its transport paused: a hung page, a stopped
process's kernel still acking keys it sends) while the screen changes.

Expected: the viewer's keys still reach the host's injector while it does
not read (input is the other direction: never held by our socket's bytes);
once it reads again, updates come again (the send loop is not stuck in a
wait on a drain rate timed as 0); the end (Host.disconnect) is bounded.
A real Host and Viewer on loopback."""

from __future__ import annotations

import asyncio
from socket import SO_RCVBUF, SO_SNDBUF, SOL_SOCKET

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import Host, HostConfig, allow
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session.receipt_bound import KernelState, kernel_state

from .secure_fixtures import FAST, connect_controlled, run


def test_review43_a_viewer_that_stops_reading_still_types_and_recovers() -> None:
    async def main() -> tuple[list[tuple[object, ...]], int, int, tuple[KernelState | None, int]]:
        injector = RecordingInjector()
        host = Host(SyntheticDesktop(1280, 720, scenario="drag", seed=3), consent=allow(),
                    injector=injector, config=HostConfig())  # fmt: skip
        viewer, serve, listener = await connect_controlled(host, timeouts=FAST)
        link = next(iter(host._runtime.serving))
        running = asyncio.ensure_future(viewer.run())
        loop = asyncio.get_running_loop()
        try:
            end = loop.time() + 20
            while viewer.last_seq < 5:
                assert loop.time() < end, "no updates before the stall"
                await asyncio.sleep(0.05)
            transport = viewer.channel.transport
            # Small buffers both ends (a slow path's): what the window lets
            # go waits in the host's socket, where SocketBound looks.
            transport.get_extra_info("socket").setsockopt(SOL_SOCKET, SO_RCVBUF, 4096)
            link.channel.transport.get_extra_info("socket").setsockopt(SOL_SOCKET, SO_SNDBUF, 4096)
            transport.pause_reading()  # type: ignore[attr-defined]
            # The host's sends pile up in its socket, then wait (liveness only:
            # 10 s ran out at load 12-15 with 210 kB unsent, fresh105).
            end = loop.time() + 30
            while not (link.stream.socket_bound.held
                       and (state := kernel_state(link.channel.transport))
                       and state.unsent > 4 * 1448):  # fmt: skip
                assert loop.time() < end, ("the host's socket never held bytes",
                                           kernel_state(link.channel.transport))  # fmt: skip
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            piled = (kernel_state(link.channel.transport), link.stream.socket_bound.held)
            before = viewer.last_seq
            for k in range(20):
                assert await viewer.key(0x61 + k, True, chr(0x61 + k))
                assert await viewer.key(0x61 + k, False)
            end = loop.time() + 10
            while sum(e[0] == "key" for e in injector.events) < 40:
                assert loop.time() < end, injector.events
                await asyncio.sleep(0.05)
            typed = list(injector.events)
            transport.resume_reading()  # type: ignore[attr-defined]
            end = loop.time() + 15
            while viewer.last_seq < before + 10:
                assert loop.time() < end, ("no updates after reading again",
                                           viewer.last_seq, before)  # fmt: skip
                await asyncio.sleep(0.05)
            after = viewer.last_seq
            started = loop.time()
            await asyncio.wait_for(host.disconnect(), 10)
            assert loop.time() - started <= (FAST.linger or 0) + 2.0
            await asyncio.wait_for(asyncio.gather(serve, running, return_exceptions=True), 10)
            return typed, before, after, piled
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await listener.close()
            await host.close()

    typed, before, after, piled = run(main(), timeout=90)
    keys = [e for e in typed if e[0] == "key"]
    assert keys[:2] == [("key", 0x61, True, "a"), ("key", 0x61, False, "")]
    assert len(keys) == 40 and keys[-2][1] == 0x61 + 19
    assert after >= before + 10
    state, held = piled
    assert state is not None and state.unsent > 4 * 1448, state  # the bound was engaged
    assert held > 0  # and it held the send loop's ticks
