"""A source the capture hub opens only to read the monitor list (termrec):
``CaptureHub.monitors`` of a monitor nobody watches opened its source and
kept it, unwatched, until the hub closed (closing30: a resumed link reads
the list before it watches its monitor). Now the list is read from a source
open already, if there is one; else the one opened for it is closed again
at once, and the count of open sources returns to what it was. The real
hub with a per-monitor factory of synthetic sources reporting three
monitors."""

from __future__ import annotations

import time

from screencodec.transport.session.screens import CaptureHub
from transport.helpers import MONITORS, OnMonitor


def test_a_source_opened_only_for_the_monitor_list_is_closed_again() -> None:
    opened: list[OnMonitor] = []

    def factory(index: int) -> OnMonitor:
        opened.append(OnMonitor(index))
        return opened[-1]

    def open_now() -> int:
        return sum(not s.closed for s in opened)

    def soon(count: int) -> int:
        """open_now() once it is ``count``, or after 10 s: acquire and
        release wait LOOP_WAIT (0.5 s) for the hub's worker, then leave the
        open or close to it (fresh141, a loaded machine: 0 open just after
        acquire(2))."""
        deadline = time.monotonic() + 10
        while (now := open_now()) != count and time.monotonic() < deadline:
            time.sleep(0.01)
        return now

    for watched in (False, True):
        opened.clear()
        hub = CaptureHub(factory)
        try:
            if watched:
                hub.acquire(1)  # a viewer watching monitor 1: its source tells
            prior = open_now()
            assert hub.monitors(2) == tuple(MONITORS)  # nobody watches 2
            assert open_now() == prior, [s.closed for s in opened]
            assert len(opened) == 1  # watched: 1's; else 2's, opened for the list alone
            hub.acquire(2)  # watched later: opened, and closed when let go
            assert soon(prior + 1) == prior + 1
            hub.release(2)
            if watched:
                hub.release(1)
            assert soon(0) == 0
        finally:
            hub.close()
