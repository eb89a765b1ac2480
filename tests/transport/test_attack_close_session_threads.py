"""The viewer's goodbye of test_attack_close_session with the host on its own
event loop (a thread), both loops busy around the goodbye: the race of a
real host and viewer, each in its own process, where the busy host writes
before it reads what the viewer said last. 20 of 20 runs. (On the code
before the orderly close, 4 of 8 such tests lost the Bye to a reset.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from loop_thread import LoopThread

from .secure_fixtures import both_loops, run
from .test_attack_close_session import RUNS, hosting, join, streaming

T = TypeVar("T")


class HostLoop(LoopThread):
    """An asyncio loop in a thread, holding the host; ``block`` makes it busy."""

    async def wait(self, awaitable: Awaitable[T], timeout: float = 10) -> T:
        """Await ``awaitable`` (of the host's loop) from another loop."""

        async def there() -> T:
            return await awaitable

        return await asyncio.wait_for(asyncio.wrap_future(self.submit(there())), timeout)

    def block(self, seconds: float) -> None:
        self.loop.call_soon_threadsafe(time.sleep, seconds)


@contextmanager
def host_thread() -> Iterator[tuple[HostLoop, Any, asyncio.Queue[asyncio.Task[str]], str, int]]:
    with HostLoop() as h:
        context = hosting()
        host, serving, secret, port = h.call(context.__aenter__())
        try:
            yield h, host, serving, secret, port
        finally:
            h.call(context.__aexit__(None, None, None))


@both_loops
def test_a_busy_host_hears_viewer_said_bye_every_time(loop_kind: str) -> None:
    with host_thread() as (h, _, serving, secret, port):

        async def main() -> list[str]:
            reasons = []
            for _ in range(RUNS):
                viewer = await join(port, secret)
                serve = await h.wait(serving.get())
                running = asyncio.ensure_future(viewer.run())
                await streaming(viewer, 1)
                time.sleep(0.03)  # the viewer is busy: updates pile up unread
                h.block(0.05)  # then the host is, as the goodbye comes
                await asyncio.wait_for(viewer.bye("off now"), 5)
                reasons.append(await h.wait(serve))
                await asyncio.wait_for(running, 5)
            return reasons

        assert run(main(), loop_kind=loop_kind, timeout=60) == ["viewer said bye: off now"] * RUNS


@both_loops
def test_a_host_stalled_longer_than_the_quiet_spell_still_hears_bye(loop_kind: str) -> None:
    """The host streams, then stalls for 0.6 s (a loaded machine) as the
    goodbye comes: longer than the close's quiet spell (0.25 s). The viewer
    must wait for the host's own close, not take the stall for the end:
    closing then would reset the host's next write and lose the Bye (what a
    fresh clone at load 9 hit once in 20 runs of the test above)."""
    with host_thread() as (h, _, serving, secret, port):

        async def main() -> list[str]:
            reasons = []
            for _ in range(3):
                viewer = await join(port, secret)
                serve = await h.wait(serving.get())
                running = asyncio.ensure_future(viewer.run())
                await streaming(viewer, 1)
                h.block(0.6)
                await asyncio.wait_for(viewer.bye("off now"), 5)
                reasons.append(await h.wait(serve))
                await asyncio.wait_for(running, 5)
            return reasons

        assert run(main(), loop_kind=loop_kind, timeout=60) == ["viewer said bye: off now"] * 3
