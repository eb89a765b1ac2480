"""review3: CaptureHub calls after the hub closed (termrec's d6a6ac0 lets a
source opened for the monitor list go at once, on a worker). Host.close
closes the hub once its links ended or 5 s passed, so a link still joining
(a resume waiting on the old link's end) may read the list or watch its
monitor after. The hub's worker pool had ended its threads but kept their
idle permits: a call handed to it then ran nowhere, so the source opened
for the list was never closed (an X connection: two fds, for good) and the
loop waited LOOP_WAIT (0.5 s) for that close each time. A real Xvfb, real
ScreenSources; the process's open fds counted."""

from __future__ import annotations

import os
import time

from screencodec.capture import ScreenSource
from screencodec.transport.session.screens import CaptureHub


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_closed_hub_closes_what_it_opens_for_the_monitor_list(xvfb_display: str) -> None:
    def factory(index: int) -> ScreenSource:
        return ScreenSource(index, display=xvfb_display)

    prior = _fds()
    for _ in range(3):
        hub = CaptureHub(factory)
        hub.acquire(1)  # a viewer watched: the pool has a thread, idle once it opened
        hub.release(1)
        hub.close()
        assert len(hub.monitors(1)) == 2  # read after the close: a source opened for it
    deadline = time.monotonic() + 5
    while _fds() > prior and time.monotonic() < deadline:  # closed on a worker
        time.sleep(0.02)
    assert _fds() == prior  # the old pool: 6 more, never closed
