"""The host's goodbye with the host on its own event loop (a thread) and the
viewer's loop busy while the goodbye and the close arrive, then writing
input before it reads them: the race behind 'the connection was lost'
instead of the host's goodbye (it failed on both loops before the orderly
close). 20 of 20 runs.
"""

from __future__ import annotations

import asyncio
import time

from screencodec.transport import CONTROL, VIEW

from .secure_fixtures import both_loops, run
from .test_attack_close_session import RUNS, fidget, join, streaming
from .test_attack_close_session_threads import host_thread


@both_loops
def test_a_busy_viewer_sending_input_hears_host_said_bye_every_time(loop_kind: str) -> None:
    with host_thread() as (h, host, serving, secret, port):

        async def main() -> list[str]:
            reasons = []
            for i in range(RUNS):
                viewer = await join(port, secret, VIEW | CONTROL)
                serve = await h.wait(serving.get())
                running = asyncio.ensure_future(viewer.run())
                await streaming(viewer, 1)
                moved = asyncio.Event()
                typing = asyncio.ensure_future(fidget(viewer, moved))
                await moved.wait()
                ending = h.submit(host.disconnect(reason=f"home time {i}"))
                time.sleep(0.03)  # busy: the goodbye and the close arrive unread
                await asyncio.sleep(0)  # the input is written before the goodbye is read
                reasons.append(await asyncio.wait_for(running, 5))
                await asyncio.wait_for(asyncio.wrap_future(ending), 5)
                await h.wait(serve)
                await asyncio.wait_for(typing, 5)
            return reasons

        expected = [f"host said bye: home time {i}" for i in range(RUNS)]
        assert run(main(), loop_kind=loop_kind, timeout=60) == expected
