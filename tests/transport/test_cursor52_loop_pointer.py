"""The host reads the pointer on its event loop (cursor52), a real Xvfb under
it: each poll was a hop to a capture worker and back, 60 a second per
viewer. Its position and shape still reach a real viewer, a move after
stillness still shows within a bound, and a server that stops answering or
dies still ends the capture as it did (transport/session/pointer_read.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from screencodec.capture.xvfb import private_xvfb
from screencodec.errors import CaptureError
from screencodec.transport import Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.screens import CaptureHub

from .test_xstop_hub import STOPPED_WITHIN, hub_on, stop_server
from .test_xtest_dead_server import _doomed_xvfb, _kill

pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")

#: How soon a move after stillness must show at the viewer (s): the bench
#: measures 10-20 ms on an idle machine (benchmarks/test_bench_idle.py);
#: this bound leaves room for a loaded one.
SHOWN_WITHIN = 1.0


async def _seen_at(viewer: Viewer, x: int, y: int, within: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < within:
        at = viewer.cursor
        if at is not None and (at.x, at.y) == (x, y):
            return time.monotonic() - started
        await asyncio.sleep(0.002)
    return None


def test_the_pointer_read_on_the_loop_reaches_the_viewer_after_stillness() -> None:
    """A real Host on ScreenSource and a Viewer over the sealed transport:
    the pointer's shape and place reach the viewer, the hub reads it on the
    loop (no worker hop: its LoopPointer answers), and moves made after
    2 s and 0.5 s of stillness each show within SHOWN_WITHIN."""
    with private_xvfb(640, 480) as display:
        env = {**os.environ, "DISPLAY": display}
        subprocess.run(["xdotool", "mousemove", "10", "20"], env=env, check=True)

        async def main() -> tuple[list[float | None], Any, int]:
            from screencodec.capture import ScreenSource

            host = Host(lambda i: ScreenSource(i, display=display), consent=allow())
            creds = SessionCredentials()
            lags: list[float | None] = []
            async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
                channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                               creds.password)  # fmt: skip
                viewer = Viewer(channel)
                await viewer.start()
                task = asyncio.ensure_future(viewer.run())
                assert await _seen_at(viewer, 10, 20, 10) is not None
                first = viewer.cursor
                hub: CaptureHub = host._runtime.hub
                pointer = hub._screens[1].pointer
                for n, still in enumerate((2.0, 0.5, 0.5, 0.5)):
                    await asyncio.sleep(still)
                    x, y = 100 + 50 * n, 80 + 30 * n
                    await (await asyncio.create_subprocess_exec(
                        "xdotool", "mousemove", str(x), str(y), env=env)).wait()  # fmt: skip
                    lags.append(await _seen_at(viewer, x, y, SHOWN_WITHIN))
                reads = 0 if pointer is None else pointer.reads
                await viewer.bye()
                await task
            await host.close()
            return lags, first, reads

        lags, first, reads = asyncio.run(main())
    assert first.visible and first.image is not None and first.image.shape[2] == 4, first
    assert reads > 100, "the pointer was not read on the loop"  # 60 a second for over 3 s
    assert None not in lags, lags


def _on_a_thread(main: Any) -> None:
    """``asyncio.run(main)`` on a thread of its own: a loop that never ends
    fails the test instead of hanging it."""
    thread = threading.Thread(target=asyncio.run, args=(main,), daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "asyncio.run did not end"


def test_a_pointer_read_the_server_never_answers_fails_and_the_loop_stays_free() -> None:
    """Stopped (SIGSTOP) after reads on the loop: the next read fails after
    ``answer_within`` with the hub's CaptureError, the loop turning all the
    while; the monitor then fails its pointer reads and grabs at once, and
    closing the hub does not wait for the server."""
    with _doomed_xvfb() as (display, pid):
        hub, _ = hub_on(display)
        outcome: dict[str, Any] = {}

        async def main() -> None:
            hub.acquire(1)
            for _ in range(3):  # the first on a worker (it connects), then on the loop
                assert await hub.cursor(1) is not None
                await asyncio.sleep(0.01)
            assert hub._screens[1].pointer is not None
            turns = 0

            async def turning() -> None:
                nonlocal turns
                while True:
                    await asyncio.sleep(0.01)
                    turns += 1

            ticker = asyncio.ensure_future(turning())
            stop_server(hub, pid)
            started = time.monotonic()
            with pytest.raises(CaptureError) as first:
                await hub.cursor(1)
            outcome["waited"] = time.monotonic() - started
            outcome["turns"] = turns
            outcome["said"] = str(first.value)
            ticker.cancel()
            started = time.monotonic()
            for call in (hub.cursor(1), hub.grab_then(1, lambda f, o: None)):
                with pytest.raises(CaptureError):
                    await call
            hub.close()
            outcome["after"] = time.monotonic() - started

        try:
            _on_a_thread(main())
        finally:
            os.kill(pid, signal.SIGCONT)
    assert outcome["said"] == f"the screen did not answer within {STOPPED_WITHIN:g} s"
    assert STOPPED_WITHIN <= outcome["waited"] < 10, outcome
    # 10 ms turns over 0.5 s: a loop held by the read would turn none.
    assert outcome["turns"] >= 10, outcome
    assert outcome["after"] < 0.4, outcome


def test_a_server_that_dies_loses_the_pointer_and_the_grab_fails() -> None:
    """Killed after reads on the loop: the pointer reads answer None at
    once from then on (as ScreenSource.cursor gives up), and the grab fails
    with a CaptureError: the session's end, as before."""
    with _doomed_xvfb() as (display, pid):
        hub, _ = hub_on(display)
        outcome: dict[str, Any] = {}

        async def main() -> None:
            hub.acquire(1)
            # A grab first: its damage tracker opened on a live server (one
            # opened on a dead one leaks python-xlib's sockets: not this test's).
            await hub.grab_then(1, lambda f, o: None)
            for _ in range(3):
                assert await hub.cursor(1) is not None
            _kill(pid)
            started = time.monotonic()
            outcome["reads"] = [await hub.cursor(1) for _ in range(3)]
            outcome["took"] = time.monotonic() - started
            with pytest.raises(CaptureError):
                await hub.grab_then(1, lambda f, o: None)
            hub.close()

        _on_a_thread(main())
    assert outcome["reads"] == [None, None, None], outcome
    assert outcome["took"] < 1.0, outcome


def test_a_loop_cursor_answers_as_cursor_does_and_closes_with_its_source() -> None:
    """ScreenSource.loop_cursor: BlockingIOError until asked and answered,
    then the place cursor() gives (the captured area's coordinates, a region
    here); None in a subclass that changed cursor(); closed with the source."""
    from screencodec.capture import ScreenSource
    from screencodec.geometry import Rect

    class Filtered(ScreenSource):
        def cursor(self) -> Any:
            return None

    with private_xvfb(640, 480) as display:
        env = {**os.environ, "DISPLAY": display}
        subprocess.run(["xdotool", "mousemove", "200", "150"], env=env, check=True)
        source = ScreenSource(region=Rect(100, 100, 300, 200), display=display)
        filtered = Filtered(1, display=display)
        try:
            assert filtered.loop_cursor() is None
            pointer = source.loop_cursor()
            assert pointer is not None
            with pytest.raises(BlockingIOError):
                pointer.answer()  # nothing asked
            pointer.ask()
            deadline = time.monotonic() + 10
            while True:
                try:
                    state = pointer.answer()
                    break
                except BlockingIOError:
                    assert time.monotonic() < deadline, "no answer"
                    time.sleep(0.001)
            expected = source.cursor()
            assert expected is not None
            assert (state.x, state.y, state.visible) == (expected.x, expected.y, True) == (
                100, 50, True)
            assert state.shape is not None and state.shape.shape[2] == 4
        finally:
            source.close()
            filtered.close()
        assert pointer.fileno() == -1  # its socket closed with the source
