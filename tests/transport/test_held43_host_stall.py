"""A host whose own loop stalls is not an agent gone silent (held43).

The host lets go of a warm agent's held keys after ``HELD_SILENCE`` seconds
with no byte from it (tests/transport/test_type43_held_keys.py: real Xvfb and
XTest). When the host's *own* loop does not run for that long (a starved
CPU), the agent's bytes wait unread in the socket, and the watcher may wake
before the reader: that silence is the host's. Expected: nothing is let go
of on waking; the agent's silence is counted from when the host ran again.
The link here is a stand-in with the four things the watcher reads (the
rule is a timing rule; the real path is the type43 test's)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from screencodec.transport.session.held_silence import HELD_SILENCE, let_go_when_silent
from screencodec.transport.session.permissions import CONTROL, VIEW

from .helpers import run


def test_a_stalled_host_does_not_let_go_of_a_chord_on_waking() -> None:
    async def main() -> tuple[list[float], list[float]]:
        loop = asyncio.get_running_loop()
        released: list[float] = []
        holding = {("key", 37)}  # a key the agent holds down

        def release_input_of(_link: object) -> tuple[int, int]:  # as the host's
            released.append(loop.time())
            holding.clear()
            return 1, 0

        async def send(_msg: object) -> None:
            pass

        channel = SimpleNamespace(keeps_warm=True, closed=False, waiting_since=loop.time())
        link = SimpleNamespace(
            channel=channel,
            gate=SimpleNamespace(holding=holding, released_silent=0),
            level=VIEW | CONTROL,
            host=SimpleNamespace(release_input_of=release_input_of, emit=lambda _ev: None),
            peer="agent",
            spawn=asyncio.ensure_future,
            send=send,
        )
        watcher = asyncio.ensure_future(let_go_when_silent(link))  # type: ignore[arg-type]
        try:
            await asyncio.sleep(0.6)
            time.sleep(HELD_SILENCE + 0.5)  # the host's loop does not run
            for _ in range(5):  # the watcher's timer was due first: let it run
                await asyncio.sleep(0)
            on_waking = list(released)
            channel.waiting_since = loop.time()  # the reader reads the waiting bytes
            woke = loop.time()
            while not released and loop.time() < woke + HELD_SILENCE + 3:
                await asyncio.sleep(0.1)  # the agent now really silent
            return on_waking, [t - woke for t in released]
        finally:
            watcher.cancel()

    on_waking, later = run(main(), timeout=30)
    assert on_waking == [], on_waking
    assert later and HELD_SILENCE - 0.1 <= later[0] <= HELD_SILENCE + 1.5, later
