"""review2: a Host made with a factory (not through the CLI) reads its
screens' layout off the event loop (faa8c7d, a638b63 left it open).

``CaptureHub.monitors`` opened the first source on the loop (link.py, at
the first viewer's join): an X server that stopped answering (SIGSTOP)
held the host's loop in mss's connect, its other viewers, chat and Ctrl-C
with it, for as long as it stayed stopped. The CLI hands the hub a source
it opened at its start; an application using ``Host(factory)`` has none.
A real Xvfb, a real Host and Viewer over an in-memory channel pair."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

from screencodec.capture import ScreenSource
from screencodec.transport import Host, allow
from screencodec.transport.channel.memory import channel_pair
from screencodec.transport.session.link import SCREEN_GONE
from screencodec.transport.session.permissions import VIEW
from screencodec.transport.session.viewer import Viewer
from transport.test_xtest_dead_server import _doomed_xvfb


def test_a_factory_host_whose_server_stopped_keeps_its_loop_at_the_first_join() -> None:
    """The server stops before the first viewer joins a ``Host(factory)``.
    Found: the join opened the source on the loop, which stopped with the
    server (the loop thread still held at 30 s). Expected: the loop goes on
    (a ticker keeps ticking while the join waits for X), the session ends
    after the hub's ``answer_within`` with the screen-gone reason, the
    viewer does not join, ``asyncio.run`` ends; once the server goes on,
    the source opened late is closed."""
    with _doomed_xvfb() as (display, pid):
        sources: list[ScreenSource] = []

        def factory(index: int) -> ScreenSource:
            sources.append(ScreenSource(index, display=display))
            return sources[-1]

        outcome: dict[str, Any] = {"ticks": 0}

        async def main() -> None:
            host = Host(factory, consent=allow())
            host._runtime.hub.answer_within = 0.5  # not 15 s
            os.kill(pid, signal.SIGSTOP)
            hc, vc = channel_pair()
            serve = asyncio.ensure_future(host.serve(hc))
            viewer = Viewer(vc, who="agent")
            start = asyncio.ensure_future(viewer.start(VIEW))

            async def tick() -> None:
                while not serve.done():
                    outcome["ticks"] += 1
                    await asyncio.sleep(0.01)

            ticker = asyncio.ensure_future(tick())
            outcome["reason"] = await serve
            await asyncio.gather(start, ticker, return_exceptions=True)
            outcome["joined"] = start.done() and not start.cancelled() and (
                start.exception() is None)  # fmt: skip
            await host.close()

        loop_thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        try:
            loop_thread.start()
            loop_thread.join(30)
            assert not loop_thread.is_alive(), "the first join held the event loop"
        finally:
            os.kill(pid, signal.SIGCONT)
        assert outcome["reason"] == (f"{SCREEN_GONE} (the screen did not answer within"
                                     " 0.5 s)"), outcome  # fmt: skip
        assert outcome["ticks"] > 1 and not outcome["joined"], outcome
        deadline = time.monotonic() + 20
        while not (sources and all(s._closed for s in sources)):
            assert time.monotonic() < deadline, "the late source was not closed"
            time.sleep(0.01)
